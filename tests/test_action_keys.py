"""The Action with a model API target: keys go only to allowed hosts; identical requests reuse
the baseline's responses (a pull request pays only for what it changed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ci_gate.results.store import read_results
from tests.action_world import World, git, open_world
from tests.fakes.model_server import ModelServer

KEY = "sk-test-0123456789abcdefghijklmnop"
OPENAI_SUITE = "evals/suite-openai.yaml"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[World, ModelServer]]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with ModelServer() as model, open_world(tmp_path) as w:
        suite = w.work / OPENAI_SUITE
        text = suite.read_text("utf-8").replace("https://api.openai.com/v1", f"{model.url}/v1")
        suite.write_text(text, "utf-8")
        w.shas["main"] = w.commit("main", "point the suite at our model gateway")
        git(w.work, "push", "--quiet", "origin", w.default_branch)
        yield w, model


def host_of(model: ModelServer) -> str:
    return model.url.removeprefix("http://").rstrip("/")


def push_env(w: World, **inputs: str) -> dict[str, str]:
    main = w.shas["main"]
    w.checkout(main)
    event = w.push_event("push/with-new-branch.payload.json", "refs/heads/master", main)
    env = w.env("push", event, main, "refs/heads/master", suite=OPENAI_SUITE, **inputs)
    env["OPENAI_API_KEY"] = KEY
    return env


def visible(log: str) -> str:
    return "\n".join(line for line in log.splitlines() if not line.startswith("::add-mask::"))


def test_a_key_is_not_sent_to_a_host_the_workflow_did_not_allow(
    world: tuple[World, ModelServer],
) -> None:
    w, model = world
    result = w.step(push_env(w))
    assert result.code == 2, result.log
    assert result.outputs["verdict"] == "error"
    assert "allowed-hosts" in result.outputs["summary"]
    assert host_of(model) in result.outputs["summary"]
    assert model.requests == []
    assert KEY not in visible(result.log) + result.summary + result.outputs["summary"]


def test_allowed_host_runs_and_a_pr_reuses_identical_requests(
    world: tuple[World, ModelServer],
) -> None:
    w, model = world
    allowed = f"api.openai.com, {host_of(model)}"
    result = w.step(push_env(w, allowed_hosts=allowed))
    assert result.code == 0, result.log
    calls = len(model.requests)
    assert calls == 34 * 3  # 34 cases, 3 samples each
    assert all(r.headers.get("Authorization") == f"Bearer {KEY}" for r in model.requests)

    # A pull request that changes nothing the model sees: every response is reused.
    w.branch("feature", w.shas["main"])
    (w.work / "NOTES.md").write_text("docs\n")
    head = w.commit("pr", "docs")
    event = w.pull_event("pull_request/opened.payload.json", 2, head, w.shas["main"])
    w.gh.seed_from_event(event)
    w.checkout(head)
    env = w.env(
        "pull_request",
        event,
        head,
        "refs/pull/2/merge",
        suite=OPENAI_SUITE,
        allowed_hosts=allowed,
        # A fresh cache: what saves the calls here is the baseline, not the local cache.
    )
    env["OPENAI_API_KEY"] = KEY
    env["CI_GATE_CACHE_DIR"] = str(w.root / "empty-cache")
    result = w.step(env)
    assert result.code == 0, result.log
    assert len(model.requests) == calls
    totals = read_results(w.work / result.outputs["results-path"]).run.totals
    assert totals.reused == calls and totals.calls == 0

    # fresh: true calls them all again.
    env = dict(env, INPUT_FRESH="true")
    env["GITHUB_OUTPUT"] = str(w.root / "fresh-output")
    result = w.step(env)
    assert result.code == 0, result.log
    assert len(model.requests) == 2 * calls


def test_a_pull_request_cannot_redirect_the_key(world: tuple[World, ModelServer]) -> None:
    w, model = world
    allowed = host_of(model)
    w.branch("feature", w.shas["main"])
    suite = w.work / OPENAI_SUITE
    port = host_of(model).rsplit(":", 1)[1]
    # The same server under another name: the allow-list is by host, not by what answers.
    suite.write_text(
        suite.read_text("utf-8").replace(f"{model.url}/v1", f"http://localhost:{port}/v1"),
        "utf-8",
    )
    head = w.commit("evil", "use my own gateway")
    event = w.pull_event("pull_request/opened.payload.json", 2, head, w.shas["main"])
    w.gh.seed_from_event(event)
    w.checkout(head)
    env = w.env(
        "pull_request", event, head, "refs/pull/2/merge", suite=OPENAI_SUITE, allowed_hosts=allowed
    )
    env["OPENAI_API_KEY"] = KEY
    result = w.step(env)
    assert result.code == 2
    assert f"localhost:{port}" in result.outputs["summary"]
    assert model.requests == []
    comment = w.gh.comments(w.owner, w.name, 2)
    assert len(comment) == 1 and "allowed-hosts" in comment[0].body
    assert KEY not in comment[0].body
