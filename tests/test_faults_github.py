"""GitHub failing while ``ci-gate action`` reports: 500s, 502s, secondary rate limits and dropped
connections on every comment call, and on the artifact baseline store's calls. The verdict is
never lost: the job summary, the step outputs and the exit code all still follow it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.action_world import StepResult, World, open_world

REPO_PATH = "/repos/Codertocat/Hello-World"
# Which comment call fails: "METHOD /path" as the fake GitHub matches it.
CALLS = {
    "list": "GET {repo}/issues/{number}/comments",
    "create": "POST {repo}/issues/{number}/comments",
    "update": "PATCH {repo}/issues/comments/",
}
# How it fails, and what the reason given must mention.
KINDS = {
    "500": "GitHub answered 500",
    "502": "GitHub answered 502",
    "secondary": "rate limit",
    "reset": "no answer from the GitHub API",
    "non_json": "answer was not the JSON its API gives",
    "truncated": "answer was not the JSON its API gives",
}
GARBLED = ("non_json", "truncated")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with open_world(tmp_path) as w:
        yield w


def inject(w: World, kind: str, match: str, after: int = 0) -> None:
    if kind == "reset":
        w.gh.reset(match=match, after=after)
    elif kind in GARBLED:
        w.gh.garble(kind, match=match, after=after)
    elif kind == "secondary":
        w.gh.secondary_rate_limit(match=match, after=after)
    else:
        w.gh.fail_next(int(kind), match=match, after=after)


def comment_bodies(w: World, number: int) -> list[str]:
    return [c.body for c in w.gh.comments(w.owner, w.name, number)]


def pr_step(w: World, event: dict[str, Any], head: str, number: int, **inputs: str) -> StepResult:
    return w.step(w.env("pull_request", event, head, f"refs/pull/{number}/merge", **inputs))


def assert_verdict_kept(w: World, result: StepResult, verdict: str, code: int) -> None:
    """The step's outputs, summary and exit code say ``verdict``, whatever GitHub did."""
    assert (result.code, result.outputs["verdict"]) == (code, verdict), result.log
    assert result.outputs["summary"].startswith(f"{verdict}: ")
    report = (w.work / result.outputs["report-path"]).read_text("utf-8")
    assert verdict.capitalize() in report
    assert report in result.summary  # the whole report, not a stub


def assert_comment_failed(result: StepResult, why: str) -> None:
    # A warning, not a notice: the pull request may still show an older run's comment.
    warnings = [
        line
        for line in result.log.splitlines()
        if line.startswith("::warning ") and "no PR comment" in line
    ]
    assert len(warnings) == 1, result.log
    assert "no comment posted: could not" in warnings[0] and why in warnings[0], warnings[0]
    assert "**No pull request comment:**" in result.summary
    assert result.outputs["comment-url"] == ""


def comment_faults_step(
    w: World, event: dict[str, Any], head: str, call: str, kind: str, verdict: str, code: int
) -> StepResult:
    inject(w, kind, CALLS[call].format(repo=REPO_PATH, number=event["number"]))
    result = pr_step(w, event, head, event["number"])
    assert w.gh.pending_faults == 0, f"{call}/{kind}: the call was never made"
    assert_verdict_kept(w, result, verdict, code)
    assert_comment_failed(result, KINDS[kind])
    return result


def test_a_passing_gate_exits_0_whichever_comment_call_fails_and_how(world: World) -> None:
    w = world
    w.refresh()
    head, event = w.open_pull(2, "a harmless change")
    # No comment yet: listing or creating it fails, in each way GitHub fails.
    for call in ("list", "create"):
        for kind in KINDS:
            comment_faults_step(w, event, head, call, kind, "pass", 0)
            assert comment_bodies(w, 2) == []
    # Once GitHub answers, the comment is posted ...
    result = pr_step(w, event, head, 2)
    assert_verdict_kept(w, result, "pass", 0)
    [posted] = comment_bodies(w, 2)
    assert result.outputs["comment-url"]
    # ... and when updating it fails, the old comment stays: never a second one. (A 200 to the
    # update, however garbled its body, is GitHub saying it applied it: nothing to detect.)
    for kind in (k for k in KINDS if k not in GARBLED):
        comment_faults_step(w, event, head, "update", kind, "pass", 0)
        assert comment_bodies(w, 2) == [posted]


def test_a_failing_gate_still_exits_1_when_commenting_fails(world: World) -> None:
    w = world
    w.refresh()
    head, event = w.open_pull(3, "answer in one sentence", degrade=True)
    comment_faults_step(w, event, head, "list", "reset", "fail", 1)
    comment_faults_step(w, event, head, "create", "secondary", "fail", 1)
    assert comment_bodies(w, 3) == []
    assert_verdict_kept(w, pr_step(w, event, head, 3), "fail", 1)
    [posted] = comment_bodies(w, 3)
    comment_faults_step(w, event, head, "update", "502", "fail", 1)
    comment_faults_step(w, event, head, "list", "500", "fail", 1)
    assert comment_bodies(w, 3) == [posted]


def artifacts_listed(w: World) -> list[int]:
    """Statuses of the artifact list calls so far (0: the connection was dropped)."""
    return [r.status for r in w.gh.requests if r.path == f"{REPO_PATH}/actions/artifacts"]


def refresh_step(w: World) -> StepResult:
    sha = w.shas["main"]
    w.checkout(sha)
    ref = f"refs/heads/{w.default_branch}"
    event = w.push_event("push/with-new-branch.payload.json", ref, sha)
    return w.step(w.env("push", event, sha, ref, baseline_store="artifact"))


@pytest.mark.parametrize(
    ("kind", "status", "said"),
    [
        ("500", 500, "HTTP 500 Server Error (GitHub answered with an error; rerun the job)"),
        ("reset", 0, "failed: ReadError (no answer from GitHub; rerun the job)"),
        ("secondary", 403, "HTTP 403 GitHub's rate limit was hit; rerun the job in a few minutes"),
    ],
)
def test_a_refresh_whose_store_lookup_fails_still_stores_its_baseline(
    world: World, kind: str, status: int, said: str
) -> None:
    """Before running, a refresh looks for an earlier baseline, only to reuse its answers; when
    the artifact store cannot list artifacts, the refresh calls every case and still stores its
    baseline, and says why it could not reuse (never exit 2 or 3 for an optional step)."""
    w = world
    inject(w, kind, f"GET {REPO_PATH}/actions/artifacts")
    result = refresh_step(w)
    assert (result.code, result.outputs["verdict"]) == (0, "pass"), result.log
    assert artifacts_listed(w)[0] == status
    assert result.outputs["summary"].startswith("pass: Baseline stored for ")
    notices = [line for line in result.log.splitlines() if line.startswith("::notice ")]
    lookup = [n for n in notices if "Could not look for an earlier baseline" in n]
    assert len(lookup) == 1 and said in lookup[0] and "every case was called" in lookup[0]
    assert "actions: read" not in result.log  # a rate limit is not a missing permission
    assert "Traceback" not in result.log


def test_a_refresh_still_stores_its_baseline_when_the_trend_cannot_be_listed(
    world: World,
) -> None:
    """The trend chart is the last thing a refresh asks the store for; GitHub failing then
    must not undo a stored baseline or change the verdict."""
    w = world
    inject(w, "502", f"GET {REPO_PATH}/actions/artifacts", after=1)
    result = refresh_step(w)
    assert artifacts_listed(w) == [200, 502]  # the lookup, then the trend's listing
    assert_verdict_kept(w, result, "pass", 0)
    main = w.shas["main"]
    stored = w.work / "ci-gate-out" / "baselines" / "support-bot" / f"{main}.json"
    assert stored.is_file()
    assert any(f"ci-gate-baseline-support-bot-{main}" in line for line in result.log.splitlines())


def test_a_failing_pr_keeps_its_verdict_when_the_trend_cannot_be_listed(world: World) -> None:
    w = world
    result = refresh_step(w)
    main = w.shas["main"]
    stored = w.work / "ci-gate-out" / "baselines" / "support-bot" / f"{main}.json"
    name = f"ci-gate-baseline-support-bot-{main}"
    w.gh.add_artifact(w.owner, w.name, name, {f"{main}.json": stored.read_bytes()}, main)
    head, event = w.open_pull(2, "terse", degrade=True)
    listed = len(artifacts_listed(w))
    # The pull request lists artifacts to find the baseline, by name to read it, then for the
    # trend: the last of those fails.
    inject(w, "secondary", f"GET {REPO_PATH}/actions/artifacts", after=3)
    result = pr_step(w, event, head, 2, baseline_store="artifact")
    assert artifacts_listed(w)[listed:] == [200, 200, 403]
    assert_verdict_kept(w, result, "fail", 1)
    assert "Compared with the baseline of" in result.summary
    [body] = comment_bodies(w, 2)
    assert "Fail" in body
