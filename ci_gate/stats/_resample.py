"""Resampling engines behind ``bootstrap.py``: bootstrap replicates and sign-flip totals.

Both work on resampling units (cases, or clusters of cases) described by the sum of their
per-case differences and their number of cases. Both use counts over the distinct unit values
when there are few of them, which gives exactly the same distribution as drawing units one by
one, at a cost independent of the number of units. Otherwise they draw units or signs in blocks
of about a million entries, so memory stays within about 40 MB whatever the input size
(replicates drawn by index keep two blocks in flight: one is summed while the next is drawn).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

from ci_gate.stats._binomial import half_binomial_cdf

# Entries (replicates x units) generated at once in the blockwise paths.
_BLOCK = 1 << 20
# Up to this many distinct values, counts are always cheaper than index draws; past it, counts
# win only while there are many units per distinct value.
_FEW_VALUES = 64
_MAX_VALUES = 4096
# Up to 2**16 sign assignments are enumerated exactly.
_EXACT_SIGN_UNITS = 16


def cluster_sums(
    diffs: NDArray[np.float64], codes: NDArray[np.int64] | None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-unit ``(sum of differences, number of cases)``; every case is a unit without codes."""
    if codes is None:
        return diffs, np.ones(diffs.size, dtype=np.float64)
    sums = np.bincount(codes, weights=diffs).astype(np.float64)
    sizes = np.bincount(codes).astype(np.float64)
    return sums, sizes


def _distinct_pairs(
    sums: NDArray[np.float64], sizes: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """The distinct ``(sum, size)`` pairs in ascending order, and how often each occurs.

    What ``np.unique`` of the stacked pairs along axis 0 returns, through integer keys: numpy
    sorts rows as records there, ten times slower (18 ms for 37,000 groups), and this runs once
    per grouped metric. Sums come from ``np.bincount``, so never -0.0, and the two ways group
    equal values alike.
    """
    sum_values, size_values = np.unique(sums), np.unique(sizes)
    at_sum, at_size = np.searchsorted(sum_values, sums), np.searchsorted(size_values, sizes)
    keys = at_sum * size_values.size + at_size
    space = sum_values.size * size_values.size
    if space <= 4 * keys.size:  # counting every possible key is quicker than sorting
        counts = np.bincount(keys, minlength=space)
        present = np.flatnonzero(counts)
        keys, counts = present, counts[present]
    else:
        keys, counts = np.unique(keys, return_counts=True)
    return sum_values[keys // size_values.size], size_values[keys % size_values.size], counts


def _use_counts(distinct: int, units: int) -> bool:
    return distinct <= _FEW_VALUES or (distinct <= _MAX_VALUES and distinct * 16 <= units)


def ratio_replicates(
    sums: NDArray[np.float64],
    sizes: NDArray[np.float64],
    resamples: int,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Bootstrap replicates of ``sum(sums) / sum(sizes)`` over units drawn with replacement."""
    units = int(sums.size)
    equal_sizes = bool(np.all(sizes == sizes[0]))
    size_values: NDArray[np.float64] | None
    if equal_sizes:
        values, counts = np.unique(sums, return_counts=True)
        size_values = None
    else:
        values, size_values, counts = _distinct_pairs(sums, sizes)
    fixed_total = units * float(sizes[0])
    out = np.empty(resamples, dtype=np.float64)

    if _use_counts(int(values.size), units):
        probs = counts / units
        rows = max(1, _BLOCK // int(values.size))
        for start in range(0, resamples, rows):
            k = min(rows, resamples - start)
            draws = rng.multinomial(units, probs, size=k).astype(np.float64)
            totals = draws @ values
            out[start : start + k] = totals / (
                fixed_total if size_values is None else draws @ size_values
            )
        return out

    # Sums and sizes are gathered in one call (each row still summed on its own, in order).
    columns = sums[None, :] if equal_sizes else np.stack([sums, sizes])

    def replicate(start: int, picks: NDArray[np.int64]) -> None:
        totals = np.take(columns, picks, axis=1).sum(axis=2)
        out[start : start + picks.shape[0]] = totals[0] / (
            fixed_total if equal_sizes else totals[1]
        )

    rows = max(1, _BLOCK // units)
    if rows >= resamples:
        replicate(0, rng.integers(0, units, size=(resamples, units), dtype=np.int64))
        return out
    # Drawing the indices takes half the time and must stay in order (one generator), but each
    # block's sums are independent of the others': a helper thread sums a block while the next
    # one is drawn. Both release the GIL. The blocks' size does not change the draws.
    with ThreadPoolExecutor(max_workers=1) as helper:
        pending: Future[None] | None = None
        for start in range(0, resamples, rows):
            k = min(rows, resamples - start)
            picks = rng.integers(0, units, size=(k, units), dtype=np.int64)
            if pending is not None:
                pending.result()
            pending = helper.submit(replicate, start, picks)
        if pending is not None:
            pending.result()
    return out


def sign_flip_p_value(sums: NDArray[np.float64], resamples: int, rng: np.random.Generator) -> float:
    """Two-sided p-value: share of sign assignments whose |total| reaches the observed |total|.

    Units with a zero sum cannot change the total and are left out. When all other units have
    the same magnitude (pass/fail without groups) the count of positive signs is binomial and
    the p-value is the exact McNemar one; with at most 16 units all assignments are enumerated;
    otherwise ``resamples`` random assignments give ``(1 + hits) / (1 + resamples)``.
    """
    magnitudes = np.abs(sums[sums != 0.0])
    units = int(magnitudes.size)
    if units == 0:
        return 1.0
    if bool(np.all(magnitudes == magnitudes[0])):
        positive = int(np.count_nonzero(sums > 0.0))
        return min(1.0, 2.0 * half_binomial_cdf(min(positive, units - positive), units))
    # Totals computed in another order may differ from the observed one in the last bits; count
    # those as reaching it, which errs towards larger (more cautious) p-values.
    threshold = abs(float(np.sum(sums))) - 1e-9 * float(np.sum(magnitudes))

    if units <= _EXACT_SIGN_UNITS:
        patterns = (np.arange(1 << units)[:, None] >> np.arange(units)) & 1
        totals = (2 * patterns - 1).astype(np.float64) @ magnitudes
        return min(1.0, np.count_nonzero(np.abs(totals) >= threshold) / (1 << units))

    values, counts = np.unique(magnitudes, return_counts=True)
    hits = 0
    if _use_counts(int(values.size), units):
        rows = max(1, _BLOCK // int(values.size))
        for start in range(0, resamples, rows):
            k = min(rows, resamples - start)
            positives = rng.binomial(counts, 0.5, size=(k, values.size))
            totals = (2 * positives - counts).astype(np.float64) @ values
            hits += int(np.count_nonzero(np.abs(totals) >= threshold))
    else:
        rows = max(1, _BLOCK // units)
        grand = float(np.sum(magnitudes))
        for start in range(0, resamples, rows):
            k = min(rows, resamples - start)
            random_bytes = rng.integers(0, 256, size=(k, (units + 7) // 8), dtype=np.uint8)
            positive_signs = np.unpackbits(random_bytes, axis=1, count=units).astype(np.float64)
            totals = 2.0 * (positive_signs @ magnitudes) - grand
            hits += int(np.count_nonzero(np.abs(totals) >= threshold))
    return min(1.0, (1 + hits) / (1 + resamples))
