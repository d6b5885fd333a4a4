"""API keys and tokens never leave the process except towards the hosts they are meant for.

A distinctive key for the target (``sk-`` shaped), another for its judge (no known shape, under a
variable whose name does not say "key": only its value can hide it) and a GitHub token are in the
environment while a suite runs against the fake model server, which answers, fails with error
bodies that quote the request's headers (keys included), and times out. Every artefact is then
read, byte for byte: stdout, stderr, results and journal files, the response cache (keys and
values), the reports, the job summary, the step's outputs, the PR comment, what GitHub was sent.
None may hold a secret, whole or in part (its first, middle or last characters).

Then the other half of the rule: a pull request's suite cannot send a key to a host outside the
workflow's ``allowed-hosts``, whichever way it names that host.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci_gate.assertions.text import EXCERPT_CHARS as QUOTED_CHARS
from ci_gate.cli import main
from ci_gate.providers.http_errors import error_for_status
from ci_gate.providers.scrubbing import EXCERPT_CHARS
from ci_gate.results.store import read_results
from tests.action_world import StepResult, World, git, open_world
from tests.fakes.model_server import Fault, ModelServer

KEY = "sk-test-SECRET-4f9a2c7e1b3d5f6a8c0e2b4d"
JUDGE_KEY = "gw-SECRET-9e8d7c6b5a4f3e2d1c0b"
TOKEN = "ghs_SECRETgithubToken0b7c1d2e3f4a5b6c7d8e"
SECRETS = (KEY, JUDGE_KEY, TOKEN)
KEY_ENV, JUDGE_ENV = "GATEWAY_API_KEY", "GRADER_CREDENTIAL"
RUBRIC = "RUBRIC-ZQ: answers the question that was asked."
VERDICT = '{"reason": "it answers", "score": 5}'
SUITE = "evals/secrets.yaml"
CASES = 8


def needles() -> dict[str, bytes]:
    """Each secret, its 12 middle characters, and its first and last 10: a quote cut short is a
    leak too."""
    found: dict[str, bytes] = {}
    for secret in SECRETS:
        middle = len(secret) // 2
        name = secret[:6] + "…"
        found[secret] = secret.encode()
        found[f"middle of {name}"] = secret[middle - 6 : middle + 6].encode()
        found[f"start of {name}"] = secret[:10].encode()
        found[f"end of {name}"] = secret[-10:].encode()
    return found


def leaks(blobs: dict[str, bytes]) -> list[str]:
    return [
        f"{what} in {where}"
        for where, blob in blobs.items()
        for what, n in needles().items()
        if n in blob
    ]


def files_under(*roots: Path) -> dict[str, bytes]:
    """Every file under ``roots``, binary ones (SQLite, pickles) included."""
    return {
        str(path): path.read_bytes()
        for root in roots
        if root.exists()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.parts
    }


def suite_text(url: str) -> str:
    cases = "\n".join(
        f"  - id: q{i}\n"
        f"    vars: {{question: 'Question {i}: what is the refund window?'}}\n"
        f"    assert:\n"
        f"      - {{type: contains, value: refund}}\n"
        f"      - {{type: llm-rubric, value: '{RUBRIC}'}}"
        for i in range(CASES)
    )
    return f"""\
ci_gate: 1
name: secrets
concurrency: 1
retry: {{max_attempts: 2, backoff_s: 0.01, max_backoff_s: 0.01}}
targets:
  - id: bot
    provider: openai
    model: gpt-4o-mini
    base_url: {url}/v1
    api_key_env: {KEY_ENV}
    timeout_s: 0.5
  - id: grader
    provider: anthropic
    model: claude-3-5-haiku-latest
    base_url: {url}
    api_key_env: {JUDGE_ENV}
    timeout_s: 0.5
judge: {{target: grader}}
prompts:
  - {{id: ask, template: "{{{{ question }}}}"}}
defaults: {{prompt: ask}}
cases:
{cases}
gate: {{min_cases: 5, bootstrap: {{resamples: 200, seed: 1}}}}
"""


def queue_failures(server: ModelServer) -> None:
    """With one call at a time (target, then its judge), in this order: the target's key echoed
    by a 401 and by two 500s, two timeouts; then the judge's key echoed by a 401 and two 500s,
    and quoted where an excerpt of the message would cut through it."""
    server.fail(401, echo_headers=True)
    server.fail(500, times=2, echo_headers=True)
    server.push(Fault("slow", times=2, delay_ms=5_000))
    server.push(Fault("ok"))
    server.fail(401, echo_headers=True)
    server.push(Fault("ok"))
    server.fail(500, times=2, echo_headers=True)
    server.push(Fault("ok"))
    server.fail(401, body=cut_through_key(EXCERPT_CHARS * 4 - 18))


def cut_through_key(at: int) -> dict[str, object]:
    """An Anthropic error body whose message holds the judge's key at character ``at``, after a
    run of blank lines (which a one-line message squeezes away)."""
    start = "authentication_error: "  # how the message is quoted: "type: message"
    said = "Incorrect API key provided: "
    message = "\n" * max(0, at - len(start) - len(said)) + said + JUDGE_KEY
    return {"type": "error", "error": {"type": "authentication_error", "message": message}}


def echoed_secrets(server: ModelServer) -> None:
    """The server did see (and so could echo) both keys: the test is not vacuous."""
    headers = [{k.lower(): v for k, v in r.headers.items()} for r in server.requests]
    assert any(h.get("authorization") == f"Bearer {KEY}" for h in headers)
    assert any(h.get("x-api-key") == JUDGE_KEY for h in headers)


def test_no_cut_of_an_error_message_leaves_part_of_a_key() -> None:
    """Wherever the key sits in an error body, the message made of it shows none of it."""
    for at in range(0, EXCERPT_CHARS * 6, 3):
        body = json.dumps(cut_through_key(at)).encode()
        message = error_for_status(401, {}, body, secrets=(JUDGE_KEY,)).message
        assert leaks({f"message with the key at {at}": message.encode()}) == []


# --- the command line -----------------------------------------------------------------------------


def test_run_compare_and_reports_never_show_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.setenv(JUDGE_ENV, JUDGE_KEY)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    cache = tmp_path / "ci-gate-cache"
    with ModelServer(answers={"RUBRIC-ZQ": VERDICT}) as server:
        suite = tmp_path / "suite.yaml"
        suite.write_text(suite_text(server.url), "utf-8")
        assert main(["run", str(suite), "-o", str(tmp_path / "base.json")]) == 0
        queue_failures(server)
        head_code = main(["run", str(suite), "-o", str(tmp_path / "head.json"), "--no-cache"])
        assert server.pending == 0
        # A run stopped by its budget keeps its journal: with errors echoing keys in it.
        server.fail(401, echo_headers=True)
        server.fail(500, times=2, echo_headers=True)
        partial = tmp_path / "partial" / "results.json"
        args = ["run", str(suite), "-o", str(partial), "--no-cache", "--max-calls", "4"]
        assert main(args) == 1
        echoed_secrets(server)
    assert head_code == 0  # complete, errors and all
    reports = [f"--markdown={tmp_path / 'r.md'}", f"--json={tmp_path / 'r.json'}"]
    reports.append(f"--junit={tmp_path / 'r.xml'}")
    base, head = str(tmp_path / "base.json"), str(tmp_path / "head.json")
    assert main(["compare", base, head, *reports]) == 1  # errors over the error budget
    assert main(["compare", base, head, "-q"]) == 1
    out, err = capfd.readouterr()

    # The failures really happened, and say what they were.
    records = read_results(Path(head)).records
    kinds = {r.error.kind for r in records if r.error is not None}
    assert {"client_error", "server_error", "timeout", "judge"} <= kinds, kinds
    messages = " ".join(r.error.message for r in records if r.error is not None)
    assert "HTTP 401" in messages and "HTTP 500" in messages
    journal = [p for p in partial.parent.iterdir() if p.name != "results.json"]
    assert journal and any(p.stat().st_size for p in journal), "the stopped run kept no journal"
    assert any(p.is_file() for p in cache.rglob("*")), "nothing was cached"

    blobs = files_under(tmp_path)
    blobs["stdout"], blobs["stderr"] = out.encode(), err.encode()
    assert str(tmp_path / "r.md") in blobs and str(tmp_path / "r.xml") in blobs
    assert leaks(blobs) == []


# --- the Action -----------------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with open_world(tmp_path) as w:
        w.gh.token(TOKEN)
        yield w


def host_of(server: ModelServer) -> str:
    return server.url.removeprefix("http://").rstrip("/")


def step_env(
    w: World, event_name: str, event: dict[str, object], sha: str, ref: str, **inputs: str
) -> dict[str, str]:
    env = w.env(event_name, event, sha, ref, suite=SUITE, **inputs)
    env.update({"INPUT_GITHUB-TOKEN": TOKEN, KEY_ENV: KEY, JUDGE_ENV: JUDGE_KEY})
    return env


def store_baseline(w: World, server: ModelServer) -> str:
    """The suite on the default branch, pointed at ``server``, and its baseline stored."""
    (w.work / SUITE).write_text(suite_text(server.url), "utf-8")
    main_sha = w.commit("main", "a suite on our model gateway")
    git(w.work, "push", "--quiet", "origin", w.default_branch)
    w.checkout(main_sha)
    push = w.push_event("push/with-new-branch.payload.json", "refs/heads/master", main_sha)
    env = step_env(w, "push", push, main_sha, "refs/heads/master", allowed_hosts=host_of(server))
    refresh = w.step(env)
    assert refresh.code == 0, refresh.log
    return main_sha


def pull_request(w: World, server: ModelServer) -> StepResult:
    """A pull request that changes nothing the model sees, run afresh: every call is made."""
    head, event = w.open_pull(2, "docs")
    env = step_env(
        w,
        "pull_request",
        event,
        head,
        "refs/pull/2/merge",
        allowed_hosts=host_of(server),
        fresh="true",
    )
    return w.step(env)


def visible_log(log: str) -> str:
    """The log as the runner shows it: ``::add-mask::`` lines are the only place a secret may be
    written (the runner hides their values from the rest of the log)."""
    return "\n".join(line for line in log.splitlines() if not line.startswith("::add-mask::"))


def published(w: World, result: StepResult) -> dict[str, bytes]:
    """What the step published: comment, log, summary, outputs, and what GitHub was sent."""
    comments = w.gh.comments(w.owner, w.name, 2)
    assert len(comments) == 1
    return {
        "comment": comments[0].body.encode(),
        "log": visible_log(result.log).encode(),
        "summary": result.summary.encode(),
        "outputs": json.dumps(result.outputs).encode(),
        "sent to GitHub": json.dumps([r.body for r in w.gh.requests], default=str).encode(),
    }


def test_the_action_on_a_pull_request_never_shows_a_key_or_the_token(
    world: World, capfd: pytest.CaptureFixture[str]
) -> None:
    w = world
    with ModelServer(answers={"RUBRIC-ZQ": VERDICT}) as server:
        store_baseline(w, server)
        queue_failures(server)
        result = pull_request(w, server)
        assert server.pending == 0
        echoed_secrets(server)
    out, err = capfd.readouterr()
    assert result.code in (0, 1), result.log
    results = read_results(w.work / result.outputs["results-path"])
    assert sum(r.error is not None for r in results.records) >= 4
    masks = {line.removeprefix("::add-mask::") for line in result.log.splitlines()}
    assert {KEY, TOKEN} <= masks

    blobs = published(w, result)
    assert b"Errors" in blobs["comment"]
    blobs.update(files_under(w.work, w.root / "cache", w.root / f"step-{w.runs}"))
    blobs["stdout and stderr"] = (out + err).encode()
    for name in git(w.origin, "ls-tree", "-r", "--name-only", "ci-gate-baselines").splitlines():
        shown = git(w.origin, "show", f"ci-gate-baselines:{name}")
        blobs[f"baseline branch: {name}"] = shown.encode()
    assert any("baseline branch" in where for where in blobs)
    assert leaks(blobs) == []


def test_a_key_quoted_in_an_answer_is_masked_in_everything_the_action_publishes(
    world: World,
) -> None:
    """A gateway that quotes the request's headers in a successful answer: the output itself is
    the run's data, but no report, comment, summary, annotation or output shows the key."""
    w = world
    with ModelServer(answers={"RUBRIC-ZQ": VERDICT}) as server:
        store_baseline(w, server)
        server.answers["Question 3"] = f"Token {TOKEN}, Authorization: Bearer {KEY}. Sorry."
        # Quoted in a failed assertion's message, cut short 20 characters into the token.
        server.answers["Question 4"] = "Sorry. " * ((QUOTED_CHARS - 21) // 7) + TOKEN
        result = pull_request(w, server)
    assert result.code in (0, 1), result.log
    outputs = [
        r.output or "" for r in read_results(w.work / result.outputs["results-path"]).records
    ]
    assert any(KEY in output for output in outputs)  # the answer did quote it

    blobs = published(w, result)
    assert b"Sorry." in blobs["comment"]  # the answer is shown, the key in it is not
    warnings = [line for line in result.log.splitlines() if line.startswith("::warning ")]
    assert any("Authorization: Bearer ***" in line for line in warnings), warnings
    for name in ("report.md", "report.json", "junit.xml"):
        blobs[name] = (w.work / "ci-gate-out" / "secrets" / name).read_bytes()
    assert leaks(blobs) == []


# --- allowed hosts --------------------------------------------------------------------------------


def _attacks(url: str, evil: str) -> dict[str, list[tuple[str, str]]]:
    """The edits (old text, new text) a pull request makes to the suite, by attack."""
    http = (
        f"targets:\n  - id: svc\n    provider: http\n    url: {evil}/v1/chat/completions\n"
        "    output_path: choices.0.message.content\n"
    )
    svc = ("ci_gate: 1\n", "ci_gate: 1\ndefault_target: svc\n")
    evil_openai = (
        "targets:\n",
        f"targets:\n  - {{id: evil, provider: openai, model: gpt-4o, base_url: {evil}/v1, "
        f"api_key_env: {KEY_ENV}}}\n",
    )
    return {
        "an openai target's base_url": [(f"base_url: {url}/v1", f"base_url: {evil}/v1")],
        "the llm-rubric judge's base_url": [(f"base_url: {url}\n", f"base_url: {evil}\n")],
        "an http target's header": [
            svc,
            ("targets:\n", http + f"    headers: {{X-Key: '{{{{ env.{KEY_ENV} }}}}'}}\n"),
        ],
        "an http target's body": [
            svc,
            (
                "targets:\n",
                http + f"    body: {{q: '{{{{ prompt }}}}', k: '{{{{env.{JUDGE_ENV}}}}}'}}\n",
            ),
        ],
        "an embedder": [
            evil_openai,
            (
                "defaults: {prompt: ask}",
                "defaults: {prompt: ask, assert: [{type: similar, value: refund window, "
                "method: embedding, embedder: evil}]}",
            ),
        ],
        "a pairwise judge": [
            evil_openai,
            (
                "judge: {target: grader}\n",
                "judge: {target: grader}\npairwise: {rubric: Which is better?, judge: evil}\n",
            ),
        ],
    }


def test_a_pull_request_cannot_send_a_key_outside_the_allowed_hosts(world: World) -> None:
    w = world
    with ModelServer(answers={"RUBRIC-ZQ": VERDICT}) as server, ModelServer() as attacker:
        (w.work / SUITE).write_text(suite_text(server.url), "utf-8")
        main_sha = w.commit("main", "a suite on our model gateway")
        git(w.work, "push", "--quiet", "origin", w.default_branch)
        evil = attacker.url.rstrip("/")
        original = (w.work / SUITE).read_text("utf-8")
        checked = []
        for number, (name, edits) in enumerate(_attacks(server.url, evil).items(), 10):
            text = original
            for old, new in edits:
                assert old in text, name
                text = text.replace(old, new, 1)
            w.branch("feature", main_sha)
            (w.work / SUITE).write_text(text, "utf-8")
            head = w.commit(f"pr{number}", name)
            event = w.pull_event("pull_request/opened.payload.json", number, head, main_sha)
            w.gh.seed_from_event(event)
            w.checkout(head)
            env = step_env(
                w,
                "pull_request",
                event,
                head,
                f"refs/pull/{number}/merge",
                allowed_hosts=host_of(server),
            )
            result = w.step(env)
            assert result.code == 2, (name, result.log)
            summary = result.outputs["summary"]
            assert host_of(attacker) in summary and "allowed-hosts" in summary, name
            assert attacker.requests == [], name
            assert server.requests == [], name  # stopped before any call at all
            checked.append(name)
    assert len(checked) == len(_attacks("", ""))


def test_key_variables_are_recognised_by_any_part_of_their_name() -> None:
    from ci_gate.commands.action import secrets_of

    env = {
        "OPENAI_APIKEY": "a" * 20,
        "GRADER_CREDENTIALS": "b" * 20,
        "DB_PASSWD": "c" * 20,
        "INPUT_GITHUB-TOKEN": "d" * 20,
        "INPUT_COMMENT-AUTHOR": "github-actions[bot]",  # an author, not a credential
        "INPUT_KEEP-BASELINES": "100000000",
        "KEYBOARD_LAYOUT": "us-international",
        "SHORT_KEY": "1234567",  # too short to mask without garbling the log
    }
    assert set(secrets_of(None, env)) == {"a" * 20, "b" * 20, "c" * 20, "d" * 20}
