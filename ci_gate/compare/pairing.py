"""Pair the records of two runs by case and sample, and say what makes the runs differ.

Only cases present in both runs with the same per-case fingerprint are compared; cases added,
removed or changed are listed apart and never counted in a metric. Within a compared case, a
sample is used only when it was scored on both sides: a record with an error (a timeout, a 429,
a 5xx) takes its partner on the other side out too, so that a provider failure can never look
like a quality regression. A case with no sample scored on both sides is listed as errored.

Records become numpy columns in a few passes of C-level ``map`` calls, so that everything
downstream works on arrays (100,000 cases x 3 samples per run pair in about half a second).
Cases are matched the same way: one dictionary look-up per case and per record, the rest on
arrays, since each pass of Python code over 50,000 objects costs several milliseconds.
A duplicated (case, sample) record in a hand-edited file: the last one counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import chain, compress, repeat
from operator import attrgetter, eq, is_, is_not

import numpy as np
from numpy.typing import NDArray

from ci_gate.compare.model import Comparability
from ci_gate.results.model import CaseInfo, Record, Results, RunInfo
from ci_gate.stats.bootstrap import Clusters, clusters_from_codes

# Error kinds that mean "never sent" rather than "the provider failed": a budget stop or an
# interruption. A run holding them is incomplete and cannot be compared.
NOT_RUN_KINDS = frozenset({"budget", "interrupted"})

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]


@dataclass(frozen=True)
class RunArrays:
    """One run's records as columns, one entry per record in file order.

    ``case`` indexes ``Pairing.case_ids`` (-1: the record's case is not compared) and ``col``
    the sample columns shared by both runs. Missing numbers are NaN.
    """

    results: Results
    case: Ints
    col: Ints
    ok: Bools  # scored: no error
    not_run: Bools  # an error of a not-run kind
    passed: Floats
    score: Floats
    latency: Floats
    cost: Floats
    input_tokens: Floats
    output_tokens: Floats
    fresh: Bools  # neither cached nor reused: spent in this run

    @property
    def records(self) -> tuple[Record, ...]:
        return self.results.records


@dataclass(frozen=True)
class Pairing:
    """Compared cases and, per case and sample column, the record index on each side."""

    comparability: Comparability
    case_ids: tuple[str, ...]
    infos: tuple[CaseInfo, ...]  # the head run's entry of each compared case
    base: RunArrays
    head: RunArrays
    base_rows: Ints  # (cases, columns): record index into base.records, -1 when absent
    head_rows: Ints
    valid: Bools  # (cases, columns): scored on both sides
    errored: tuple[tuple[str, str], ...]  # (case id, why) of cases left out for errors


# Numeric fields read in one pass: touching each record once is what keeps 600,000 records fast.
_NUMBERS = attrgetter(
    "passed",
    "score",
    "latency_ms",
    "cost_usd",
    "input_tokens",
    "output_tokens",
    "sample",
    "cached",
    "reused",
)


def sorted_distinct(values: Ints) -> Ints:
    """``np.unique(values)`` through a sort: numpy's own goes through a hash table for
    integers, ten times slower on these arrays."""
    ordered = np.sort(values)
    if not ordered.size:
        return ordered
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


def _arrays(results: Results, case: Ints) -> RunArrays:
    """Columns of ``results``' records; ``case``: each record's compared-case index or -1."""
    records = results.records
    n = len(records)
    # None becomes NaN and booleans 0/1; a hand-edited NaN or Infinity is missing as well.
    flat = list(chain.from_iterable(map(_NUMBERS, records)))
    table = np.array(flat, dtype=np.float64).reshape(n, 9)
    numbers = np.where(np.isfinite(table), table, np.nan)
    errors = list(map(attrgetter("error"), records))
    ok = np.fromiter(map(is_, errors, repeat(None)), dtype=np.bool_, count=n)
    not_run = np.zeros(n, dtype=np.bool_)
    for i in np.flatnonzero(~ok).tolist():
        error = errors[i]
        not_run[i] = error is not None and error.kind in NOT_RUN_KINDS
    return RunArrays(
        results=results,
        case=case,
        col=table[:, 6].astype(np.int64),
        ok=ok,
        not_run=not_run,
        passed=numbers[:, 0].copy(),
        score=numbers[:, 1].copy(),
        latency=numbers[:, 2].copy(),
        cost=numbers[:, 3].copy(),
        input_tokens=numbers[:, 4].copy(),
        output_tokens=numbers[:, 5].copy(),
        fresh=(table[:, 7] == 0) & (table[:, 8] == 0),
    )


@dataclass(frozen=True)
class _Cases:
    """Every case of a run: its case entries in file order, then, sorted, the case ids that
    only its records name (those have no fingerprint), and the position of each record's case."""

    ids: list[str]
    prints: list[str | None]
    of_record: Ints

    def positions(self) -> dict[str, int]:
        return dict(zip(self.ids, range(len(self.ids)), strict=True))


def _in_case_order(ids: list[str], record_ids: list[str]) -> Ints | None:
    """Each record's case position when the records are the cases' in order, the same number
    of them each (as ``ci-gate run`` writes them); None otherwise. Comparing lists of strings
    is ten times quicker than looking each one up."""
    if not ids or len(record_ids) % len(ids):
        return None
    per_case = len(record_ids) // len(ids)
    if all(record_ids[j::per_case] == ids for j in range(per_case)):
        return np.arange(len(record_ids), dtype=np.int64) // per_case
    return None


def _cases(results: Results) -> _Cases:
    ids = list(results.cases)
    prints: list[str | None] = list(map(attrgetter("fingerprint"), results.cases.values()))
    record_ids = list(map(attrgetter("case_id"), results.records))
    in_order = _in_case_order(ids, record_ids)
    if in_order is not None:
        return _Cases(ids, prints, in_order)
    position = dict(zip(ids, range(len(ids)), strict=True))
    of_record = np.fromiter(map(position.get, record_ids, repeat(-1)), np.int64, len(record_ids))
    strays = np.flatnonzero(of_record < 0).tolist()
    if strays:
        named = sorted({record_ids[i] for i in strays})
        position.update(zip(named, range(len(ids), len(ids) + len(named)), strict=True))
        ids += named
        prints += [None] * len(named)
        of_record[strays] = [position[record_ids[i]] for i in strays]
    return _Cases(ids, prints, of_record)


def _changed_prompts(base: RunInfo, head: RunInfo) -> tuple[str, ...]:
    a, b = base.fingerprint.prompts, head.fingerprint.prompts
    return tuple(sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)))


def _run_problems(side: str, run: RunInfo, arrays: RunArrays) -> list[str]:
    if run.status != "complete":
        why = f": {run.stop_reason}" if run.stop_reason else ""
        return [
            f"the {side} run is {run.status.replace('_', ' ')}{why}; compare complete runs only "
            f"(rerun `ci-gate run` to finish it)"
        ]
    count = int(arrays.not_run.sum())
    if count:
        return [
            f"{count} {side} record(s) were never run (budget or interruption); "
            "rerun `ci-gate run` to finish the run"
        ]
    return []


def _grid(arrays: RunArrays, cases: int, columns: int) -> Ints:
    rows = np.full((cases, columns), -1, dtype=np.int64)
    mine = np.flatnonzero(arrays.case >= 0)
    rows[arrays.case[mine], arrays.col[mine]] = mine
    return rows


def _scored(arrays: RunArrays, rows: Ints) -> Bools:
    """Cells holding a record that was scored (no error, and a pass/fail recorded)."""
    safe = np.maximum(rows, 0)
    good = arrays.ok & ~np.isnan(arrays.passed)
    return np.asarray((rows >= 0) & good[safe], dtype=np.bool_)


def _why_errored(pairing_rows: tuple[Ints, Ints], arrays: tuple[RunArrays, RunArrays]) -> str:
    """One line saying which side failed for a case with no sample scored on both sides."""
    parts = []
    for side, rows, run in zip(("base", "head"), pairing_rows, arrays, strict=True):
        present = rows[rows >= 0]
        failed = [int(i) for i in present if not run.ok[i]]
        if not present.size:
            parts.append(f"{side}: no records")
        elif failed:
            err = run.records[failed[0]].error
            assert err is not None
            parts.append(f"{side}: {len(failed)} of {present.size} sample(s) errored ({err.kind})")
    return "; ".join(parts) or "no sample was scored on both sides"


def pair(base: Results, head: Results) -> Pairing:
    """Pair ``base`` and ``head`` by case and sample; see the module docstring for the rules."""
    b, h = _cases(base), _cases(head)
    # Each head case's position among the base cases (-1: none), and whether it has the same
    # fingerprint there (a position of -1 reads a sentinel that equals nothing).
    base_prints: Sequence[object]
    if h.ids == b.ids:  # the same cases in the same order: no look-up needed
        in_base = np.arange(len(h.ids), dtype=np.int64)
        base_prints = b.prints
    else:
        in_base = np.fromiter(map(b.positions().get, h.ids, repeat(-1)), np.int64, len(h.ids))
        sentinel = [*b.prints, object()]
        base_prints = list(map(sentinel.__getitem__, in_base.tolist()))
    same = np.fromiter(map(eq, h.prints, base_prints), np.bool_, len(h.ids))
    shared = in_base >= 0
    printed = np.fromiter(map(is_not, h.prints, repeat(None)), np.bool_, len(h.ids))
    is_candidate = same & printed  # the sentinel is never equal: implies shared
    in_head = np.zeros(len(b.ids), dtype=np.bool_)
    in_head[in_base[shared]] = True
    added = tuple(compress(h.ids, (~shared).tolist()))
    removed = tuple(compress(b.ids, (~in_head).tolist()))
    changed = list(compress(h.ids, (shared & ~is_candidate).tolist()))
    candidates = list(compress(h.ids, is_candidate.tolist()))

    at = np.flatnonzero(is_candidate)
    head_index = np.full(len(h.ids), -1, dtype=np.int64)
    head_index[at] = np.arange(at.size)
    base_index = np.full(len(b.ids), -1, dtype=np.int64)
    base_index[in_base[at]] = np.arange(at.size)
    base_arrays = _arrays(base, base_index[b.of_record])
    head_arrays = _arrays(head, head_index[h.of_record])
    # Sample numbers become shared columns (numbers need not be 0..repeats-1 in a hand-made file).
    samples = sorted_distinct(
        np.concatenate(
            [base_arrays.col[base_arrays.case >= 0], head_arrays.col[head_arrays.case >= 0]]
        )
    )
    base_arrays = replace(base_arrays, col=np.searchsorted(samples, base_arrays.col))
    head_arrays = replace(head_arrays, col=np.searchsorted(samples, head_arrays.col))
    columns = max(1, int(samples.size))
    base_rows = _grid(base_arrays, len(candidates), columns)
    head_rows = _grid(head_arrays, len(candidates), columns)
    valid = _scored(base_arrays, base_rows) & _scored(head_arrays, head_rows)

    keep = valid.any(axis=1)
    errored = tuple(
        (candidates[i], _why_errored((base_rows[i], head_rows[i]), (base_arrays, head_arrays)))
        for i in np.flatnonzero(~keep)
    )
    new_index = np.where(keep, np.cumsum(keep) - 1, -1)

    def reindex(arrays: RunArrays) -> RunArrays:
        if not new_index.size:
            return replace(arrays, case=np.full_like(arrays.case, -1))
        mapped = np.where(arrays.case >= 0, new_index[np.maximum(arrays.case, 0)], -1)
        return replace(arrays, case=mapped)

    kept: list[bool] = np.asarray(keep, dtype=np.bool_).tolist()
    case_ids = tuple(compress(candidates, kept))
    # Strays (cases with no entry) have no fingerprint, so every candidate has an entry.
    infos = tuple(compress(map(list(head.cases.values()).__getitem__, at.tolist()), kept))
    comparability = _comparability(
        base, head, base_arrays, head_arrays, added, removed, tuple(changed), case_ids, errored
    )
    return Pairing(
        comparability=comparability,
        case_ids=case_ids,
        infos=infos,
        base=reindex(base_arrays),
        head=reindex(head_arrays),
        base_rows=base_rows[keep],
        head_rows=head_rows[keep],
        valid=valid[keep],
        errored=errored,
    )


def _comparability(
    base: Results,
    head: Results,
    base_arrays: RunArrays,
    head_arrays: RunArrays,
    added: tuple[str, ...],
    removed: tuple[str, ...],
    changed: tuple[str, ...],
    compared: tuple[str, ...],
    errored: tuple[tuple[str, str], ...],
) -> Comparability:
    b, h = base.run, head.run
    reasons: list[str] = []
    different_suite = b.suite_name != h.suite_name
    if different_suite:
        reasons.append(
            f"the runs are of different suites (base {b.suite_name!r}, head {h.suite_name!r}); "
            "compare runs of the same suite"
        )
    reasons += _run_problems("base", b, base_arrays)
    reasons += _run_problems("head", h, head_arrays)
    if not compared:
        reasons.append(
            "no case could be paired: "
            f"{len(added)} added, {len(removed)} removed, {len(changed)} changed, "
            f"{len(errored)} errored on a side; the runs share no case with the same definition"
        )
    fb, fh = b.fingerprint, h.fingerprint
    return Comparability(
        added=added,
        removed=removed,
        changed=changed,
        compared=len(compared),
        prompts_changed=_changed_prompts(b, h),
        target_changed=fb.target != fh.target,
        assertions_changed=fb.assertions != fh.assertions,
        repeats_changed=fb.repeats != fh.repeats,
        prices_changed=fb.prices != fh.prices,
        different_suite=different_suite,
        comparable=not reasons,
        reasons=tuple(reasons),
    )


@dataclass(frozen=True)
class Groups:
    """The group of each compared case (or of a subset of them), for clustered statistics.

    ``codes`` holds a number per named group and -1 for a case without a group; ``units``
    numbers the resampling clusters as the statistics library does, once for every metric over
    these cases.
    """

    codes: Ints
    units: Clusters

    @classmethod
    def of_codes(cls, codes: Ints) -> Groups:
        return cls(codes, clusters_from_codes(codes))

    @property
    def labels(self) -> list[int | None]:
        """The groups as the statistics library also takes them: None for a case alone."""
        return [None if c < 0 else c for c in self.codes.tolist()]

    def subset(self, index: Ints | None) -> Groups | None:
        """The groups of ``index`` (distinct case indices, ascending); None when no case there
        shares a group, which makes clustering moot."""
        if index is None or index.size == self.codes.size:  # indices are distinct: all cases
            return self
        codes = self.codes[index]
        if not (codes >= 0).any():
            return None
        return Groups.of_codes(codes)

    @property
    def clusters(self) -> int:
        """The number of resampling clusters."""
        return int(self.units.codes.max(initial=-1)) + 1


def groups_of(pairing: Pairing) -> Groups | None:
    """Groups of the compared cases; None when none of them has a group."""
    numbers: dict[str, int] = {}
    codes = [
        -1 if (name := info.group) is None else numbers.setdefault(name, len(numbers))
        for info in pairing.infos
    ]
    if not numbers:
        return None
    return Groups.of_codes(np.array(codes, dtype=np.int64).reshape(-1))
