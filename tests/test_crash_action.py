"""kill -9 of `ci-gate action` while it stores a baseline or updates its pull request comment.

The step runs as a real process (``python -m ci_gate action`` with the environment the runner
gives it, see ``tests.action_world``), killed at chosen points: by the audit hook of
``tests.test_crash_safety`` (after ``git push``, at the renames of a baseline file and of its
index, before the comment's create request is sent), from outside once the fake GitHub has
handled a request (``request_handled``: the comment is made or edited, the step has not heard
back), or by a ``pre-receive`` hook of the origin that kills the step's whole process group
while git is pushing. Then the step is run again: one baseline per commit, complete and
readable, which the next pull request finds; one comment, with the new report.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci_gate.publish.sticky import marker
from ci_gate.results.store import read_results
from tests.action_world import StepResult, World, git, open_world
from tests.test_crash_safety import ROOT, killed, spawn

SUITE_KEY = "support-bot"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with open_world(tmp_path) as w:
        yield w


def refresh_env(w: World, **inputs: str) -> dict[str, str]:
    sha = git(w.work, "rev-parse", w.default_branch)
    w.checkout(sha)
    ref = f"refs/heads/{w.default_branch}"
    event = w.push_event("push/with-new-branch.payload.json", ref, sha)
    return {**w.env("push", event, sha, ref, **inputs), "PYTHONPATH": str(ROOT)}


def pull_env(w: World, event: dict[str, object], head: str, number: int) -> dict[str, str]:
    env = w.env("pull_request", event, head, f"refs/pull/{number}/merge")
    return {**env, "PYTHONPATH": str(ROOT)}


def stored(w: World) -> list[str]:
    """The baseline files on the origin's data branch (none before its first push)."""
    if not git(w.origin, "branch", "--list", "ci-gate-baselines"):
        return []
    listing = git(w.origin, "ls-tree", "-r", "--name-only", "ci-gate-baselines")
    return [p for p in listing.splitlines() if not p.endswith("/index.json")]


def index_commits(w: World) -> list[str]:
    index = json.loads(git(w.origin, "show", f"ci-gate-baselines:{SUITE_KEY}/index.json"))
    return [e["commit"] for e in index["entries"]]


def kill_when_handled(w: World, match: str, proc: subprocess.Popen[str]) -> None:
    """SIGKILL ``proc`` once GitHub has handled its next request matching ``match``, before
    the answer leaves the server."""
    seen = sum(match in f"{r.method} {r.path}" for r in w.gh.requests)
    w.gh.request_handled(match, seen + 1, then=lambda: os.killpg(proc.pid, signal.SIGKILL))


def posted(w: World, result: StepResult) -> str:
    """The comment a step makes of its report: the marker line, then the report."""
    report = (w.work / result.outputs["report-path"]).read_text("utf-8")
    return f"{marker(SUITE_KEY)}\n{report}"


def pull_finds_baseline(w: World, number: int) -> None:
    head, event = w.open_pull(number, f"docs {number}")
    result = w.step(w.env("pull_request", event, head, f"refs/pull/{number}/merge"))
    assert result.code == 0, result.log
    assert result.outputs["verdict"] == "pass"
    assert w.shas["main"][:7] in result.summary


def test_a_baseline_push_killed_during_and_after_git_push_stores_it_once(
    world: World,
) -> None:
    w = world
    sha = w.shas["main"]
    env = refresh_env(w)
    # During the push, as the origin is about to take the new tip: the whole job is killed, git
    # included, the way a cancelled runner kills it.
    hook = w.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nkill -9 0\n", "utf-8")
    hook.chmod(0o755)
    proc = spawn(["action"], env)
    proc.communicate(timeout=60)
    assert proc.returncode == -9
    hook.unlink()
    assert stored(w) == []
    # After the push, before the step noted it: the baseline is on the origin already.
    killed(spawn(["action"], env, crash_at="subprocess.Popen|'update-ref', 'refs/ci-gate/|1"))
    assert stored(w) == [f"{SUITE_KEY}/{sha}.json"]
    assert w.step(env).code == 0  # the rerun, in process: the same step, sooner
    assert stored(w) == [f"{SUITE_KEY}/{sha}.json"]
    assert index_commits(w) == [sha]
    data = git(w.origin, "show", f"ci-gate-baselines:{SUITE_KEY}/{sha}.json")
    (w.root / "baseline.json").write_text(data + "\n", "utf-8")
    baseline = read_results(w.root / "baseline.json")
    assert baseline.run.status == "complete" and len(baseline.records) == 34
    pull_finds_baseline(w, 2)


def test_a_file_store_write_killed_midway_leaves_the_old_file_or_the_new(world: World) -> None:
    w = world
    store = w.work / ".baselines" / SUITE_KEY
    w.refresh(baseline_store="file:.baselines")
    old_index = (store / "index.json").read_bytes()
    old = w.shas["main"]
    w.branch(w.default_branch, old)
    (w.work / "NOTES.md").write_text("a second commit on main\n")
    new = w.commit("main", "second")
    git(w.work, "push", "--quiet", "origin", w.default_branch)
    env = refresh_env(w, baseline_store="file:.baselines")
    points = [
        f"os.rename|{new}.json|1",  # written and synced, not yet renamed
        "os.rename|index.json|1",  # the baseline is in place, the index not yet
    ]
    for point in points:
        killed(spawn(["action"], env, crash_at=point))
        assert (store / "index.json").read_bytes() == old_index, point
        assert (store / f"{new}.json").exists() == point.startswith("os.rename|index"), point
        for path in store.glob("*.json"):  # whatever is there is whole
            if path.name != "index.json":
                assert read_results(path).run.status == "complete"
    stray = sorted(p.name for p in store.iterdir() if p.name.startswith("."))
    assert len(stray) == 2 and all(n.endswith(".tmp") for n in stray)  # hidden, never .json
    assert w.step(env).code == 0
    assert sorted(p.name for p in store.glob("*.json")) == sorted(
        [f"{old}.json", f"{new}.json", "index.json"]
    )
    entries = json.loads((store / "index.json").read_text("utf-8"))["entries"]
    assert sorted(e["commit"] for e in entries) == sorted([old, new])
    assert read_results(store / f"{new}.json").run.status == "complete"
    head, event = w.open_pull(3, "docs")
    result = w.step(
        w.env("pull_request", event, head, "refs/pull/3/merge", baseline_store="file:.baselines")
    )
    assert result.code == 0 and result.outputs["verdict"] == "pass", result.log
    assert new[:7] in result.summary


def test_a_comment_update_killed_around_its_calls_leaves_exactly_one_comment(
    world: World,
) -> None:
    w = world
    w.refresh()
    head, opened = w.open_pull(2, "harmless")
    comments = f"/repos/{w.repo}/issues/2/comments"
    env = pull_env(w, opened, head, 2)
    # The comments were listed, none is ours; killed as the create request is about to go.
    killed(spawn(["action"], env, crash_at="http.client.send|b'POST /repos/|1"))
    assert any(r.method == "GET" and r.path == comments for r in w.gh.requests)
    assert w.gh.comments(w.owner, w.name, 2) == []
    # Killed once GitHub has made the comment, before its answer leaves the server.
    proc = spawn(["action"], env)
    kill_when_handled(w, f"POST {comments}", proc)
    killed(proc)
    assert len(w.gh.comments(w.owner, w.name, 2)) == 1
    result = w.step(env)
    assert result.code == 0, result.log
    assert [c.body for c in w.gh.comments(w.owner, w.name, 2)] == [posted(w, result)]
    assert "Pass" in posted(w, result)

    # A push that breaks the bot: the update is killed once GitHub applied it, before the step
    # heard back; the rerun leaves one comment, with the failing report.
    w.branch("feature", head)
    w.degrade()
    second = w.commit("pr2", "terse")
    synced = w.pull_event("pull_request/synchronize.payload.json", 2, second, w.shas["main"])
    w.checkout(second)
    env = pull_env(w, synced, second, 2)
    proc = spawn(["action"], env)
    kill_when_handled(w, f"PATCH /repos/{w.repo}/issues/comments/", proc)
    killed(proc)
    assert "Fail" in w.gh.comments(w.owner, w.name, 2)[0].body  # GitHub applied the edit
    result = w.step(env)
    assert result.code == 1, result.log
    assert [c.body for c in w.gh.comments(w.owner, w.name, 2)] == [posted(w, result)]
    assert "Fail" in posted(w, result)
    assert not any(r.method == "DELETE" for r in w.gh.requests)  # never a duplicate to remove
