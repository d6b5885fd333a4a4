"""The action's container, built from the repository's Dockerfile and run as the GitHub runner runs
it, on a real local Docker engine (see .ci/docker-setup; skipped with its reason when absent)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import ci_gate
from ci_gate.results.store import read_results
from tests.docker_engine import (
    ROOT,
    DockerImage,
    RunnerDirs,
    build_context_files,
    docker_image_fixture,  # noqa: F401 - provides the docker_image fixture
    runner_like_env,
)

SUITE = "examples/support-bot/suite.yaml"


def _workspace(tmp_path: Path) -> Path:
    """A copy of the repository's examples/ as the checked-out workspace."""
    workspace = tmp_path / "workspace"
    shutil.copytree(ROOT / "examples", workspace / "examples")
    return workspace


def test_build_context_is_what_the_dockerfile_copies() -> None:
    files = build_context_files()
    assert {"Dockerfile", ".dockerignore", "pyproject.toml", "README.md"} <= set(files)
    assert "ci_gate/cli.py" in files
    assert not [f for f in files if f.startswith(("tests/", ".git/", "examples/"))]
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


def test_image_leaves_user_and_workdir_to_the_runner(docker_image: DockerImage) -> None:
    config = docker_image.inspect()["Config"]
    assert config.get("User") in ("", None)
    assert config.get("WorkingDir") in ("", None)
    assert config["Entrypoint"] == ["ci-gate"]


def test_version_of_the_installed_package(docker_image: DockerImage) -> None:
    done = docker_image.run(["--version"], timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ci-gate {ci_gate.__version__}"


def test_git_is_in_the_image(docker_image: DockerImage) -> None:
    done = docker_image.run(["--version"], entrypoint="git", network_host=False, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("git version ")


def test_suite_run_writes_results_into_the_workspace(
    docker_image: DockerImage, tmp_path: Path
) -> None:
    dirs = RunnerDirs.create(tmp_path / "_temp", _workspace(tmp_path))
    sha = "1234567890abcdef1234567890abcdef12345678"
    done = docker_image.run(
        ["run", SUITE, "-o", "results.json"],
        env=runner_like_env(sha=sha, ref="refs/heads/main"),
        mounts=dirs.mounts(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    results = read_results(dirs.workspace / "results.json")
    assert results.run.suite_name == "support-bot"
    assert results.run.ci_gate_version == ci_gate.__version__
    assert results.run.status == "complete"
    # The runner's variables reached the container: in Actions the event's SHA and ref win.
    assert results.run.git is not None
    assert (results.run.git.commit, results.run.git.branch) == (sha, "main")

    # The same suite run on this host gives the same verdict per case.
    host_workspace = tmp_path / "host"
    shutil.copytree(dirs.workspace / "examples", host_workspace / "examples")
    host = subprocess.run(
        [sys.executable, "-m", "ci_gate", "run", SUITE, "-o", "results.json"],
        cwd=host_workspace,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert host.returncode == 0, host.stderr
    expected = read_results(host_workspace / "results.json")
    assert results.run.totals.records == expected.run.totals.records > 0
    assert {r.case_id: r.passed for r in results.records} == {
        r.case_id: r.passed for r in expected.records
    }
