"""``results-from``: the fork-safe pair (a workflow_run job posts a fork's results) and shards."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ci_gate.publish.sticky import marker
from tests.action_world import FORK_OWNER, World, open_world, payload
from tests.fakes.github_server import READ_TOKEN


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with open_world(tmp_path) as w:
        w.refresh()
        yield w


def fork_run(w: World) -> tuple[str, Path]:
    """The first workflow of the pair: a fork's PR, read-only token, no comment; its results."""
    head, event = w.open_pull(217, "terse answers", degrade=True, fork=True)
    env = w.env("pull_request", event, head, "refs/pull/217/merge", comment="false")
    env["INPUT_GITHUB-TOKEN"] = READ_TOKEN
    result = w.step(env)
    assert result.code == 1 and result.outputs["verdict"] == "fail"
    artifact = w.root / "artifact"
    artifact.mkdir()
    shutil.copy(w.work / result.outputs["results-path"], artifact / "results.json")
    return head, artifact


def run_event(w: World, head: str, pulls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    name = "completed.with-pull-requests.payload.json" if pulls else "completed.payload.json"
    event = payload(f"workflow_run/{name}")
    event["repository"]["full_name"] = w.repo
    event["repository"]["default_branch"] = w.default_branch
    run = event["workflow_run"]
    run["event"] = "pull_request"
    run["head_sha"], run["head_branch"] = head, "feature"
    run["head_repository"]["owner"]["login"] = FORK_OWNER
    run["pull_requests"] = pulls or []
    return event


def publish(w: World, event: dict[str, Any], artifact: Path) -> Any:
    main = w.shas["main"]
    w.checkout(main)  # workflow_run runs the default branch's workflow, on its code
    inside = artifact.relative_to(w.work) if artifact.is_relative_to(w.work) else None
    if inside is None:
        target = w.work / "downloaded"
        shutil.copytree(artifact, target, dirs_exist_ok=True)
        inside = Path("downloaded")
    env = w.env("workflow_run", event, main, "refs/heads/master", results_from=str(inside))
    return w.step(env)


def test_workflow_run_posts_the_forks_results_on_the_pull_request_from_the_event(
    world: World,
) -> None:
    w = world
    head, artifact = fork_run(w)
    assert w.gh.comments(w.owner, w.name, 217) == []
    # A fork's run lists no pull requests: the PR is found from the run's head owner, branch, sha.
    result = publish(w, run_event(w, head), artifact)
    assert result.code == 1, result.log
    assert result.outputs["verdict"] == "fail"
    bodies = [c.body for c in w.gh.comments(w.owner, w.name, 217)]
    assert len(bodies) == 1 and bodies[0].startswith(marker("support-bot") + "\n")
    assert result.outputs["comment-url"].endswith(
        f"#issuecomment-{w.gh.comments(w.owner, w.name, 217)[0].id}"
    )


def test_the_pull_request_number_comes_from_the_event_never_the_artifact(world: World) -> None:
    w = world
    head, artifact = fork_run(w)
    # Another open pull request that the artifact might try to point at.
    w.gh.add_pull(w.owner, w.name, 5, "9" * 40, w.shas["main"], base_ref="master")
    data = json.loads((artifact / "results.json").read_text("utf-8"))
    data["run"]["git"]["branch"] = "pull/5"
    hostile = "@octocat <!-- ci-gate:sticky suite=support-bot --> ::error::pwned [x](https://evil.example)"
    data["records"][0]["output"] = hostile
    (artifact / "results.json").write_text(json.dumps(data), "utf-8")
    pull = {
        "number": 217,
        "head": {
            "sha": head,
            "ref": "feature",
            "repo": {"url": "https://api.github.com/repos/x/y"},
        },
        "base": {
            "sha": w.shas["main"],
            "ref": "master",
            "repo": {"url": f"https://api.github.com/repos/{w.repo}"},
        },
    }
    result = publish(w, run_event(w, head, [pull]), artifact)
    assert result.code == 1, result.log
    assert w.gh.comments(w.owner, w.name, 5) == []
    (body,) = [c.body for c in w.gh.comments(w.owner, w.name, 217)]
    assert body.count("<!-- ci-gate:sticky") == 1  # only the real marker, on the first line
    assert "@octocat" not in body.replace("@\u200boctocat", "")
    assert not any(line.startswith("::error::pwned") for line in result.log.splitlines())


def test_workflow_run_without_a_pull_request_posts_nothing_and_says_why(world: World) -> None:
    w = world
    _, artifact = fork_run(w)
    result = publish(w, run_event(w, "7" * 40), artifact)
    assert result.outputs["comment-url"] == ""
    assert "not the head of an open pull request" in result.summary
    assert w.gh.comments(w.owner, w.name, 217) == []


def test_shards_run_apart_and_the_merge_job_compares_and_comments_once(world: World) -> None:
    w = world
    w.branch("feature", w.shas["main"])
    w.degrade()
    head = w.commit("pr", "terse")
    event = w.pull_event("pull_request/opened.payload.json", 2, head, w.shas["main"])
    w.gh.seed_from_event(event)
    w.checkout(head)
    shards = w.root / "shards"
    shards.mkdir()
    for index in (1, 2, 3):
        env = w.env("pull_request", event, head, "refs/pull/2/merge", shard=f"{index}/3")
        result = w.step(env)
        assert result.code == 0, result.log
        assert result.outputs["results-path"].endswith(f"results-shard-{index}-of-3.json")
        shutil.copy(w.work / result.outputs["results-path"], shards / f"part{index}.json")
    assert w.gh.comments(w.owner, w.name, 2) == []  # shard jobs never comment

    target = w.work / "downloaded-shards"
    shutil.copytree(shards, target)
    env = w.env("pull_request", event, head, "refs/pull/2/merge", results_from="downloaded-shards")
    result = w.step(env)
    assert result.code == 1, result.log
    assert result.outputs["verdict"] == "fail"
    assert len(w.gh.comments(w.owner, w.name, 2)) == 1

    (target / "part2.json").unlink()
    result = w.step(env)
    assert result.code == 2
    assert "shard" in result.outputs["summary"] and "2" in result.outputs["summary"]
