"""The Action's other modes: a drift run, releases gated against the last release, the artifact
store, and the trend chart over stored baselines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.action_world import StepResult, World, git, open_world


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with open_world(tmp_path) as w:
        yield w


def on_main(w: World, event_name: str = "push", **inputs: str) -> StepResult:
    sha = git(w.work, "rev-parse", "HEAD")
    event = w.push_event("push/with-new-branch.payload.json", "refs/heads/master", sha)
    if event_name == "schedule":
        event = {"schedule": "0 6 * * *", "repository": event["repository"]}
    return w.step(w.env(event_name, event, sha, "refs/heads/master", **inputs))


def merge_to_main(w: World, label: str, change: str) -> str:
    git(w.work, "checkout", "--quiet", w.default_branch)
    (w.work / f"{label}.md").write_text(change)
    sha = w.commit(label, change)
    git(w.work, "push", "--quiet", "origin", w.default_branch)
    return sha


def test_a_scheduled_run_on_main_is_a_fresh_drift_check(world: World) -> None:
    w = world
    assert on_main(w).code == 0
    result = on_main(w, "schedule")
    assert result.code == 0, result.log
    assert "detect provider drift" in result.log
    assert result.outputs["verdict"] == "pass"  # the same bot, the same answers
    assert "Compared with the baseline of" in result.summary
    data = json.loads((w.work / result.outputs["results-path"]).read_text("utf-8"))
    assert data["run"]["totals"]["cached"] == 0 and data["run"]["totals"]["reused"] == 0
    assert w.gh.requests == [] or all(r.method == "GET" for r in w.gh.requests)


def test_baselines_accumulate_into_a_trend_chart_and_are_pruned(world: World) -> None:
    w = world
    assert on_main(w).code == 0
    for n in range(3):
        merge_to_main(w, f"m{n}", f"change {n}\n")
        result = on_main(w, keep_baselines="2")
        assert result.code == 0, result.log
    assert "```mermaid" in result.summary and "xychart-beta" in result.summary
    files = git(w.origin, "ls-tree", "-r", "--name-only", "ci-gate-baselines").splitlines()
    stored = [f for f in files if f.endswith(".json") and not f.endswith("index.json")]
    assert len(stored) == 2  # keep-baselines: the newest two
    assert f"support-bot/{w.shas['m2']}.json" in stored


def test_a_release_is_gated_against_the_previous_release(world: World) -> None:
    w = world
    assert on_main(w).code == 0
    first = w.shas["main"]
    event = w.push_event("push/payload.json", "refs/tags/v1.0.0", first)
    result = w.step(w.env("push", event, first, "refs/tags/v1.0.0"))
    assert result.code == 0, result.log
    assert "no earlier release has a baseline yet" in result.summary

    # The next release makes the bot terse: gated against v1.0.0, it fails and is not stored.
    w.degrade()
    second = merge_to_main(w, "terse", "terse answers\n")
    event = w.push_event("push/payload.json", "refs/tags/v1.1.0", second)
    release_event = json.loads(json.dumps(event))
    result = w.step(
        w.env("push", release_event, second, "refs/tags/v1.1.0", fail_on="fail,error,inconclusive")
    )
    assert result.code == 1, result.log
    assert result.outputs["verdict"] == "fail"
    assert "release v1.0.0" in result.summary
    index = json.loads(git(w.origin, "show", "ci-gate-baselines:support-bot/index.json"))
    assert [e["tag"] for e in index["entries"] if e["tag"]] == ["v1.0.0"]


def test_the_artifact_store_writes_the_file_to_upload_and_reads_baselines_via_the_api(
    world: World,
) -> None:
    w = world
    main = w.shas["main"]
    result = on_main(w, baseline_store="artifact")
    assert result.code == 0, result.log
    written = w.work / "ci-gate-out" / "baselines" / "support-bot" / f"{main}.json"
    assert written.is_file()
    name = f"ci-gate-baseline-support-bot-{main}"
    assert any(name in line for line in result.log.splitlines() if line.startswith("::notice"))

    # The workflow uploads it (actions/upload-artifact); a pull request then finds it.
    w.gh.add_artifact(w.owner, w.name, name, {f"{main}.json": written.read_bytes()}, main)
    w.branch("feature", main)
    w.degrade()
    head = w.commit("pr", "terse")
    event = w.pull_event("pull_request/opened.payload.json", 2, head, main)
    w.gh.seed_from_event(event)
    w.checkout(head)
    result = w.step(
        w.env("pull_request", event, head, "refs/pull/2/merge", baseline_store="artifact")
    )
    assert result.code == 1, result.log
    assert result.outputs["verdict"] == "fail"
    assert len(w.gh.comments(w.owner, w.name, 2)) == 1
