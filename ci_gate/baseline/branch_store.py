"""``branch``: baselines on a data branch of the origin repository (default ``ci-gate-baselines``).

Only git plumbing is used, so the user's work tree, index and HEAD are never touched: the branch
is fetched into ``refs/ci-gate/<branch>``, read with ``cat-file``, and written through a
temporary index (``GIT_INDEX_FILE``), ``commit-tree`` and a push of the new commit. When another
job pushed meanwhile the push is rejected as non-fast-forward; the change is then re-applied on
the new tip, up to ``attempts`` times in all, so no baseline is lost.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

from ci_gate.baseline.git import PushRejectedError, RemoteRefMissingError, git_text, run_git
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
    decode_results,
    encode_results,
    latest_release_of,
    newest_first,
    reconcile,
    select_prunable,
)
from ci_gate.errors import ResultsFileError
from ci_gate.results.model import Results

DEFAULT_BRANCH = "ci-gate-baselines"
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
T = TypeVar("T")


class BranchStore:
    def __init__(
        self,
        repo: str | os.PathLike[str],
        branch: str = DEFAULT_BRANCH,
        remote: str = "origin",
        *,
        user_name: str = BOT_NAME,
        user_email: str = BOT_EMAIL,
        attempts: int = 4,
        before_push: Callable[[], None] | None = None,
    ) -> None:
        if not branch or branch.startswith("-") or ".." in branch or " " in branch:
            raise BaselineError(f"baseline store: {branch!r} is not a usable branch name")
        self.repo = Path(repo)
        self.branch = branch
        self.remote = remote
        self.local_ref = f"refs/ci-gate/{branch}"
        self._identity = ["-c", f"user.name={user_name}", "-c", f"user.email={user_email}"]
        self._attempts = max(attempts, 1)
        # Called just before each push: lets tests make another writer win the race.
        self._before_push = before_push
        self._tip: str | None = None
        self._fetched = False

    def __repr__(self) -> str:
        return f"BranchStore({str(self.repo)!r}, {self.branch!r})"

    # -- reading ----------------------------------------------------------------------------
    def _fetch(self) -> str | None:
        """Bring the data branch into ``refs/ci-gate/<branch>``; its tip, or None if absent."""
        refspec = f"+refs/heads/{self.branch}:{self.local_ref}"
        try:
            run_git(
                ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", self.remote, refspec],
                self.repo,
            )
        except RemoteRefMissingError:
            with contextlib.suppress(BaselineError):
                run_git(["update-ref", "-d", self.local_ref], self.repo)
        found = git_text(["for-each-ref", "--format=%(objectname)", self.local_ref], self.repo)
        self._tip, self._fetched = (found or None), True
        return self._tip

    def _current(self) -> str | None:
        return self._tip if self._fetched else self._fetch()

    def _blobs(self, tip: str | None, paths: list[str]) -> dict[str, bytes]:
        """The files at ``paths`` in ``tip`` that exist (one ``cat-file --batch`` for all)."""
        if tip is None or not paths:
            return {}
        request = "".join(f"{tip}:{p}\n" for p in paths).encode("utf-8")
        out = run_git(["cat-file", "--batch"], self.repo, stdin=request)
        found: dict[str, bytes] = {}
        pos = 0
        for path in paths:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if len(header) != 3 or header[1] != b"blob":
                continue  # "<name> missing", or not a file
            size = int(header[2])
            found[path] = out[pos : pos + size]
            pos += size + 1
        return found

    def _names(self, tip: str | None, suite: str) -> set[str]:
        if tip is None:
            return set()
        listing = git_text(["ls-tree", "--name-only", tip, f"{suite}/"], self.repo)
        commits = set()
        for line in listing.splitlines():
            name = line.rsplit("/", 1)[-1]
            if name.endswith(".json") and name != INDEX_NAME:
                with contextlib.suppress(BaselineError):
                    commits.add(check_commit(name[: -len(".json")]))
        return commits

    def _where(self, suite: str, commit: str) -> str:
        return f"{self.remote}/{self.branch}:{suite}/{commit}.json"

    def _entries(self, tip: str | None, suite: str) -> list[IndexEntry]:
        present = self._names(tip, suite)
        raw = self._blobs(tip, [f"{suite}/{INDEX_NAME}"]).get(f"{suite}/{INDEX_NAME}")

        def rebuild(commit: str) -> IndexEntry | None:
            path = f"{suite}/{commit}.json"
            data = self._blobs(tip, [path]).get(path)
            if data is None:
                return None
            try:
                results = decode_results(data, self._where(suite, commit))
            except ResultsFileError:
                return None
            return entry_for(commit, results, branch=None, tag=None, path=path, size=len(data))

        entries, _ = reconcile(parse_index(raw, suite), present, rebuild)
        return entries

    def get(self, suite: str, commit: str) -> Results | None:
        path = f"{check_suite(suite)}/{check_commit(commit)}.json"
        data = self._blobs(self._current(), [path]).get(path)
        return None if data is None else decode_results(data, self._where(suite, commit))

    def commits(self, suite: str) -> set[str]:
        return self._names(self._current(), check_suite(suite))

    def history(self, suite: str, limit: int) -> list[IndexEntry]:
        return newest_first(self._entries(self._current(), check_suite(suite)))[: max(limit, 0)]

    def latest_release(self, suite: str) -> IndexEntry | None:
        return latest_release_of(self._entries(self._current(), check_suite(suite)))

    # -- writing ----------------------------------------------------------------------------
    def _commit(
        self, tip: str | None, writes: Mapping[str, bytes], removes: Iterable[str], message: str
    ) -> str:
        with tempfile.TemporaryDirectory(prefix="ci-gate-index-") as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            run_git(["read-tree", tip] if tip else ["read-tree", "--empty"], self.repo, env=env)
            for path, data in writes.items():
                sha = run_git(["hash-object", "-w", "--stdin"], self.repo, stdin=data)
                blob = sha.decode("ascii").strip()
                run_git(
                    ["update-index", "--add", "--cacheinfo", f"100644,{blob},{path}"],
                    self.repo,
                    env=env,
                )
            for path in removes:
                run_git(["update-index", "--force-remove", path], self.repo, env=env)
            tree = git_text(["write-tree"], self.repo, env=env)
        parents = ["-p", tip] if tip else []
        return git_text([*self._identity, "commit-tree", tree, *parents, "-m", message], self.repo)

    def _apply(
        self,
        change: Callable[[str | None], tuple[Mapping[str, bytes], list[str], T]],
        message: str,
    ) -> T:
        """Make ``change`` on the branch's tip and push it; on a lost race, again on the new tip.

        ``change`` gets the tip (None: no branch yet) and says which files to write (path ->
        bytes), which paths to remove, and what to return once pushed."""
        last: PushRejectedError | None = None
        for _ in range(self._attempts):
            tip = self._fetch()
            writes, removes, outcome = change(tip)
            commit = self._commit(tip, writes, removes, message)
            if self._before_push is not None:
                self._before_push()
            try:
                run_git(
                    [
                        "push",
                        "--quiet",
                        "--no-verify",
                        self.remote,
                        f"{commit}:refs/heads/{self.branch}",
                    ],
                    self.repo,
                )
            except PushRejectedError as exc:
                last = exc
                continue
            run_git(["update-ref", self.local_ref, commit], self.repo)
            self._tip = commit
            return outcome
        raise PushRejectedError(
            f"{self.remote}/{self.branch}: gave up after {self._attempts} attempts, other jobs "
            f"kept pushing first ({last}); rerun the job"
        )

    def put(
        self, suite: str, commit: str, results: Results, *, branch: str | None, tag: str | None
    ) -> IndexEntry:
        path = f"{check_suite(suite)}/{check_commit(commit)}.json"
        data = encode_results(results)
        entry = entry_for(commit, results, branch=branch, tag=tag, path=path, size=len(data))

        def change(tip: str | None) -> tuple[Mapping[str, bytes], list[str], IndexEntry]:
            entries = upsert(self._entries(tip, suite), entry)
            index = index_to_bytes(suite, entries)
            return {path: data, f"{suite}/{INDEX_NAME}": index}, [], entry

        return self._apply(change, f"ci-gate: baseline of {suite} at {commit[:12]}")

    def prune(
        self,
        suite: str,
        keep_last: int,
        keep_releases: bool = True,
        max_age_days: float | None = None,
    ) -> list[str]:
        check_suite(suite)

        def change(tip: str | None) -> tuple[Mapping[str, bytes], list[str], list[str]]:
            entries = self._entries(tip, suite)
            doomed = select_prunable(entries, keep_last, keep_releases, max_age_days)
            index = index_to_bytes(suite, without(entries, doomed))
            return {f"{suite}/{INDEX_NAME}": index}, [f"{suite}/{c}.json" for c in doomed], doomed

        if not select_prunable(
            self._entries(self._current(), suite), keep_last, keep_releases, max_age_days
        ):
            return []
        return self._apply(change, f"ci-gate: prune baselines of {suite}")
