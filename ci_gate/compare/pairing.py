"""Pair the records of two runs by case and sample, and say what makes the runs differ.

Only cases present in both runs with the same per-case fingerprint are compared; cases added,
removed or changed are listed apart and never counted in a metric. Within a compared case, a
sample is used only when it was scored on both sides: a record with an error (a timeout, a 429,
a 5xx) takes its partner on the other side out too, so that a provider failure can never look
like a quality regression. A case with no sample scored on both sides is listed as errored.

Records become numpy columns in a few passes of C-level ``map`` calls, so that everything
downstream works on arrays (100,000 cases x 3 samples per run pair in about half a second).
A duplicated (case, sample) record in a hand-edited file: the last one counts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import chain, repeat
from operator import attrgetter, is_

import numpy as np
from numpy.typing import NDArray

from ci_gate.compare.model import Comparability
from ci_gate.results.model import Record, Results, RunInfo

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


def _arrays(results: Results, case_ids: list[str], case_index: dict[str, int]) -> RunArrays:
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
    case = np.fromiter(map(case_index.get, case_ids, repeat(-1)), dtype=np.int64, count=n)
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


def _case_fingerprints(results: Results, record_case_ids: list[str]) -> dict[str, str | None]:
    """Every case of a run; a record whose case has no case entry gets no fingerprint."""
    prints: dict[str, str | None] = {cid: info.fingerprint for cid, info in results.cases.items()}
    for cid in sorted(set(record_case_ids).difference(prints)):
        prints[cid] = None
    return prints


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
    base_ids = list(map(attrgetter("case_id"), base.records))
    head_ids = list(map(attrgetter("case_id"), head.records))
    base_prints, head_prints = (
        _case_fingerprints(base, base_ids),
        _case_fingerprints(head, head_ids),
    )
    added = tuple(c for c in head_prints if c not in base_prints)
    removed = tuple(c for c in base_prints if c not in head_prints)
    missing = object()
    candidates = [
        c for c, f in head_prints.items() if f is not None and base_prints.get(c, missing) == f
    ]
    changed = [
        c for c, f in head_prints.items() if c in base_prints and (f is None or base_prints[c] != f)
    ]

    index = {cid: i for i, cid in enumerate(candidates)}
    base_arrays, head_arrays = _arrays(base, base_ids, index), _arrays(head, head_ids, index)
    # Sample numbers become shared columns (numbers need not be 0..repeats-1 in a hand-made file).
    samples = np.unique(
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

    case_ids = tuple(candidates[i] for i in np.flatnonzero(keep).tolist())
    comparability = _comparability(
        base, head, base_arrays, head_arrays, added, removed, tuple(changed), case_ids, errored
    )
    return Pairing(
        comparability=comparability,
        case_ids=case_ids,
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

    ``codes`` holds a number per named group and -1 for a case without a group; ``labels`` is
    the same as the statistics library takes it: None for a case that is a cluster of its own.
    """

    codes: Ints
    labels: list[int | None]

    def subset(self, index: Ints | None) -> Groups | None:
        """The groups of ``index`` (distinct case indices, ascending); None when no case there
        shares a group, which makes clustering moot."""
        if index is None or index.size == self.codes.size:  # indices are distinct: all cases
            return self
        codes = self.codes[index]
        if not (codes >= 0).any():
            return None
        return Groups(codes, [None if c < 0 else c for c in codes.tolist()])

    @property
    def clusters(self) -> int:
        named = self.codes[self.codes >= 0]
        return int(np.unique(named).size + (self.codes < 0).sum())


def groups_of(pairing: Pairing) -> Groups | None:
    """Groups of the compared cases; None when none of them has a group."""
    cases = pairing.head.results.cases
    numbers: dict[str, int] = {}
    codes = [
        -1 if (name := cases[c].group) is None else numbers.setdefault(name, len(numbers))
        for c in pairing.case_ids
    ]
    if not numbers:
        return None
    array = np.array(codes, dtype=np.int64).reshape(-1)
    return Groups(array, [None if c < 0 else c for c in codes])
