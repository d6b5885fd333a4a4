"""The ``branch`` baseline store against real git repositories: a bare origin and its clones."""

from __future__ import annotations

import subprocess
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ci_gate.baseline.branch_store import BranchStore
from ci_gate.baseline.git import GitError, NotARepositoryError, PushRejectedError
from ci_gate.results.model import Results
from tests.factories import record, results

BRANCH = "ci-gate-baselines"


def sha(n: int) -> str:
    return f"{n:040x}"


def run_at(day: int, passed: bool = True) -> Results:
    stamp = (datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(days=day)).isoformat()
    return results([record("a", passed=passed), record("b")], finished_at=stamp)


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


@pytest.fixture(autouse=True)
def _git_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_AUTHOR_NAME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "--quiet", str(bare), str(seed))
    (seed / "app.py").write_text("print('hi')\n")
    git(seed, "add", "app.py")
    git(seed, "commit", "--quiet", "-m", "init")
    git(seed, "push", "--quiet", "origin", "HEAD:main")
    return bare


def clone(origin: Path, name: str) -> Path:
    target = origin.parent / name
    git(origin.parent, "clone", "--quiet", str(origin), str(target))
    return target


def remote_files(origin: Path) -> set[str]:
    listing = git(origin, "ls-tree", "-r", "--name-only", f"refs/heads/{BRANCH}")
    return set(listing.splitlines())


def test_put_pushes_one_file_per_commit_and_an_index(origin: Path) -> None:
    work = clone(origin, "work")
    store = BranchStore(work)
    assert store.commits("s") == set()
    assert store.get("s", sha(1)) is None
    assert store.history("s", 5) == []
    store.put("s", sha(1), run_at(0), branch="main", tag=None)
    store.put("s", sha(2), run_at(1), branch="main", tag="v1")
    assert remote_files(origin) == {f"s/{sha(1)}.json", f"s/{sha(2)}.json", "s/index.json"}
    author = git(origin, "log", "-1", "--format=%an <%ae>", f"refs/heads/{BRANCH}")
    assert author.startswith("github-actions[bot] <")


def test_another_clone_reads_what_was_stored(origin: Path) -> None:
    original = run_at(0, passed=False)
    BranchStore(clone(origin, "writer")).put("s", sha(7), original, branch="main", tag="v2")
    reader = BranchStore(clone(origin, "reader"))
    assert reader.get("s", sha(7)) == original
    assert reader.commits("s") == {sha(7)}
    release = reader.latest_release("s")
    assert release is not None and release.tag == "v2" and release.pass_rate == 0.5


def test_user_work_tree_index_and_head_are_untouched(origin: Path) -> None:
    work = clone(origin, "work")
    (work / "app.py").write_text("print('edited')\n")  # a dirty, unstaged change
    (work / "staged.txt").write_text("staged\n")
    git(work, "add", "staged.txt")
    before = (
        git(work, "rev-parse", "HEAD"),
        git(work, "symbolic-ref", "HEAD"),
        git(work, "status", "--porcelain"),
        (work / ".git" / "index").read_bytes(),
        sorted(p.name for p in work.iterdir()),
    )
    store = BranchStore(work)
    store.put("s", sha(1), run_at(0), branch="main", tag=None)
    store.put("s", sha(2), run_at(1), branch="main", tag=None)
    store.prune("s", keep_last=1)
    after = (
        git(work, "rev-parse", "HEAD"),
        git(work, "symbolic-ref", "HEAD"),
        git(work, "status", "--porcelain"),
        (work / ".git" / "index").read_bytes(),
        sorted(p.name for p in work.iterdir()),
    )
    assert after == before
    assert (work / "app.py").read_text() == "print('edited')\n"
    assert git(work, "branch", "--list", BRANCH) == ""  # no local branch was created


def test_a_lost_race_is_retried_on_the_new_tip(origin: Path) -> None:
    other = BranchStore(clone(origin, "other"))
    raced: list[bool] = []

    def other_job_pushes_first() -> None:
        if not raced:
            raced.append(True)
            other.put("s", sha(2), run_at(1), branch="main", tag=None)

    store = BranchStore(clone(origin, "work"), before_push=other_job_pushes_first)
    store.put("s", sha(1), run_at(0), branch="main", tag=None)
    assert raced == [True]
    assert remote_files(origin) == {f"s/{sha(1)}.json", f"s/{sha(2)}.json", "s/index.json"}
    fresh = BranchStore(clone(origin, "fresh"))
    assert {e.commit for e in fresh.history("s", 10)} == {sha(1), sha(2)}


def test_giving_up_after_the_attempts_says_so(origin: Path) -> None:
    other = BranchStore(clone(origin, "other"))
    counter = iter(range(100, 200))

    def always_lose() -> None:
        other.put("s", sha(next(counter)), run_at(1), branch="main", tag=None)

    store = BranchStore(clone(origin, "work"), attempts=2, before_push=always_lose)
    with pytest.raises(PushRejectedError, match="gave up after 2 attempts") as info:
        store.put("s", sha(1), run_at(0), branch="main", tag=None)
    assert "\n" not in str(info.value)


def test_two_concurrent_writers_lose_no_baseline(origin: Path) -> None:
    stores = [BranchStore(clone(origin, f"job{i}")) for i in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def job(index: int) -> None:
        try:
            barrier.wait()
            for k in range(2):  # each writer loses at most 2 races: attempts (4) suffice
                stores[index].put("s", sha(10 * index + k + 1), run_at(k), branch="main", tag=None)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=job, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    expected = {sha(1), sha(2), sha(11), sha(12)}
    reader = BranchStore(clone(origin, "reader"))
    assert reader.commits("s") == expected
    assert {e.commit for e in reader.history("s", 10)} == expected


def test_prune_removes_files_from_the_branch(origin: Path) -> None:
    store = BranchStore(clone(origin, "work"))
    for n in range(1, 5):
        store.put("s", sha(n), run_at(n), branch="main", tag="v1" if n == 1 else None)
    assert sorted(store.prune("s", keep_last=2)) == [sha(2)]
    assert remote_files(origin) == {
        f"s/{sha(1)}.json",
        f"s/{sha(3)}.json",
        f"s/{sha(4)}.json",
        "s/index.json",
    }
    assert store.prune("s", keep_last=2) == []


def test_damaged_index_on_the_branch_is_rebuilt(origin: Path) -> None:
    BranchStore(clone(origin, "writer")).put("s", sha(1), run_at(0), branch="main", tag=None)
    hand = clone(origin, "hand")
    git(hand, "checkout", "--quiet", BRANCH)
    (hand / "s" / "index.json").write_text("{garbage")
    git(hand, "commit", "--quiet", "-am", "break it")
    git(hand, "push", "--quiet", "origin", BRANCH)
    store = BranchStore(clone(origin, "reader"))
    assert [e.commit for e in store.history("s", 5)] == [sha(1)]
    store.put("s", sha(2), run_at(1), branch="main", tag=None)
    assert {e.commit for e in BranchStore(clone(origin, "r2")).history("s", 5)} == {sha(1), sha(2)}


def test_not_a_repository_is_a_one_line_error(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(NotARepositoryError, match="not a git repository") as info:
        BranchStore(plain).commits("s")
    assert "\n" not in str(info.value)


def test_credentials_in_the_remote_url_never_reach_the_message(origin: Path) -> None:
    work = clone(origin, "work")
    token = "ghs_" + "S3cr3t" * 6
    git(work, "remote", "set-url", "origin", f"http://x-access-token:{token}@127.0.0.1:9/r.git")
    with pytest.raises(GitError) as info:
        BranchStore(work).commits("s")
    assert token not in str(info.value)
    assert "\n" not in str(info.value)
