"""Assertion outcomes of both runs, paired per assertion (or per layer), case and sample.

Every assertion outcome of a record scored on both sides becomes one row of flat arrays, so a
run of 100,000 cases x 3 samples x a few assertions is paired with a handful of numpy
operations instead of a loop over a million Python objects. A unit is an assertion name or a
layer: for a layer, a sample passes when every assertion of that layer passed in it.

Rows are paired on (unit, case, sample); the result has one row per (unit, case) with the share
of paired samples that passed on each side.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from operator import attrgetter

import numpy as np

from ci_gate.compare.pairing import Bools, Floats, Ints, Pairing, RunArrays
from ci_gate.results.model import AssertionOutcome

_NONE = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Flat:
    """One row per assertion outcome: its record, position in the record, codes and result."""

    record: Ints
    pos: Ints
    name: Ints
    layer: Ints
    passed: Floats  # 1.0 or 0.0


@dataclass(frozen=True)
class Paired:
    """One row per (unit, case) seen on both sides, sorted by unit then case."""

    unit: Ints
    case: Ints
    base_rate: Floats
    head_rate: Floats
    head_row: Ints  # a row of the head Flat: the first failing sample's when one failed

    def units(self) -> list[tuple[int, slice]]:
        """``(unit code, slice of rows)`` for each unit present."""
        if not self.unit.size:
            return []
        starts = np.flatnonzero(np.r_[True, self.unit[1:] != self.unit[:-1]])
        ends = np.r_[starts[1:], self.unit.size]
        return [
            (int(self.unit[s]), slice(int(s), int(e)))
            for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
        ]


@dataclass(frozen=True)
class Outcomes:
    names: tuple[str, ...]  # assertion name by code
    layers: tuple[str, ...]  # layer by code
    base: Flat
    head: Flat
    by_name: Paired
    by_layer: Paired


def _code(values: list[str], codes: dict[str, int]) -> Ints:
    for value in dict.fromkeys(values):
        codes.setdefault(value, len(codes))
    return np.fromiter(map(codes.__getitem__, values), np.int64, len(values))


def _flatten(
    arrays: RunArrays, scored: Bools, names: dict[str, int], layers: dict[str, int]
) -> Flat:
    """Every assertion outcome of the scored records, one field at a time.

    One ``map`` per field over a flat list is the cheapest way through a million outcomes in
    Python (building a tuple per outcome costs more than reading three fields separately).
    """
    lists = list(map(attrgetter("assertions"), arrays.records))
    lengths = np.fromiter(map(len, lists), np.int64, len(lists))
    outcomes = list(chain.from_iterable(lists))
    count = len(outcomes)
    starts = np.cumsum(lengths) - lengths
    record = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
    keep = scored[record]
    name, layer, passed = _fields(outcomes, names, layers)
    return Flat(
        record=record[keep],
        pos=(np.arange(count, dtype=np.int64) - np.repeat(starts, lengths))[keep],
        name=name[keep],
        layer=layer[keep],
        passed=passed[keep],
    )


def _fields(
    outcomes: list[AssertionOutcome], names: dict[str, int], layers: dict[str, int]
) -> tuple[Ints, Ints, Floats]:
    """Each outcome's name code, layer code, and 1.0 when it passed.

    A file's equal outcomes are one shared object (the results reader builds each once), so
    the fields are read once per distinct object when there are few: numbering objects by
    ``id`` is half the time of reading three fields of each outcome. The codes are the same
    either way: the first outcome of each name is also the first object of that name.
    """
    count = len(outcomes)
    distinct = dict(zip(map(id, outcomes), outcomes, strict=True))  # all alive: unique ids
    if len(distinct) * 2 > count:
        return (
            _code(list(map(attrgetter("name"), outcomes)), names),
            _code(list(map(attrgetter("layer"), outcomes)), layers),
            np.fromiter(map(attrgetter("passed"), outcomes), np.float64, count),
        )
    keys = np.fromiter(distinct, np.intp, len(distinct))
    order = np.argsort(keys)
    which = order[np.searchsorted(keys[order], np.fromiter(map(id, outcomes), np.intp, count))]
    objects = list(distinct.values())
    return (
        _code([o.name for o in objects], names)[which],
        _code([o.layer for o in objects], layers)[which],
        np.array([o.passed for o in objects], dtype=np.float64).reshape(-1)[which],
    )


def _scored_mask(size: int, rows: Ints, valid: Bools) -> Bools:
    mask = np.zeros(size, dtype=np.bool_)
    mask[rows[valid]] = True
    return mask


def _cells(keys: Ints, passed: Floats) -> tuple[Ints, Floats, Ints]:
    """Unique cell keys, whether every row of the cell passed, and one row per cell.

    The row kept is a failing one when the cell failed (rows are sorted failing first).
    """
    if not keys.size:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0), empty
    order = np.lexsort((passed, keys))
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    return sorted_keys[starts], np.minimum.reduceat(passed[order], starts), order[starts]


def _pair_cells(
    base: tuple[Ints, Floats, Ints], head: tuple[Ints, Floats, Ints], columns: int, cases: int
) -> Paired:
    keys, ib, ih = np.intersect1d(base[0], head[0], assume_unique=True, return_indices=True)
    if not keys.size:
        empty = np.zeros(0, dtype=np.int64)
        return Paired(empty, empty, np.zeros(0), np.zeros(0), empty)
    unit_case = keys // columns
    starts = np.flatnonzero(np.r_[True, unit_case[1:] != unit_case[:-1]])
    counts = np.diff(np.r_[starts, keys.size])
    base_pass, head_pass = base[1][ib], head[1][ih]
    positions = np.arange(keys.size, dtype=np.int64)
    first_fail = np.minimum.reduceat(np.where(head_pass == 0.0, positions, _NONE), starts)
    chosen = np.where(first_fail != _NONE, first_fail, starts)
    return Paired(
        unit=unit_case[starts] // cases,
        case=unit_case[starts] % cases,
        base_rate=np.add.reduceat(base_pass, starts) / counts,
        head_rate=np.add.reduceat(head_pass, starts) / counts,
        head_row=head[2][ih][chosen],
    )


def _keys(flat: Flat, units: Ints, arrays: RunArrays, cases: int, columns: int) -> Ints:
    case = arrays.case[flat.record]
    col = arrays.col[flat.record]
    return (units * cases + case) * columns + col


def _dense_pair(
    base: tuple[Ints, Floats], head: tuple[Ints, Floats], size: int, columns: int, cases: int
) -> Paired:
    """Pair cells through arrays indexed by cell key: no sort at all (keys fit in memory)."""
    (b_keys, b_passed), (h_keys, h_passed) = base, head
    b_present = np.bincount(b_keys, minlength=size) > 0
    b_failed = np.bincount(b_keys, weights=1.0 - b_passed, minlength=size) > 0
    h_present = np.bincount(h_keys, minlength=size) > 0
    h_failed = np.bincount(h_keys, weights=1.0 - h_passed, minlength=size) > 0
    both = (b_present & h_present).reshape(-1, columns)
    counts = both.sum(axis=1)
    index = np.flatnonzero(counts)
    both, counts = both[index], counts[index]
    b_pass = both & ~b_failed.reshape(-1, columns)[index]
    h_fail = both & h_failed.reshape(-1, columns)[index]
    # The head row shown for a (unit, case): its first failing sample's, else its first sample's.
    if columns == 1:  # one sample per case: it is both (argmax over one column is slow)
        column = np.zeros(index.size, dtype=np.int64)
    else:
        column = np.where(h_fail.any(axis=1), np.argmax(h_fail, axis=1), np.argmax(both, axis=1))
    wanted = index * columns + column
    row = np.full(size, -1, dtype=np.int64)
    failing = h_passed == 0.0
    # Fancy assignment keeps the last write per key: reversed order keeps each cell's first
    # row, and failing rows are written last so that they win.
    for rows_of_kind in (np.flatnonzero(~failing)[::-1], np.flatnonzero(failing)[::-1]):
        row[h_keys[rows_of_kind]] = rows_of_kind
    return Paired(
        unit=index // cases,
        case=index % cases,
        base_rate=b_pass.sum(axis=1) / counts,
        head_rate=(both & ~h_fail).sum(axis=1) / counts,
        head_row=row[wanted],
    )


def paired_outcomes(pairing: Pairing, *, dense_limit: int = 1 << 23) -> Outcomes:
    """Flatten both runs' assertion outcomes and pair them by assertion name and by layer.

    Cells are paired through dense arrays when there are at most ``dense_limit`` possible cell
    keys (units x cases x sample columns), else by sorting; both give the same result.
    """
    names: dict[str, int] = {}
    layers: dict[str, int] = {}
    base, head = (
        _flatten(arrays, _scored_mask(len(arrays.records), rows, pairing.valid), names, layers)
        for arrays, rows in ((pairing.base, pairing.base_rows), (pairing.head, pairing.head_rows))
    )
    cases = max(1, len(pairing.case_ids))
    columns = int(pairing.valid.shape[1]) if pairing.valid.ndim == 2 else 1
    by: list[Paired] = []
    for unit, count in (("name", len(names)), ("layer", len(layers))):
        keys = [
            _keys(flat, getattr(flat, unit), arrays, cases, columns)
            for flat, arrays in ((base, pairing.base), (head, pairing.head))
        ]
        size = max(1, count) * cases * columns
        if size <= dense_limit:
            by.append(
                _dense_pair((keys[0], base.passed), (keys[1], head.passed), size, columns, cases)
            )
        else:
            cells = [_cells(k, flat.passed) for k, flat in zip(keys, (base, head), strict=True)]
            by.append(_pair_cells(cells[0], cells[1], columns, cases))
    return Outcomes(
        names=tuple(names),
        layers=tuple(layers),
        base=base,
        head=head,
        by_name=by[0],
        by_layer=by[1],
    )


def subset(paired: Paired, mask: Bools) -> Paired:
    return Paired(
        unit=paired.unit[mask],
        case=paired.case[mask],
        base_rate=paired.base_rate[mask],
        head_rate=paired.head_rate[mask],
        head_row=paired.head_row[mask],
    )
