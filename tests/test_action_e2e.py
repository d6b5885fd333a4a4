"""``ci-gate action`` end to end: real webhook payloads, a real git origin, the fake GitHub API.

The story of one repository: a push to the default branch stores a baseline; a pull request is
opened (one comment) and pushed to (the same comment, updated); a tag is pushed (a release
gate, no comment); a fork's pull request gets a read-only token (the summary and a notice).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci_gate.publish.sticky import marker
from ci_gate.results.store import read_results
from tests.action_world import SUITE, World, git, open_world
from tests.fakes.github_server import READ_TOKEN


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with open_world(tmp_path) as w:
        yield w


def comments(w: World, number: int) -> list[str]:
    return [c.body for c in w.gh.comments(w.owner, w.name, number)]


def writes(w: World) -> list[str]:
    return [f"{r.method} {r.path}" for r in w.gh.requests if r.method != "GET"]


def test_push_to_the_default_branch_stores_a_baseline_that_the_next_pr_finds(world: World) -> None:
    w = world
    w.refresh()
    listing = git(w.origin, "ls-tree", "-r", "--name-only", "ci-gate-baselines")
    assert f"support-bot/{w.shas['main']}.json" in listing.splitlines()
    assert "support-bot/index.json" in listing.splitlines()
    assert writes(w) == []  # a refresh posts nothing to GitHub

    # A pull request with no change to the bot is compared with that baseline.
    w.branch("feature", w.shas["main"])
    (w.work / "NOTES.md").write_text("docs only\n")
    head = w.commit("docs", "docs only")
    w.checkout(head)
    event = w.pull_event("pull_request/opened.payload.json", 2, head, w.shas["main"])
    w.gh.seed_from_event(event)
    result = w.step(w.env("pull_request", event, head, "refs/pull/2/merge"))
    assert result.code == 0, result.log
    assert result.outputs["verdict"] == "pass"
    assert w.shas["main"][:7] in result.summary and "the merge-base" in result.summary
    results = read_results(w.work / result.outputs["results-path"])
    # The bot is the team's own code, whose answer can change with no change to the request:
    # its responses are never reused (a model API's are; see test_action_keys.py).
    assert results.run.totals.reused == 0 and results.run.totals.cases == 34


def test_opened_then_synchronize_keeps_one_comment_updated_and_the_exit_code_follows(
    world: World,
) -> None:
    w = world
    w.refresh()
    w.branch("feature", w.shas["main"])
    (w.work / "NOTES.md").write_text("a harmless change\n")
    first = w.commit("pr1", "harmless")
    opened = w.pull_event("pull_request/opened.payload.json", 2, first, w.shas["main"])
    w.gh.seed_from_event(opened)
    w.checkout(first)
    result = w.step(w.env("pull_request", opened, first, "refs/pull/2/merge"))
    assert result.code == 0, result.log
    bodies = comments(w, 2)
    assert len(bodies) == 1
    assert bodies[0].split("\n", 1)[0] == marker("support-bot")
    assert "Pass" in bodies[0]
    assert result.outputs["comment-url"].startswith("https://github.com/Codertocat/Hello-World/")

    # synchronize: the same PR now makes the bot terse, which the suite's gate must fail.
    w.branch("feature", first)
    w.degrade()
    second = w.commit("pr2", "answer in one sentence")
    synced = w.pull_event("pull_request/synchronize.payload.json", 2, second, w.shas["main"])
    w.checkout(second)
    result = w.step(w.env("pull_request", synced, second, "refs/pull/2/merge"))
    assert result.code == 1, result.log
    assert result.outputs["verdict"] == "fail"
    bodies = comments(w, 2)
    assert len(bodies) == 1, "a second comment instead of an update"
    assert "Fail" in bodies[0] and bodies[0].startswith(marker("support-bot"))
    assert any(line.startswith("::error ") for line in result.log.splitlines())
    assert "Fail" in result.summary
    # Comment and summary speak the example's spec: the terse bot drops help-center facts.
    for text in (bodies[0], result.summary):
        spec = text.split("### In the spec's words", 1)[1].split("\n### ", 1)[0]
        assert "**behaviour 'answers-from-help-center'**: 6 cases newly fail" in spec
        assert "What changed: the target (model or its parameters)." in spec

    # The same failing run with fail-on none: reported, but the step passes.
    result = w.step(w.env("pull_request", synced, second, "refs/pull/2/merge", fail_on="none"))
    assert (result.code, result.outputs["verdict"]) == (0, "fail")
    assert len(comments(w, 2)) == 1


def test_a_tag_push_gates_the_release_without_commenting(world: World) -> None:
    w = world
    w.refresh()
    main = w.shas["main"]
    before = len(writes(w))
    event = w.push_event("push/payload.json", "refs/tags/simple-tag", main)
    result = w.step(w.env("push", event, main, "refs/tags/simple-tag"))
    assert result.code == 0, result.log
    assert result.outputs["verdict"] == "pass"
    assert len(writes(w)) == before  # no comment, no API write at all
    index = json.loads(git(w.origin, "show", "ci-gate-baselines:support-bot/index.json"))
    assert [e["tag"] for e in index["entries"]] == ["simple-tag"]
    # A release runs every case afresh: nothing reused, nothing from the cache.
    results = read_results(w.work / result.outputs["results-path"])
    assert results.run.totals.reused == 0 and results.run.totals.cached == 0


def test_a_read_only_token_falls_back_to_the_summary_with_a_notice(world: World) -> None:
    w = world
    w.refresh()
    head, event = w.open_pull(217, "from a fork", degrade=True, fork=True)
    env = w.env("pull_request", event, head, "refs/pull/217/merge")
    env["INPUT_GITHUB-TOKEN"] = READ_TOKEN
    result = w.step(env)
    assert result.code == 1, result.log  # the verdict still decides the step
    assert result.outputs["verdict"] == "fail"
    assert result.outputs["comment-url"] == ""
    assert comments(w, 217) == []
    notices = [line for line in result.log.splitlines() if line.startswith("::notice ")]
    assert any("read-only token" in line for line in notices), result.log
    assert "No pull request comment" in result.summary
    assert "Fail" in result.summary  # the whole report is in the summary
    # The runner hides the value of every ::add-mask:: line from the rest of the log.
    assert f"::add-mask::{READ_TOKEN}" in result.log.splitlines()
    shown = [line for line in result.log.splitlines() if not line.startswith("::add-mask::")]
    assert READ_TOKEN not in "\n".join(shown) + result.summary


def test_no_baseline_yet_is_inconclusive_and_says_how_to_get_one(world: World) -> None:
    w = world
    w.branch("feature", w.shas["main"])
    head = w.commit("first", "first PR")
    event = w.pull_event("pull_request/opened.payload.json", 2, head, w.shas["main"])
    w.gh.seed_from_event(event)
    result = w.step(w.env("pull_request", event, head, "refs/pull/2/merge"))
    assert result.code == 0, result.log
    assert result.outputs["verdict"] == "inconclusive"
    assert "No baseline to compare with" in comments(w, 2)[0]
    assert "push to master" in result.outputs["summary"]


def test_bad_input_is_one_line_exit_2_and_a_summary(world: World) -> None:
    w = world
    main = w.shas["main"]
    event = w.push_event("push/with-new-branch.payload.json", "refs/heads/master", main)
    result = w.step(w.env("push", event, main, "refs/heads/master", mode="sometimes"))
    assert result.code == 2
    assert result.outputs["verdict"] == "error"
    assert "sometimes' is not one of auto" in result.summary
    assert [line for line in result.log.splitlines() if line.startswith("::error ")]

    result = w.step(w.env("push", event, main, "refs/heads/master", suite="evals/nope.yaml"))
    assert result.code == 2 and result.outputs["verdict"] == "error"
    assert "nope.yaml" in result.outputs["summary"]


def test_the_suite_file_anchors_annotations_and_paths_are_relative(world: World) -> None:
    w = world
    w.refresh()
    head, event = w.open_pull(2, "terse", degrade=True)
    result = w.step(w.env("pull_request", event, head, "refs/pull/2/merge", comment="false"))
    assert result.code == 1
    errors = [line for line in result.log.splitlines() if line.startswith("::error ")]
    assert errors and all(f"file={SUITE}" in line for line in errors)
    assert len(errors) <= 10
    assert result.outputs["results-path"] == "ci-gate-out/support-bot/results.json"
    assert result.outputs["report-path"] == "ci-gate-out/support-bot/report.md"
    assert (w.work / "ci-gate-out/support-bot/junit.xml").is_file()
    assert writes(w) == []  # comment: false
