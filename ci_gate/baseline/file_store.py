"""``file:PATH``: baselines in a folder (usually committed in the repository itself).

Layout: ``<PATH>/<suite>/<commit>.json``, one small file per baseline, and
``<PATH>/<suite>/index.json``. Every write is atomic, so a killed job leaves the old file or the
new one; an index that disagrees with the files is repaired on read.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ci_gate.atomic import write_text_atomic
from ci_gate.baseline.index import (
    INDEX_NAME,
    IndexEntry,
    entry_for,
    index_to_bytes,
    parse_index,
    upsert,
    without,
)
from ci_gate.baseline.store import (
    BaselineError,
    check_commit,
    check_suite,
    encode_results,
    latest_release_of,
    newest_first,
    reconcile,
    select_prunable,
)
from ci_gate.errors import ResultsFileError
from ci_gate.results.model import Results
from ci_gate.results.store import read_results


class FileStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"FileStore({str(self.root)!r})"

    def _dir(self, suite: str) -> Path:
        return self.root / check_suite(suite)

    def _file(self, suite: str, commit: str) -> Path:
        return self._dir(suite) / f"{check_commit(commit)}.json"

    def get(self, suite: str, commit: str) -> Results | None:
        path = self._file(suite, commit)
        if not path.is_file():
            return None
        return read_results(path)

    def commits(self, suite: str) -> set[str]:
        folder = self._dir(suite)
        if not folder.is_dir():
            return set()
        found = set()
        for child in folder.iterdir():
            if child.suffix == ".json" and child.name != INDEX_NAME and child.is_file():
                with contextlib.suppress(BaselineError):
                    found.add(check_commit(child.stem))
        return found

    def _entries(self, suite: str) -> list[IndexEntry]:
        index_path = self._dir(suite) / INDEX_NAME
        try:
            raw: bytes | None = index_path.read_bytes()
        except FileNotFoundError:
            raw = None
        except OSError as exc:
            raise BaselineError(f"{index_path}: cannot read: {exc.strerror}") from None
        entries, changed = reconcile(
            parse_index(raw, suite), self.commits(suite), lambda c: self._rebuild(suite, c)
        )
        if changed:
            self._write_index(suite, entries)
        return entries

    def _rebuild(self, suite: str, commit: str) -> IndexEntry | None:
        path = self._file(suite, commit)
        try:
            results = read_results(path)
        except ResultsFileError:
            return None  # a damaged baseline has no entry; ``get`` reports it
        return entry_for(
            commit,
            results,
            branch=None,
            tag=None,
            path=f"{suite}/{path.name}",
            size=path.stat().st_size,
        )

    def _write_index(self, suite: str, entries: list[IndexEntry]) -> None:
        text = index_to_bytes(suite, entries).decode("utf-8")
        try:
            write_text_atomic(self._dir(suite) / INDEX_NAME, text)
        except OSError as exc:
            raise BaselineError(
                f"{self._dir(suite)}: cannot write the baseline index: {exc.strerror}"
            ) from None

    def put(
        self, suite: str, commit: str, results: Results, *, branch: str | None, tag: str | None
    ) -> IndexEntry:
        path = self._file(suite, commit)
        data = encode_results(results)
        try:
            write_text_atomic(path, data.decode("utf-8"))
        except OSError as exc:
            raise BaselineError(f"{path}: cannot write the baseline: {exc.strerror}") from None
        entry = entry_for(
            commit, results, branch=branch, tag=tag, path=f"{suite}/{path.name}", size=len(data)
        )
        self._write_index(suite, upsert(self._entries(suite), entry))
        return entry

    def history(self, suite: str, limit: int) -> list[IndexEntry]:
        return newest_first(self._entries(suite))[: max(limit, 0)]

    def latest_release(self, suite: str) -> IndexEntry | None:
        return latest_release_of(self._entries(suite))

    def prune(
        self,
        suite: str,
        keep_last: int,
        keep_releases: bool = True,
        max_age_days: float | None = None,
    ) -> list[str]:
        entries = self._entries(suite)
        doomed = select_prunable(entries, keep_last, keep_releases, max_age_days)
        # Files go first: a crash in between leaves an index naming files that are gone, which
        # the next read drops; the other order would bring pruned baselines back.
        for commit in doomed:
            with contextlib.suppress(FileNotFoundError):
                self._file(suite, commit).unlink()
        self._write_index(suite, without(entries, doomed))
        return doomed
