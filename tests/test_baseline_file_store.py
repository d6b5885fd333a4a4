"""The ``file:PATH`` baseline store: layout, index, repair of a damaged index, prune policy."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ci_gate.baseline.file_store import FileStore
from ci_gate.baseline.index import INDEX_FORMAT, INDEX_VERSION, entry_for, parse_index
from ci_gate.baseline.store import BaselineError, select_prunable, suite_slug
from ci_gate.errors import ResultsFileError
from ci_gate.results.model import Results
from tests.factories import record, results


def sha(n: int) -> str:
    return f"{n:040x}"


def run_at(day: int, *, passed: int = 3, failed: int = 1) -> Results:
    recs = [record(f"p{i}", latency_ms=100.0 + i) for i in range(passed)]
    recs += [record(f"f{i}", passed=False, latency_ms=300.0) for i in range(failed)]
    stamp = (datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(days=day)).isoformat()
    return results(recs, finished_at=stamp)


def test_layout_one_small_file_per_commit_and_an_index(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "baselines")
    entry = store.put("smoke", sha(1), run_at(0), branch="main", tag=None)
    store.put("smoke", sha(2), run_at(1), branch="main", tag="v1.0")
    folder = tmp_path / "baselines" / "smoke"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{sha(1)}.json", f"{sha(2)}.json", "index.json"]
    )
    doc = json.loads((folder / "index.json").read_text())
    assert (doc["format"], doc["version"], doc["suite"]) == (INDEX_FORMAT, INDEX_VERSION, "smoke")
    assert [e["commit"] for e in doc["entries"]] == [sha(1), sha(2)]
    assert entry.pass_rate == 0.75
    assert entry.latency_p50_ms == pytest.approx(101.5)
    assert entry.cost_per_case_usd == pytest.approx(0.001)
    assert entry.size == (folder / f"{sha(1)}.json").stat().st_size
    assert entry.path == f"smoke/{sha(1)}.json"


def test_get_round_trips_and_missing_is_none(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    original = run_at(0)
    store.put("smoke", sha(1), original, branch="main", tag=None)
    assert store.get("smoke", sha(1)) == original
    assert store.get("smoke", sha(9)) is None
    assert store.get("other", sha(1)) is None
    assert store.commits("smoke") == {sha(1)}
    assert store.commits("other") == set()


def test_history_newest_first_and_latest_release(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.put("s", sha(1), run_at(0), branch="main", tag="v1")
    store.put("s", sha(2), run_at(1), branch="main", tag=None)
    store.put("s", sha(3), run_at(2), branch="main", tag="v2")
    store.put("s", sha(4), run_at(3), branch="main", tag=None)
    assert [e.commit for e in store.history("s", 3)] == [sha(4), sha(3), sha(2)]
    release = store.latest_release("s")
    assert release is not None and (release.commit, release.tag) == (sha(3), "v2")


def test_putting_the_same_commit_again_replaces_its_entry(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.put("s", sha(1), run_at(0), branch="main", tag=None)
    store.put("s", sha(1), run_at(0, failed=3), branch="main", tag=None)
    history = store.history("s", 10)
    assert len(history) == 1 and history[0].pass_rate == 0.5


@pytest.mark.parametrize("damage", [b"{not json", b'{"format": "x"}', b"\xff\xfe", b""])
def test_damaged_index_is_rebuilt_from_the_files(tmp_path: Path, damage: bytes) -> None:
    store = FileStore(tmp_path)
    store.put("s", sha(1), run_at(0), branch="main", tag=None)
    store.put("s", sha(2), run_at(1), branch="main", tag=None)
    (tmp_path / "s" / "index.json").write_bytes(damage)
    assert [e.commit for e in store.history("s", 10)] == [sha(2), sha(1)]
    # ... and written back, repaired
    repaired = parse_index((tmp_path / "s" / "index.json").read_bytes(), "s")
    assert repaired is not None and {e.commit for e in repaired} == {sha(1), sha(2)}


def test_index_and_files_disagreeing_is_repaired(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.put("s", sha(1), run_at(0), branch="main", tag="v1")
    store.put("s", sha(2), run_at(1), branch="main", tag=None)
    (tmp_path / "s" / f"{sha(2)}.json").unlink()
    # a file whose writer died before updating the index
    (tmp_path / "s" / f"{sha(3)}.json").write_bytes(
        (tmp_path / "s" / f"{sha(1)}.json").read_bytes()
    )
    history = store.history("s", 10)
    assert {e.commit for e in history} == {sha(1), sha(3)}
    tags = {e.commit: e.tag for e in history}
    assert tags == {sha(1): "v1", sha(3): None}


def test_damaged_baseline_file_is_reported_by_get_and_skipped_by_the_index(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.put("s", sha(1), run_at(0), branch="main", tag=None)
    (tmp_path / "s" / f"{sha(2)}.json").write_text('{"format": "ci-gate-results", "sch')
    assert [e.commit for e in store.history("s", 10)] == [sha(1)]
    with pytest.raises(ResultsFileError, match=sha(2)):
        store.get("s", sha(2))


@pytest.mark.parametrize("suite", ["../x", "a/b", "", ".hidden", "x" * 101, "a b"])
def test_unsafe_suite_names_are_refused(tmp_path: Path, suite: str) -> None:
    with pytest.raises(BaselineError, match="not a safe name"):
        FileStore(tmp_path).put(suite, sha(1), run_at(0), branch=None, tag=None)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("commit", ["abc", "G" * 40, "../" + "a" * 37, "A" * 40])
def test_bad_commits_are_refused(tmp_path: Path, commit: str) -> None:
    with pytest.raises(BaselineError, match="full commit sha"):
        FileStore(tmp_path).get("s", commit)


def test_suite_slug_makes_safe_names() -> None:
    assert suite_slug("My suite! (v2)") == "My-suite-v2"
    assert suite_slug("../../etc") == "etc"
    assert suite_slug("???") == "suite"
    assert len(suite_slug("x" * 500)) == 100


def test_prune_keeps_the_newest_and_releases(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    for n in range(1, 7):
        store.put("s", sha(n), run_at(n), branch="main", tag="v1" if n == 2 else None)
    removed = store.prune("s", keep_last=2)
    assert sorted(removed) == [sha(1), sha(3), sha(4)]
    assert store.commits("s") == {sha(2), sha(5), sha(6)}
    assert {e.commit for e in store.history("s", 10)} == {sha(2), sha(5), sha(6)}
    assert store.prune("s", keep_last=2, keep_releases=False) == [sha(2)]
    assert store.commits("s") == {sha(5), sha(6)}


def test_prune_by_age_never_empties_the_store() -> None:
    store_entries = [
        dataclasses.replace(
            entry_for(sha(n), run_at(n), branch="main", tag=None, path="p", size=1),
            created_at=f"2026-01-0{n}T00:00:00+00:00",
        )
        for n in range(1, 4)
    ]
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    doomed = select_prunable(store_entries, keep_last=10, max_age_days=30, now=now)
    assert sorted(doomed) == [sha(1), sha(2)]
    fresh = select_prunable(store_entries, keep_last=10, max_age_days=365, now=now)
    assert fresh == []
    with pytest.raises(BaselineError, match="keep_last"):
        select_prunable(store_entries, keep_last=0)
