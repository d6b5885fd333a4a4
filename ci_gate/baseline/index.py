"""The per-suite index of baselines: one small entry per stored commit, enough for a trend chart.

The index is a cache of what the baseline files say (plus the release tag, which only the index
knows). A damaged or unknown-version index is never fatal: ``parse_index`` returns None and the
store rebuilds it from the files present.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from ci_gate.results.model import Results, measured_latencies
from ci_gate.stats.quantiles import percentile

INDEX_FORMAT = "ci-gate-baseline-index"
INDEX_VERSION = 1
INDEX_NAME = "index.json"


@dataclass(frozen=True)
class IndexEntry:
    commit: str
    branch: str | None
    tag: str | None
    created_at: str  # ISO 8601, UTC: when the baseline run finished
    path: str  # where the baseline lives inside its store
    size: int  # bytes of the results file
    pass_rate: float | None  # passed / scored records
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    cost_per_case_usd: float | None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _created_at(results: Results) -> str:
    stamp = results.run.finished_at or results.run.started_at
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return _now()
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def entry_for(
    commit: str,
    results: Results,
    *,
    branch: str | None,
    tag: str | None,
    path: str,
    size: int,
) -> IndexEntry:
    """The index entry of ``results`` stored for ``commit``."""
    totals = results.run.totals
    scored = totals.passed + totals.failed
    latencies = measured_latencies(results.records)
    cases = totals.cases
    if branch is None and results.run.git is not None:
        branch = results.run.git.branch
    return IndexEntry(
        commit=commit,
        branch=branch,
        tag=tag,
        created_at=_created_at(results),
        path=path,
        size=size,
        pass_rate=round(totals.passed / scored, 6) if scored else None,
        latency_p50_ms=round(percentile(latencies, 50), 3) if latencies else None,
        latency_p95_ms=round(percentile(latencies, 95), 3) if latencies else None,
        cost_per_case_usd=round(totals.cost_usd / cases, 8) if cases else None,
    )


def upsert(entries: Iterable[IndexEntry], entry: IndexEntry) -> list[IndexEntry]:
    """``entries`` with ``entry`` replacing any entry of the same commit, oldest first."""
    kept = [e for e in entries if e.commit != entry.commit]
    kept.append(entry)
    return sorted(kept, key=lambda e: (e.created_at, e.commit))


def without(entries: Iterable[IndexEntry], commits: Iterable[str]) -> list[IndexEntry]:
    gone = set(commits)
    return [e for e in entries if e.commit not in gone]


def index_to_bytes(suite: str, entries: Iterable[IndexEntry]) -> bytes:
    ordered = sorted(entries, key=lambda e: (e.created_at, e.commit))
    doc = {
        "format": INDEX_FORMAT,
        "version": INDEX_VERSION,
        "suite": suite,
        "entries": [asdict(e) for e in ordered],
    }
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _opt(raw: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(key)
    return value


def _entry(raw: Any) -> IndexEntry:
    if not isinstance(raw, Mapping):
        raise ValueError("entry")
    commit, created, path, size = (
        raw.get("commit"),
        raw.get("created_at"),
        raw.get("path"),
        raw.get("size"),
    )
    if not (isinstance(commit, str) and isinstance(created, str) and isinstance(path, str)):
        raise ValueError("entry")
    if isinstance(size, bool) or not isinstance(size, int):
        raise ValueError("size")
    number = (int, float)
    return IndexEntry(
        commit=commit,
        branch=_opt(raw, "branch", str),
        tag=_opt(raw, "tag", str),
        created_at=created,
        path=path,
        size=size,
        pass_rate=_opt(raw, "pass_rate", number),
        latency_p50_ms=_opt(raw, "latency_p50_ms", number),
        latency_p95_ms=_opt(raw, "latency_p95_ms", number),
        cost_per_case_usd=_opt(raw, "cost_per_case_usd", number),
    )


def parse_index(data: bytes | None, suite: str) -> list[IndexEntry] | None:
    """The entries of an index file, or None when it is missing, damaged or of another version
    (the caller then rebuilds it from the baseline files)."""
    if data is None:
        return None
    try:
        doc = json.loads(data.decode("utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != INDEX_FORMAT:
            return None
        if doc.get("version") != INDEX_VERSION or doc.get("suite") != suite:
            return None
        raw_entries = doc.get("entries")
        if not isinstance(raw_entries, list):
            return None
        return [_entry(raw) for raw in raw_entries]
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
