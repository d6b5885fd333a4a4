"""The git commit and branch a run was made from, for the results file."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from ci_gate.results.model import GitInfo


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def git_info(directory: Path, env: Mapping[str, str]) -> GitInfo | None:
    """Where the run came from. In GitHub Actions the event's own SHA and ref win: a pull request's
    checkout is a detached merge commit whose branch name says nothing."""
    commit = _git(["rev-parse", "HEAD"], directory)
    if commit is None and not env.get("GITHUB_SHA"):
        return None
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], directory)
    status = _git(["status", "--porcelain", "--untracked-files=no"], directory)
    if env.get("GITHUB_ACTIONS") == "true":
        commit = env.get("GITHUB_SHA") or commit
        branch = env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME") or branch
    return GitInfo(
        commit=commit,
        branch=None if branch == "HEAD" else branch,
        dirty=None if status is None else bool(status),
    )
