"""Finding the baseline a pull request is compared with, in real repositories with merges."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ci_gate.baseline.merge_base import find_baseline_commit
from ci_gate.baseline.store import BaselineError, NoBaselineError

NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)


def git(cwd: Path, *args: str, day: int = 0) -> str:
    stamp = f"{int((NOW - timedelta(days=30 - day)).timestamp())} +0000"
    env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    proc = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return proc.stdout.strip()


@pytest.fixture(autouse=True)
def _git_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def commit(repo: Path, name: str, day: int) -> str:
    (repo / f"{name}.txt").write_text(name)
    git(repo, "add", f"{name}.txt")
    git(repo, "commit", "--quiet", "-m", name, day=day)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def history(tmp_path: Path) -> dict[str, str]:
    """main: A - B - C - M - D, where M merges side (S1 - S2, from B); feature: D - F1."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "--quiet", str(bare), str(seed))
    shas = {"A": commit(seed, "A", 1), "B": commit(seed, "B", 2)}
    git(seed, "checkout", "--quiet", "-b", "side")
    shas["S1"], shas["S2"] = commit(seed, "S1", 3), commit(seed, "S2", 4)
    git(seed, "checkout", "--quiet", "main")
    shas["C"] = commit(seed, "C", 5)
    git(seed, "merge", "--quiet", "--no-ff", "-m", "M", "side", day=6)
    shas["M"] = git(seed, "rev-parse", "HEAD")
    shas["D"] = commit(seed, "D", 7)
    git(seed, "checkout", "--quiet", "-b", "feature")
    shas["F1"] = commit(seed, "F1", 8)
    git(seed, "push", "--quiet", "origin", "main", "feature")
    return shas


def full_clone(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", str(tmp_path / "origin.git"), str(work))
    return work


def test_the_merge_base_itself_when_it_has_a_baseline(
    tmp_path: Path, history: dict[str, str]
) -> None:
    work = full_clone(tmp_path)
    match = find_baseline_commit(work, history["F1"], "main", {history["D"]}, now=NOW)
    assert (match.commit, match.merge_base, match.commits_back) == (history["D"], history["D"], 0)
    assert match.age == timedelta(days=23)
    assert "the merge-base, 23 days old" in match.describe()


def test_walks_first_parent_history_skipping_merged_side_branches(
    tmp_path: Path, history: dict[str, str]
) -> None:
    work = full_clone(tmp_path)
    have = {history["S2"], history["S1"], history["B"], history["A"]}
    match = find_baseline_commit(work, history["F1"], "main", have, now=NOW)
    assert match.commit == history["B"]
    assert match.commits_back == 3  # D, M, C, then B
    assert "3 commits before merge-base" in match.describe()


def test_a_predicate_works_as_well_as_a_set(tmp_path: Path, history: dict[str, str]) -> None:
    work = full_clone(tmp_path)
    match = find_baseline_commit(work, history["F1"], "main", lambda c: c == history["M"])
    assert (match.commit, match.commits_back) == (history["M"], 1)


def test_nothing_found_within_the_limit(tmp_path: Path, history: dict[str, str]) -> None:
    work = full_clone(tmp_path)
    with pytest.raises(NoBaselineError, match="in the 2 first-parent commits") as info:
        find_baseline_commit(work, history["F1"], "main", {history["A"]}, max_back=2)
    assert "push to main" in str(info.value)
    with pytest.raises(NoBaselineError, match="in the 5 first-parent commits"):
        find_baseline_commit(work, history["F1"], "main", set())


def test_shallow_single_branch_clone_asks_for_full_history(
    tmp_path: Path, history: dict[str, str]
) -> None:
    shallow = tmp_path / "shallow"
    url = (tmp_path / "origin.git").as_uri()
    git(tmp_path, "clone", "--quiet", "--depth", "1", "--branch", "feature", url, str(shallow))
    with pytest.raises(BaselineError, match="fetch-depth: 0") as info:
        find_baseline_commit(shallow, history["F1"], "main", {history["B"]})
    assert "\n" not in str(info.value)


def test_shallow_clone_cut_before_the_baseline_says_why(
    tmp_path: Path, history: dict[str, str]
) -> None:
    shallow = tmp_path / "shallow"
    url = (tmp_path / "origin.git").as_uri()
    git(tmp_path, "clone", "--quiet", "--depth", "2", "--no-single-branch", url, str(shallow))
    with pytest.raises(NoBaselineError, match=r"shallow.*fetch-depth: 0"):
        find_baseline_commit(shallow, history["F1"], "main", {history["A"]})


def test_unknown_head_or_default_branch(tmp_path: Path, history: dict[str, str]) -> None:
    work = full_clone(tmp_path)
    with pytest.raises(BaselineError, match="not in the checkout"):
        find_baseline_commit(work, "f" * 40, "main", {history["A"]})
    with pytest.raises(BaselineError, match="origin/trunk is not fetched"):
        find_baseline_commit(work, history["F1"], "trunk", {history["A"]})
