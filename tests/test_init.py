"""`ci-gate init` driven by flags: what it writes, that the suite validates and runs, the workflow
files against SchemaStore's schema, refusing to overwrite, and one-line errors for bad flags."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from ci_gate.cli import main
from ci_gate.commands.init import InitValidationError
from ci_gate.errors import Problem, SuiteError
from ci_gate.init.yaml_text import flow, quoted, scalar
from ci_gate.suite.load import load_suite
from ci_gate.suite.yaml_source import parse_yaml
from tests.fakes.model_server import ModelServer
from tests.test_action_metadata import errors, load_yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_SCHEMA = ROOT / "tests" / "data" / "schemas" / "github-workflow.json"
SUITE = "evals/suite.yaml"
PR = ".github/workflows/ci-gate-pr.yml"
BASELINE = ".github/workflows/ci-gate-baseline.yml"
FAKE = [
    "--target",
    "fake",
    "--example",
    "How long do I have to return an item? => 30 days",
    "--example",
    "Do you ship to Canada?",
    "--example",
    "Where is my order?",
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty git repository, as a newcomer has it."""
    path = tmp_path / "support-bot"
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def init(repo: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["init", str(repo), "--yes", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def files(repo: Path) -> set[str]:
    return {
        p.relative_to(repo).as_posix()
        for p in repo.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(repo).parts[:1]
    }


def cli(
    repo: Path, *argv: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ci_gate", *argv],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def results(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# --- a working suite ------------------------------------------------------------------------


def test_fake_target_writes_a_suite_that_validates_and_runs_offline(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = init(
        repo,
        [
            *FAKE,
            "--goal",
            "Answer customers from the help center.",
            "--behaviour",
            "cites-the-article: Every answer names the help-center article it used.",
            "--failure-mode",
            "invents-refund-policy (high): States a refund rule that is not in the help center.",
            "--link",
            "1: cites-the-article, invents-refund-policy",
            "--link",
            "3: cites-the-article",
        ],
        capsys,
    )
    assert code == 0, err
    assert files(repo) == {SUITE, ".ci-gate/suite.schema.json", PR, BASELINE, ".gitignore"}
    assert f"wrote {repo / SUITE}\n" in out  # outside the current directory: shown in full
    assert "ok: " in out and "3 cases" in out and "fingerprint: sha256:" in out
    assert (
        "ci-gate run evals/suite.yaml" in out and "git add evals .ci-gate .github .gitignore" in out
    )

    text = (repo / SUITE).read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../.ci-gate/suite.schema.json\n")
    schema = cli(repo, "schema").stdout
    assert (repo / ".ci-gate/suite.schema.json").read_text(encoding="utf-8") == schema
    suite = load_suite(repo / SUITE)
    assert suite.name == "support-bot" and suite.target().provider == "fake"
    assert suite.spec is not None and suite.spec.goal == "Answer customers from the help center."
    assert [b.name for b in suite.spec.behaviours] == ["cites-the-article"]
    assert [(f.name, f.severity) for f in suite.spec.failure_modes] == [
        ("invents-refund-policy", "high")
    ]
    by_id = {c.id: c for c in suite.cases}
    assert list(by_id) == [
        "how-long-do-i-have-to-return-an-item",
        "do-you-ship-to-canada",
        "where-is-my-order",
    ]
    assert by_id["how-long-do-i-have-to-return-an-item"].links() == (
        ("cites-the-article",),
        ("invents-refund-policy",),
    )
    assert by_id["where-is-my-order"].links() == (("cites-the-article",), ())
    assert by_id["do-you-ship-to-canada"].links() == ((), ())
    assert (repo / ".gitignore").read_text(encoding="utf-8") == (
        "# ci-gate's response cache\n.ci-gate/cache/\n"
    )
    # Files of the repository, readable like its others (the atomic write's temp file is 0600).
    assert stat.S_IMODE((repo / SUITE).stat().st_mode) == 0o666 & ~_umask()

    proc = cli(repo, "run", SUITE, "-o", "results.json", "-q")
    assert proc.returncode == 0, proc.stderr
    records = results(repo / "results.json")["records"]
    assert [r["pass"] for r in records] == [True, True, True]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_openai_target_runs_against_an_openai_compatible_server(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ModelServer(answers={"return an item": "You have 30 days to return it."}) as server:
        code, out, err = init(
            repo,
            [
                "--target",
                "openai",
                "--model",
                "gpt-4o-mini",
                "--base-url",
                f"{server.url}/v1",
                "--api-key-env",
                "SUPPORT_LLM_KEY",
                "--system",
                "You are Acme's support assistant.",
                "--example",
                "How long do I have to return an item? => 30 days",
                "--example",
                "Do you ship to Canada?",
            ],
            capsys,
        )
        assert code == 0, err
        assert "export SUPPORT_LLM_KEY=..." in out
        assert "add the repository secret SUPPORT_LLM_KEY" in out
        proc = cli(
            repo, "run", SUITE, "-o", "results.json", env={"SUPPORT_LLM_KEY": "sk-test-123456"}
        )
        assert proc.returncode == 0, proc.stderr
        assert len(server.requests) == 2
        request = server.requests[0]
    assert request.body["model"] == "gpt-4o-mini" and request.body["temperature"] == 0
    assert request.body["messages"][0] == {
        "role": "system",
        "content": "You are Acme's support assistant.",
    }
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["authorization"] == "Bearer sk-test-123456"
    assert [r["pass"] for r in results(repo / "results.json")["records"]] == [True, True]
    # The key goes to the server's host and port only, from the secret of the same name.
    port = server.url.rsplit(":", 1)[1]
    for path in (PR, BASELINE):
        step = _gate_step(load_yaml(repo / path))
        assert step["with"]["allowed-hosts"] == f"127.0.0.1:{port}"
        assert step["env"] == {"SUPPORT_LLM_KEY": "${{ secrets.SUPPORT_LLM_KEY }}"}


def test_command_and_python_targets_run_from_the_repository_root(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "bot_cli.py").write_text(
        "import json, sys\n"
        "request = json.load(sys.stdin)\n"
        "print('We ship in 3 days: ' + request['vars']['input'])\n",
        encoding="utf-8",
    )
    app = repo / "src" / "init_scaffold_app"
    app.mkdir(parents=True)
    (app / "__init__.py").write_text("", encoding="utf-8")
    (app / "bot.py").write_text(
        "def answer(request):\n    return 'We ship in 3 days: ' + request['vars']['input']\n",
        encoding="utf-8",
    )
    examples = ["--example", "When will it ship? => 3 days", "--example", "Hello"]
    command = [sys.executable, "bot_cli.py"]
    code, _, err = init(
        repo,
        ["--target", "command", "--command", " ".join(command), *examples, "--no-workflows"],
        capsys,
    )
    assert code == 0, err
    proc = cli(repo, "run", SUITE, "-o", "command.json")
    assert proc.returncode == 0, proc.stderr
    assert [r["pass"] for r in results(repo / "command.json")["records"]] == [True, True]

    code, out, err = init(
        repo,
        [
            "--target",
            "python",
            "--function",
            "init_scaffold_app.bot:answer",
            "--path",
            "src",
            *examples,
            "--suite",
            "tests/evals/python.yaml",
            "--no-workflows",
        ],
        capsys,
    )
    assert code == 0, err
    assert "does not exist" not in out
    assert 'path: "../../src"' in (repo / "tests/evals/python.yaml").read_text(encoding="utf-8")
    proc = cli(repo, "run", "tests/evals/python.yaml", "-o", "python.json")
    assert proc.returncode == 0, proc.stderr
    assert [r["pass"] for r in results(repo / "python.json")["records"]] == [True, True]
    assert not (repo / ".github").exists()


def test_http_and_anthropic_targets_validate(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = init(
        repo,
        [
            "--target",
            "http",
            "--url",
            "http://127.0.0.1:8080/answer",
            "--body",
            '{"question": "{{ vars.input }}", "history": "{{ messages }}", "n": 1}',
            "--output-path",
            "answer.text",
            "--example",
            "Hi",
        ],
        capsys,
    )
    assert code == 0, err
    target = load_suite(repo / SUITE).target()
    assert target.provider == "http"
    assert target.options["body"] == {
        "question": "{{ vars.input }}",
        "history": "{{ messages }}",
        "n": 1,
    }
    # No key is sent by an http target init writes: nothing to allow, no secret.
    assert "allowed-hosts" not in (repo / PR).read_text(encoding="utf-8")

    code, out, err = init(
        repo,
        [
            "--target",
            "anthropic",
            "--model",
            "claude-3-5-haiku-latest",
            "--example",
            "Hi",
            "--force",
        ],
        capsys,
    )
    assert code == 0, err
    assert "overwrote" in out
    step = _gate_step(load_yaml(repo / PR))
    assert step["with"]["allowed-hosts"] == "api.anthropic.com"
    assert step["env"] == {"ANTHROPIC_API_KEY": "${{ secrets.ANTHROPIC_API_KEY }}"}


# --- the workflows --------------------------------------------------------------------------


def _gate_step(workflow: dict[str, Any]) -> dict[str, Any]:
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    assert steps[0]["uses"] == "actions/checkout@v4" and steps[0]["with"]["fetch-depth"] == 0
    assert steps[1]["uses"] == "ci-gate/ci-gate@v0"
    step = steps[1]
    assert isinstance(step, dict)
    return step


@pytest.mark.parametrize(
    "target",
    [
        ["--target", "fake"],
        ["--target", "openai", "--model", "gpt-4o-mini"],
        ["--target", "openai", "--model", "m", "--base-url", "https://gw.example.com:8443/v1"],
    ],
)
def test_workflows_are_valid_and_gate_prs_and_refresh_baselines(
    repo: Path, capsys: pytest.CaptureFixture[str], target: list[str]
) -> None:
    code, _, err = init(
        repo, [*target, "--example", "Hi", "--branch", "trunk", "--suite", "e/s.yml"], capsys
    )
    assert code == 0, err
    pr, baseline = load_yaml(repo / PR), load_yaml(repo / BASELINE)
    assert errors(WORKFLOW_SCHEMA, pr) == []
    assert errors(WORKFLOW_SCHEMA, baseline) == []
    assert "pull_request" in pr["on"]
    assert pr["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert _gate_step(pr)["with"]["mode"] == "pr" and _gate_step(pr)["with"]["suite"] == "e/s.yml"
    assert baseline["on"] == {"push": {"branches": ["trunk"]}}
    assert baseline["permissions"] == {"contents": "write"}
    assert _gate_step(baseline)["with"]["mode"] == "refresh"
    upload = pr["jobs"]["eval"]["steps"][-1]
    assert (
        upload["uses"] == "actions/upload-artifact@v4" and upload["with"]["path"] == "ci-gate-out"
    )
    if "--base-url" in target:
        assert _gate_step(pr)["with"]["allowed-hosts"] == "gw.example.com:8443"


def test_the_schema_catches_a_broken_workflow() -> None:
    """The check above is worth something: a workflow without jobs fails it."""
    assert errors(WORKFLOW_SCHEMA, {"on": {"pull_request": None}, "name": "x"})


# --- never overwrite ------------------------------------------------------------------------


def test_an_existing_file_is_refused_and_nothing_is_written(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "evals").mkdir()
    (repo / SUITE).write_text("mine\n", encoding="utf-8")
    code, out, err = init(repo, FAKE, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "evals/suite.yaml already exists" in err and "--force" in err
    assert "nothing was written" in err
    assert files(repo) == {SUITE}
    assert (repo / SUITE).read_text(encoding="utf-8") == "mine\n"


def test_a_rerun_changes_nothing_and_force_overwrites(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / ".gitignore").write_text("node_modules/", encoding="utf-8")
    (repo / ".gitignore").chmod(0o640)
    assert init(repo, FAKE, capsys)[0] == 0
    gitignore = (repo / ".gitignore").read_text(encoding="utf-8")
    assert gitignore == "node_modules/\n# ci-gate's response cache\n.ci-gate/cache/\n"
    assert stat.S_IMODE((repo / ".gitignore").stat().st_mode) == 0o640

    code, out, _ = init(repo, FAKE, capsys)  # the same answers: the same files
    assert code == 0
    assert out.count("unchanged") == 4 and "kept" in out
    assert (repo / ".gitignore").read_text(encoding="utf-8") == gitignore

    other = [*FAKE, "--example", "A fourth question"]
    code, _, err = init(repo, other, capsys)
    assert code == 2 and "evals/suite.yaml already exists" in err
    assert "fourth" not in (repo / SUITE).read_text(encoding="utf-8")
    code, out, err = init(repo, [*other, "--force"], capsys)
    assert code == 0, err
    assert "overwrote" in out and "fourth" in (repo / SUITE).read_text(encoding="utf-8")


def test_a_folder_in_the_way_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / SUITE).mkdir(parents=True)
    code, _, err = init(repo, [*FAKE, "--force"], capsys)
    assert code == 2 and "is a folder" in err
    (repo / "e").write_text("", encoding="utf-8")
    code, _, err = init(repo, [*FAKE, "--suite", "e/suite.yaml"], capsys)
    assert code == 2 and "e is a file" in err
    assert files(repo) == {"e"}


# --- bad flags ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "missing --target KIND"),
        (["--target", "fake"], "missing --example TEXT"),
        (["--target", "robot", "--example", "x"], "'robot' is not a target kind"),
        (["--target", "openai", "--example", "x"], "--target openai needs --model"),
        (["--target", "http", "--example", "x"], "--target http needs --url"),
        (["--target", "python", "--example", "x"], "--target python needs --function"),
        (["--target", "command", "--example", "x"], "--target command needs --command"),
        (["--target", "fake", "--url", "http://x", "--example", "x"], "--url does not apply"),
        (["--model", "m"], "--model needs --target"),
        (["--target", "http", "--url", "ftp://x"], "not an http:// or https:// URL"),
        (["--target", "http", "--url", "http://x", "--body", "[1]"], "must be a JSON object"),
        (["--target", "http", "--url", "http://x", "--body", "{"], "is not JSON"),
        (["--target", "command", "--command", "'unclosed"], "cannot be split"),
        (["--target", "python", "--function", "app.answer"], "is not module:function"),
        ([*FAKE, "--behaviour", "Cites the article"], "write it as 'name: one sentence"),
        ([*FAKE, "--behaviour", "Cites the article: x"], "try 'cites-the-article'"),
        ([*FAKE, "--failure-mode", "leaks (severe): x"], "'severe' is not a severity"),
        ([*FAKE, "--behaviour", "a: x", "--failure-mode", "a: y"], "'a' is given twice"),
        ([*FAKE, "--behaviour", "polite: x", "--link", "4: polite"], "there is no example 4"),
        ([*FAKE, "--behaviour", "polite: x", "--link", "1: polit"], "did you mean 'polite'?"),
        ([*FAKE, "--link", "one: polite"], "EXAMPLE-NUMBER: name,name"),
        ([*FAKE, "--example", "bell\x07"], "control character U+0007"),
        ([*FAKE, "--example", "evil\u202etxt.exe"], "control character U+202E"),
        ([*FAKE, "--suite", "../outside.yaml"], "inside the repository"),
        ([*FAKE, "--suite", "evals/suite.json"], "ends in .yaml or .yml"),
        ([*FAKE, "--branch", "a b"], "is not a branch name"),
        ([*FAKE, "--name", "my bot"], "try 'my-bot'"),
        (["--from-promptfoo", "p.yaml", "--target", "fake"], "cannot be combined"),
        (["--from-promptfoo", "p.yaml", "--path", "src"], "init: --path cannot be combined"),
        (["--from-promptfoo", "p.yaml", "--command", "x"], "init: --command cannot be combined"),
    ],
)
def test_bad_flags_are_one_line_usage_errors_and_write_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = init(repo, argv, capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("error: init: ") and err.count("\n") == 1, err
    assert message in err
    assert files(repo) == set()


@pytest.mark.parametrize("key", ["sk-proj-AbC123dEf456", "sk_live_" + "Ab9" * 12])
def test_a_key_given_for_its_variable_is_refused_and_never_shown(
    repo: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    code, out, err = init(
        repo, ["--target", "openai", "--model", "m", "--api-key-env", key, *FAKE[2:]], capsys
    )
    assert code == 2 and "give the NAME of the variable" in err
    assert key not in out + err and key[:8] not in out + err
    assert files(repo) == set()


def test_without_a_terminal_the_missing_flag_is_named(repo: Path) -> None:
    proc = cli(repo, "init", "--target", "openai")
    assert proc.returncode == 2
    assert proc.stderr == (
        "error: init: --target openai needs --model (not a terminal, so nothing is asked)\n"
    )
    assert files(repo) == set()


# --- the text itself ------------------------------------------------------------------------


def test_the_commented_guidance_is_valid_once_uncommented(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert init(repo, FAKE, capsys)[0] == 0
    text = (repo / SUITE).read_text(encoding="utf-8")
    spec = text[text.index("spec:") : text.index("targets:")]
    uncommented = re.sub(
        r"(?m)^  # ((?:goal|behaviours|failure_modes|tradeoffs|  ).*)$", r"  \1", spec
    )
    assert uncommented.count("#") < spec.count("#")
    (repo / SUITE).write_text(text.replace(spec, uncommented), encoding="utf-8")
    suite = load_suite(repo / SUITE)
    assert suite.spec is not None
    assert suite.spec.goal and [b.name for b in suite.spec.behaviours] == ["cites-the-article"]
    assert [f.name for f in suite.spec.failure_modes] == ["invents-refund-policy"]
    assert len(suite.spec.tradeoffs) == 1


@pytest.mark.parametrize(
    "text",
    [
        'say "hi"',
        "back\\slash",
        "a: b # not a comment",
        "- a list?",
        "yes",
        "1.0",
        "null",
        "{{ input }}",
        "tab\there",
        "é and 😀 and 中文",
        "next\x85line",
        "line\u2028separator",
        "bom\ufeffinside",
        "!tag",
        "*alias",
        "",
    ],
)
def test_strings_read_back_exactly(text: str) -> None:
    doc = parse_yaml(
        f"q: {quoted(text)}\ns: {scalar(text)}\nf: {flow({'k': [text, 1, None, True]})}\n", "t"
    ).data
    assert doc == {"q": text, "s": text, "f": {"k": [text, 1, None, True]}}


def test_a_written_suite_that_does_not_validate_is_reported_as_a_bug() -> None:
    problem = Problem("evals/suite.yaml", 3, "name", "invalid value", "use letters")
    error = InitValidationError("evals/suite.yaml", SuiteError([problem]))
    assert error.exit_code == 3
    assert error.lines() == [
        "init: evals/suite.yaml was written but does not validate; this is a bug in ci-gate,"
        " please report it with the lines below",
        "evals/suite.yaml:3: name: invalid value (use letters)",
    ]
