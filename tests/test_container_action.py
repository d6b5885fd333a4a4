"""The Action for real: the image built from our Dockerfile, started the way the runner starts a
container action, on a pull request whose change degrades the bot.

The workspace belongs to another user than the container's root, as on GitHub's runners (uid
1001), so git's ownership check is exercised; the fake GitHub API and the baseline's origin are
reached from inside the container (host network, and the origin bound at its own path).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci_gate.publish.sticky import marker
from ci_gate.results.store import read_results
from tests.action_world import SUITE, World, read_outputs
from tests.docker_engine import (
    DockerImage,
    RunnerDirs,
    docker_image_fixture,  # noqa: F401 - provides the docker_image fixture
    input_env,
    runner_like_env,
)
from tests.fakes.github_server import WRITE_TOKEN, GitHubServer

RUNNER_UID = 1001  # the user that owns the workspace on GitHub's hosted runners


def _chown_tree(root: Path, uid: int) -> None:
    for folder, dirs, files in os.walk(root):
        os.chown(folder, uid, uid)
        for name in (*dirs, *files):
            os.lchown(Path(folder) / name, uid, uid)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with GitHubServer() as gh:
        w = World(tmp_path, gh)
        w.create()
        yield w
        assert gh.violations == []


def test_the_container_gates_a_pull_request_and_comments(
    docker_image: DockerImage, world: World, tmp_path: Path
) -> None:
    w = world
    main = w.shas["main"]
    # The baseline, stored by the push to the default branch (on the host: tested elsewhere).
    w.checkout(main)
    stored = w.step(
        w.env(
            "push",
            w.push_event("push/with-new-branch.payload.json", "refs/heads/master", main),
            main,
            "refs/heads/master",
        )
    )
    assert stored.code == 0, stored.log

    w.branch("feature", main)
    w.degrade()
    head = w.commit("pr", "answer in one sentence")
    w.checkout(head)
    event = w.pull_event("pull_request/opened.payload.json", 2, head, main)
    w.gh.seed_from_event(event)
    if os.geteuid() == 0:
        _chown_tree(w.work, RUNNER_UID)

    dirs = RunnerDirs.create(tmp_path / "_temp", w.work, event)
    env = runner_like_env(
        event_name="pull_request",
        repository=w.repo,
        sha=head,
        ref="refs/pull/2/merge",
        head_ref="feature",
        base_ref="master",
        api_url=w.gh.url,
    )
    env.update(input_env({"suite": SUITE, "github-token": WRITE_TOKEN}))
    env["CI_GATE_GITHUB_PACE"] = "0"  # the fake has no secondary rate limits
    mounts = {**dirs.mounts(), w.origin: str(w.origin)}
    done = docker_image.run(["action"], env=env, mounts=mounts, timeout=120)

    assert done.returncode == 1, done.stdout + done.stderr  # the verdict: fail
    outputs = read_outputs(dirs.file_command("GITHUB_OUTPUT"))
    assert outputs["verdict"] == "fail"
    bodies = [c.body for c in w.gh.comments(w.owner, w.name, 2)]
    assert len(bodies) == 1 and bodies[0].startswith(marker("support-bot") + "\n")
    assert "Fail" in bodies[0] and main[:7] in bodies[0]
    assert outputs["comment-url"].endswith(
        f"#issuecomment-{w.gh.comments(w.owner, w.name, 2)[0].id}"
    )
    summary = dirs.file_command("GITHUB_STEP_SUMMARY").read_text("utf-8")
    assert "Fail" in summary and "Compared with the baseline of" in summary
    results = read_results(w.work / outputs["results-path"])
    assert results.run.git is not None and results.run.git.commit == head
    assert f"::add-mask::{WRITE_TOKEN}" in done.stdout.splitlines()
    shown = [line for line in done.stdout.splitlines() if not line.startswith("::add-mask::")]
    assert WRITE_TOKEN not in "\n".join(shown) + done.stderr + summary
    assert json.loads(json.dumps(outputs))  # every output parsed from the runner's file format
