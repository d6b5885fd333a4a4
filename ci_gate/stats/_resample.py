"""Resampling engines behind ``bootstrap.py``: bootstrap replicates and sign-flip totals.

Both work on resampling units (cases, or clusters of cases) described by the sum of their
per-case differences and their number of cases. Both use counts over the distinct unit values
when there are few of them, which gives exactly the same distribution as drawing units one by
one, at a cost independent of the number of units. Otherwise they draw units or signs in blocks
of about a million entries, so memory stays around 10 MB whatever the input size.
"""

from __future__ import annotations

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
        pairs, counts = np.unique(np.column_stack([sums, sizes]), axis=0, return_counts=True)
        values, size_values = pairs[:, 0], pairs[:, 1]
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

    rows = max(1, _BLOCK // units)
    for start in range(0, resamples, rows):
        k = min(rows, resamples - start)
        picks = rng.integers(0, units, size=(k, units), dtype=np.int64)
        totals = np.take(sums, picks).sum(axis=1)
        out[start : start + k] = totals / (
            fixed_total if equal_sizes else np.take(sizes, picks).sum(axis=1)
        )
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
