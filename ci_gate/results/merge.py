"""Join the results files of a sharded run (``ci-gate run --shard I/N``) into one results file.

The shards of one run are jobs of a CI matrix: they ran the same suite, target and ci-gate on the
same commit, each over its own cases. Merging checks exactly that, then lays the records out as
one unsharded run would have: suite order, totals recomputed, the run's time span.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ci_gate.errors import ResultsFileError
from ci_gate.results.model import CaseInfo, GitInfo, JudgeStatus, Record, Results, RunInfo
from ci_gate.run.shard import Shard, suite_position
from ci_gate.run.totals import totals

_SHOWN_MISSING = 8


@dataclass(frozen=True)
class _Part:
    name: str
    results: Results
    shard: Shard

    @property
    def run(self) -> RunInfo:
        return self.results.run


def merge_results(parts: Sequence[tuple[str, Results]]) -> Results:
    """One results file from all the shards of a run; ``parts`` are (file name, results).

    A single unsharded results file is returned as it is, so that a merge step works whether
    or not the run was sharded. Anything that does not add up is a one-line ``ResultsFileError``
    naming the files concerned.
    """
    if not parts:
        raise ResultsFileError(
            "merge: no results files given (give the results file of every shard)"
        )
    if len(parts) == 1 and parts[0][1].run.shard is None:
        return parts[0][1]
    given = [_part(name, results) for name, results in parts]
    _check_same_run(given)
    ordered = _check_shards(given)
    owner = _check_disjoint(ordered)
    cases, records = _in_suite_order(ordered, owner)
    return Results(run=_merged_run(ordered, cases, records), cases=cases, records=records)


def _part(name: str, results: Results) -> _Part:
    if results.run.shard is None:
        raise ResultsFileError(
            f"{name}: not the results of a shard (its run has no shard); merge joins the "
            "results files of `ci-gate run --shard INDEX/COUNT`, or takes one whole run alone"
        )
    return _Part(name, results, results.run.shard)


def _show(value: object, width: int = 60) -> str:
    """A value from a file, quoted and cut short, so that it stays on one line."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _differ(a: _Part, b: _Part, what: str, va: object, vb: object, fix: str) -> ResultsFileError:
    return ResultsFileError(
        f"{a.name} and {b.name} differ in {what}: {_show(va)} vs {_show(vb)}; {fix}"
    )


_ONE_RUN = "only the shards of one run can be merged"
_SAME_COMMIT = "rerun every shard from the same commit"


@dataclass(frozen=True)
class _Rule:
    what: str
    get: Callable[[RunInfo], object]
    fix: str
    unknown_ok: bool = False  # a None on either side is not a difference


# What must agree between the shards, and why. Whatever is not here is either implied by the suite
# fingerprint (version, provider, model, prices date, per-case hashes) or merged as described in
# ``_merged_run``.
_RULES = (
    _Rule("suite name", lambda r: r.suite_name, _ONE_RUN),
    # The fingerprint covers the cases, prompts, assertions, target and prices: shards that
    # differ here measured different things.
    _Rule("suite fingerprint", lambda r: r.fingerprint.suite, _SAME_COMMIT),
    _Rule("target", lambda r: r.target_id, "run every shard with the same --target"),
    # --repeats overrides the suite without changing its fingerprint.
    _Rule("repeats", lambda r: r.repeats, "run every shard with the same --repeats"),
    _Rule("shard count", lambda r: r.shard and r.shard.count, _ONE_RUN + " (one COUNT)"),
    # The fingerprint leaves the gate section out, and the merged file carries the one gate
    # policy that `compare --policy base` applies: it must be the one every shard ran under.
    _Rule("gate section", lambda r: dict(r.gate), _SAME_COMMIT),
    # Assertions are scored by ci-gate itself: two versions may score the same output apart.
    _Rule("ci-gate version", lambda r: r.ci_gate_version, "run every shard with one ci-gate"),
    # The fingerprint does not cover the application's code (a python or command target):
    # records from two commits are not one measurement.
    _Rule("git commit", lambda r: r.git and r.git.commit, _SAME_COMMIT, unknown_ok=True),
)


def _check_same_run(parts: Sequence[_Part]) -> None:
    first = parts[0]
    for rule in _RULES:
        want = rule.get(first.run)
        for other in parts[1:]:
            got = rule.get(other.run)
            if rule.unknown_ok and (want is None or got is None):
                continue
            if got == want:
                continue
            if rule.what == "gate section":  # name the key, not two whole sections
                key = _first_difference(first.run.gate, other.run.gate)
                gate_a, gate_b = first.run.gate.get(key), other.run.gate.get(key)
                where = f"gate.{key}" if key.isidentifier() else f"gate[{_show(key)}]"
                raise _differ(first, other, where, gate_a, gate_b, rule.fix)
            raise _differ(first, other, rule.what, want, got, rule.fix)


def _first_difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    return next(k for k in sorted(set(a) | set(b), key=str) if a.get(k) != b.get(k))


def _check_shards(parts: Sequence[_Part]) -> list[_Part]:
    """The parts by shard index, once each, all present."""
    count = parts[0].shard.count
    by_index: dict[int, _Part] = {}
    for part in parts:
        earlier = by_index.get(part.shard.index)
        if earlier is not None:
            raise ResultsFileError(
                f"shard {part.shard.describe()} is given twice: {earlier.name} and {part.name} "
                "(give each shard's results file once)"
            )
        by_index[part.shard.index] = part
    missing = [i for i in range(1, count + 1) if i not in by_index]
    if missing:
        shown = ", ".join(f"{i}/{count}" for i in missing[:_SHOWN_MISSING])
        more = f" and {len(missing) - _SHOWN_MISSING} more" if len(missing) > _SHOWN_MISSING else ""
        noun = "shard" if len(missing) == 1 else "shards"
        verb = "is" if len(missing) == 1 else "are"
        given = ", ".join(p.name for p in parts[:_SHOWN_MISSING])
        given += ", ..." if len(parts) > _SHOWN_MISSING else ""
        raise ResultsFileError(
            f"{noun} {shown}{more} {verb} missing from the files given ({given}); give the results "
            "file of every shard (did a shard job fail before uploading its results?)"
        )
    return [by_index[i] for i in range(1, count + 1)]


def _case_ids(results: Results) -> list[str]:
    """The part's cases in its own order; a record without a case entry still counts."""
    return list(dict.fromkeys([*results.cases, *(r.case_id for r in results.records)]))


def _check_disjoint(parts: Sequence[_Part]) -> dict[str, int]:
    """Which part (by position) each case id comes from."""
    owner: dict[str, int] = {}
    for n, part in enumerate(parts):
        for cid in _case_ids(part.results):
            earlier = owner.setdefault(cid, n)
            if earlier != n:
                raise ResultsFileError(
                    f"case {_show(cid)} is in both {parts[earlier].name} and {part.name}; the "
                    "shards of one run never share a case (rerun the shards of one run)"
                )
    return owner


def _in_suite_order(
    parts: Sequence[_Part], owner: Mapping[str, int]
) -> tuple[dict[str, CaseInfo], tuple[Record, ...]]:
    # The suite's case order is the order of the fingerprint's per-case hashes, which every shard
    # carries whole. If it does not name every case, shards interleave: the inverse of select().
    suite_order = parts[0].run.fingerprint.cases
    if all(cid in suite_order for cid in owner):
        position = {cid: k for k, cid in enumerate(suite_order)}
    else:
        position = {
            cid: suite_position(part.shard, k)
            for part in parts
            for k, cid in enumerate(_case_ids(part.results))
        }
    ids = sorted(owner, key=position.__getitem__)
    cases = {
        cid: parts[owner[cid]].results.cases[cid]
        for cid in ids
        if cid in parts[owner[cid]].results.cases
    }
    # A stable sort keeps each case's records in their order (sample order).
    records = sorted(
        (r for part in parts for r in part.results.records),
        key=lambda r: position[r.case_id],
    )
    return cases, tuple(records)


def _merged_run(
    parts: Sequence[_Part], cases: Mapping[str, CaseInfo], records: Sequence[Record]
) -> RunInfo:
    first = parts[0].run
    runs = [p.run for p in parts]
    stopped = next((r for r in runs if r.status != "complete"), None)
    return RunInfo(
        # Checked equal above, or implied by the equal suite fingerprint (version, provider,
        # model, fingerprint, prices date): shard 1's values are everyone's.
        suite_name=first.suite_name,
        suite_version=first.suite_version,
        # The checkout folder may differ between CI machines; it only says where the suite was.
        suite_path=first.suite_path,
        target_id=first.target_id,
        provider=first.provider,
        model=first.model,
        repeats=first.repeats,
        fingerprint=first.fingerprint,
        git=_merged_git(r.git for r in runs),
        ci_gate_version=first.ci_gate_version,
        started_at=_instant([r.started_at for r in runs], latest=False),
        finished_at=_instant([r.finished_at for r in runs], latest=True),
        # The shards ran in parallel: the run took as long as its slowest shard.
        duration_s=max(r.duration_s for r in runs),
        status="complete" if stopped is None else stopped.status,
        stop_reason=None if stopped is None else stopped.stop_reason,
        totals=totals(records, len(cases), sum(r.totals.calls for r in runs)),
        prices_date=first.prices_date,
        gate=first.gate,
        shard=None,
        judges=_merged_judges(runs),
        spec=first.spec,
    )


def _merged_judges(runs: Sequence[RunInfo]) -> tuple[JudgeStatus, ...]:
    """Each shard lists the judged assertions of its own cases: the run had all of them. The
    shards read one calibration file (one commit), so an assertion's status is the same in each."""
    seen: dict[tuple[str, str], JudgeStatus] = {}
    for run in runs:
        for status in run.judges:
            seen.setdefault((status.assertion, status.judge), status)
    return tuple(seen.values())


def _merged_git(gits: Iterable[GitInfo | None]) -> GitInfo | None:
    """The commit (checked equal where known) and branch of the first shard that has them; dirty
    if any shard's work tree was, since then the merged run was not of a clean commit."""
    known = [g for g in gits if g is not None]
    if not known:
        return None
    commit = next((g.commit for g in known if g.commit is not None), None)
    branch = next((g.branch for g in known if g.branch is not None), None)
    dirties = [g.dirty for g in known if g.dirty is not None]
    return GitInfo(commit, branch, any(dirties) if dirties else None)


def _instant(stamps: list[str], *, latest: bool) -> str:
    """The earliest or latest of ISO 8601 timestamps, compared as instants when they all parse."""
    try:
        moments = {stamp: _moment(stamp) for stamp in stamps}
    except ValueError:
        return max(stamps) if latest else min(stamps)  # hand-edited: text order is all there is
    return max(stamps, key=moments.__getitem__) if latest else min(stamps, key=moments.__getitem__)


def _moment(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
