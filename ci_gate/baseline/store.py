"""What every baseline store does, and the rules they share: names, parsing, the prune policy.

A baseline is the results file of a run on the default branch (or a release tag), stored once per
suite and commit, so a pull request can be compared with the run at its merge-base.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Protocol

from ci_gate.baseline.index import IndexEntry
from ci_gate.errors import GateError, ResultsFileError
from ci_gate.results.codec import results_from_dict
from ci_gate.results.encode import results_json
from ci_gate.results.model import Results

_SUITE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_COMMIT_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


class BaselineError(GateError):
    """A baseline store cannot be used as configured or reached (exit 2)."""

    exit_code = 2


class NoBaselineError(BaselineError):
    """No baseline was found where one was looked for."""


class BaselineStore(Protocol):
    """A place baselines live: a folder, a data branch, or Actions artifacts."""

    def get(self, suite: str, commit: str) -> Results | None: ...

    def put(
        self, suite: str, commit: str, results: Results, *, branch: str | None, tag: str | None
    ) -> IndexEntry: ...

    def commits(self, suite: str) -> set[str]: ...

    def latest_release(self, suite: str) -> IndexEntry | None: ...

    def history(self, suite: str, limit: int) -> list[IndexEntry]: ...

    def prune(
        self,
        suite: str,
        keep_last: int,
        keep_releases: bool = True,
        max_age_days: float | None = None,
    ) -> list[str]: ...


def suite_slug(name: str) -> str:
    """A suite name made safe as a folder, file and artifact name: ``My suite!`` -> ``My-suite``."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:100]
    return slug or "suite"


def check_suite(suite: str) -> str:
    if not _SUITE_RE.match(suite) or ".." in suite:
        raise BaselineError(
            f"baseline store: suite key {suite[:120]!r} is not a safe name "
            "(use letters, digits, '.', '_' and '-'; ci_gate.baseline.suite_slug makes one)"
        )
    return suite


def check_commit(commit: str) -> str:
    if not _COMMIT_RE.match(commit):
        raise BaselineError(
            f"baseline store: {commit[:80]!r} is not a full commit sha "
            "(40 or 64 lowercase hex digits; `git rev-parse HEAD` prints one)"
        )
    return commit


def encode_results(results: Results) -> bytes:
    """A baseline's bytes: the results file ``write_results`` would write."""
    return "".join(results_json(results)).encode("utf-8")


def decode_results(data: bytes, source: str) -> Results:
    """A results file's bytes, parsed; ``ResultsFileError`` naming ``source`` if damaged."""
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ResultsFileError(
            f"{source}: damaged baseline (not a JSON results file); store it again from a run "
            "on the default branch"
        ) from None
    return results_from_dict(parsed, source)


def _when(entry: IndexEntry) -> datetime:
    try:
        stamp = datetime.fromisoformat(entry.created_at.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def newest_first(entries: Sequence[IndexEntry]) -> list[IndexEntry]:
    return sorted(entries, key=lambda e: (_when(e), e.commit), reverse=True)


def latest_release_of(entries: Sequence[IndexEntry]) -> IndexEntry | None:
    return next((e for e in newest_first(entries) if e.tag), None)


def select_prunable(
    entries: Sequence[IndexEntry],
    keep_last: int,
    keep_releases: bool = True,
    max_age_days: float | None = None,
    now: datetime | None = None,
) -> list[str]:
    """The commits a prune removes: beyond the newest ``keep_last``, or older than
    ``max_age_days``; release baselines (tagged) are kept when ``keep_releases``.

    The newest baseline always survives: a store emptied by a prune would leave every open pull
    request without anything to compare with.
    """
    if keep_last < 1:
        raise BaselineError(f"baseline prune: keep_last must be at least 1, got {keep_last}")
    ordered = newest_first(entries)
    cutoff = None
    if max_age_days is not None:
        cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=max_age_days)
    doomed = []
    for position, entry in enumerate(ordered):
        if position == 0 or (keep_releases and entry.tag):
            continue
        too_old = cutoff is not None and _when(entry) < cutoff
        if position >= keep_last or too_old:
            doomed.append(entry.commit)
    return doomed


def reconcile(
    entries: Sequence[IndexEntry] | None,
    present: set[str],
    load_entry: Callable[[str], IndexEntry | None],
) -> tuple[list[IndexEntry], bool]:
    """The index made to agree with the baseline files present, and whether it changed.

    Entries of missing files are dropped; files without an entry (a damaged index, or a writer
    that died between the file and the index) get one rebuilt from the file, without a tag.
    """
    known = {e.commit: e for e in entries or () if e.commit in present}
    changed = entries is None or len(known) != len(entries)
    for commit in sorted(present - known.keys()):
        entry = load_entry(commit)
        if entry is not None:
            known[commit] = entry
            changed = True
    return sorted(known.values(), key=lambda e: (e.created_at, e.commit)), changed
