"""Latency percentiles (p50, p95, p99) with intervals, and their change from base to head.

Percentiles use ``q`` in percent (95 means p95) and linear interpolation between the two nearest
sorted values, as numpy does by default, so numbers match what users get from numpy or pandas.

Two kinds of interval:

* ``percentile_ci``: for one run. Distribution-free: it picks two sorted sample values (order
  statistics) whose ranks make the interval contain the true percentile with at least the
  requested probability, whatever the shape of the latency distribution. It needs enough
  samples: a one-sided 95% upper bound on p95 needs at least 59 values, because with 58 values
  there is still a 5.1% chance that all of them fall below the true p95. When a bound cannot be
  had, it is None and ``note`` says how many samples are needed.
* ``quantile_delta``: head vs base. Latency samples are not reliably paired by case (caching,
  retries, load), so the two runs are resampled independently (bootstrap) and the interval is
  taken on the difference and on the ratio of their percentiles.

Assumption for both: the samples of a run are independent draws from that run's latency
distribution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ci_gate.stats._binomial import binomial_tables


@dataclass(frozen=True)
class QuantileInterval:
    """Percentile ``q`` of one run, with bounds; a bound is None when there are too few samples.

    With ``two_sided`` the bounds together cover the true percentile with probability at least
    ``confidence``; otherwise each bound on its own is a one-sided bound at ``confidence``.
    """

    q: float
    point: float
    low: float | None
    high: float | None
    n: int
    confidence: float
    two_sided: bool
    note: str | None = None


@dataclass(frozen=True)
class QuantileDelta:
    """Percentile ``q`` of base and head, their difference and ratio, with bootstrap intervals.

    ``difference = head - base``; ``ratio = head / base`` (None when base's percentile is not
    positive). Bounds are None when a side has fewer samples than ``min_samples_for_bound``
    requires, or (for the ratio) when a resampled base percentile is not positive; ``note``
    says which.
    """

    q: float
    base: float
    head: float
    difference: float
    difference_low: float | None
    difference_high: float | None
    ratio: float | None
    ratio_low: float | None
    ratio_high: float | None
    n_base: int
    n_head: int
    confidence: float
    resamples: int
    seed: int
    note: str | None = None


def _as_samples(name: str, values: Sequence[float] | NDArray[np.floating]) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty flat sequence of numbers")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values; drop them first")
    return array


def _check_q(q: float, *, open_interval: bool) -> float:
    if not (0.0 < q < 100.0 if open_interval else 0.0 <= q <= 100.0):
        bounds = "strictly between 0 and 100" if open_interval else "between 0 and 100"
        raise ValueError(f"percentile q must be {bounds} (95 means p95), got {q}")
    return q / 100.0


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")


def percentile(values: Sequence[float] | NDArray[np.floating], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation, as ``numpy.percentile``."""
    _check_q(q, open_interval=False)
    return float(np.percentile(_as_samples("values", values), q))


def _samples_needed(prob: float, miss: float) -> int:
    """Smallest n with ``prob ** n <= miss``: fewer samples cannot bound the percentile."""
    n = max(1, math.ceil(math.log(miss) / math.log(prob)))
    while prob**n > miss:  # guard against rounding in the logarithms
        n += 1
    while n > 1 and prob ** (n - 1) <= miss:
        n -= 1
    return n


def min_samples_for_bound(q: float, confidence: float = 0.95, *, two_sided: bool = False) -> int:
    """Fewest samples for which ``percentile_ci`` returns both bounds.

    For high percentiles the upper bound is the demanding one: p95 needs 59 samples one-sided at
    95% (72 two-sided), p99 needs 299 (368 two-sided).
    """
    p = _check_q(q, open_interval=True)
    _check_confidence(confidence)
    miss = (1.0 - confidence) / 2.0 if two_sided else 1.0 - confidence
    return max(_samples_needed(p, miss), _samples_needed(1.0 - p, miss))


def percentile_ci(
    values: Sequence[float] | NDArray[np.floating],
    q: float,
    confidence: float = 0.95,
    *,
    two_sided: bool = True,
) -> QuantileInterval:
    """Percentile ``q`` of ``values`` with a distribution-free (order-statistic) interval.

    Method: if X is the number of samples at or below the true percentile, X ~ Binomial(n, q/100)
    whatever the latency distribution. The lower bound is the largest sorted value whose rank
    keeps P(bound above the truth) within the allowed miss rate, and the upper bound the smallest
    one keeping P(bound below the truth) within it. The allowed miss rate per bound is
    ``1 - confidence``, halved when ``two_sided``. Ties in the data only make the bounds more
    cautious.
    """
    p = _check_q(q, open_interval=True)
    _check_confidence(confidence)
    samples = np.sort(_as_samples("values", values))
    n = int(samples.size)
    point = float(np.percentile(samples, q))
    miss = (1.0 - confidence) / 2.0 if two_sided else 1.0 - confidence
    cdf, sf = binomial_tables(n, p)
    # Lower bound: sorted value of 1-based rank l exceeds the truth with P(X <= l - 1) = cdf[l - 1].
    low_rank = int(np.count_nonzero(cdf[:n] <= miss))
    # Upper bound: rank u falls below the truth with P(X >= u) = sf[u - 1].
    fits = np.flatnonzero(sf[:n] <= miss)
    high_rank = int(fits[0]) + 1 if fits.size else 0

    reasons = []
    kind = "two-sided" if two_sided else "one-sided"
    level = f"{confidence:.0%} {kind}"
    if low_rank == 0:
        need = _samples_needed(1.0 - p, miss)
        reasons.append(f"a lower bound on p{q:g} at {level} needs >= {need} samples, have {n}")
    if high_rank == 0:
        need = _samples_needed(p, miss)
        reasons.append(f"an upper bound on p{q:g} at {level} needs >= {need} samples, have {n}")
    return QuantileInterval(
        q=q,
        point=point,
        low=float(samples[low_rank - 1]) if low_rank else None,
        high=float(samples[high_rank - 1]) if high_rank else None,
        n=n,
        confidence=confidence,
        two_sided=two_sided,
        note="; ".join(reasons) or None,
    )


def _bootstrap_percentiles(
    sorted_samples: NDArray[np.float64], p: float, resamples: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Percentile ``p`` (0..1) of ``resamples`` bootstrap resamples, without building them.

    A resample of size n drawn with replacement is n uniform indices; its k-th smallest value is
    ``sorted_samples[floor(n * U)]`` where U is the k-th smallest of n uniforms, which follows
    Beta(k, n - k + 1); the next one up is U plus a Beta(1, n - k) share of the gap to 1. Only the
    two order statistics the interpolation needs are drawn, with exactly the distribution that
    full resampling would give them, at a cost independent of n.
    """
    n = int(sorted_samples.size)
    position = (n - 1) * p
    lower = math.floor(position)
    fraction = position - lower
    rank = lower + 1
    u_low = rng.beta(rank, n - rank + 1, size=resamples)
    low_values = sorted_samples[np.minimum((u_low * n).astype(np.int64), n - 1)]
    if fraction == 0.0 or rank >= n:
        return low_values
    u_high = u_low + (1.0 - u_low) * rng.beta(1, n - rank, size=resamples)
    high_values = sorted_samples[np.minimum((u_high * n).astype(np.int64), n - 1)]
    return low_values + fraction * (high_values - low_values)


def quantile_delta(
    base: Sequence[float] | NDArray[np.floating],
    head: Sequence[float] | NDArray[np.floating],
    q: float,
    resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> QuantileDelta:
    """Compare percentile ``q`` of head with base: difference and ratio, with intervals.

    Method: seeded percentile bootstrap, resampling each run independently (latency samples are
    not reliably paired by case). The interval is two-sided at ``confidence``. Intervals are only
    given when each run has at least ``min_samples_for_bound(q, confidence)`` samples: below that
    the bootstrap of a tail percentile just repeats the largest few values and its interval is
    far too narrow.
    """
    p = _check_q(q, open_interval=True)
    _check_confidence(confidence)
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    base_sorted = np.sort(_as_samples("base", base))
    head_sorted = np.sort(_as_samples("head", head))
    base_point = float(np.percentile(base_sorted, q))
    head_point = float(np.percentile(head_sorted, q))
    ratio = head_point / base_point if base_point > 0 else None

    need = min_samples_for_bound(q, confidence)
    bounds: list[float | None] = [None, None, None, None]
    notes = []
    if ratio is None:
        notes.append(f"base p{q:g} is {base_point:g}, so no ratio")
    short = [
        f"{name} has {size}"
        for name, size in (("base", base_sorted.size), ("head", head_sorted.size))
        if size < need
    ]
    if short:
        notes.append(f"intervals on p{q:g} need >= {need} samples per run; " + ", ".join(short))
    else:
        rng = np.random.default_rng(seed)
        base_reps = _bootstrap_percentiles(base_sorted, p, resamples, rng)
        head_reps = _bootstrap_percentiles(head_sorted, p, resamples, rng)
        tails = [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0]
        diff_low, diff_high = np.quantile(head_reps - base_reps, tails)
        bounds[0], bounds[1] = float(diff_low), float(diff_high)
        if ratio is not None and bool(np.all(base_reps > 0)):
            ratio_low, ratio_high = np.quantile(head_reps / base_reps, tails)
            bounds[2], bounds[3] = float(ratio_low), float(ratio_high)
        elif ratio is not None:
            notes.append(f"some resampled base p{q:g} values are 0, so no ratio interval")
    return QuantileDelta(
        q=q,
        base=base_point,
        head=head_point,
        difference=head_point - base_point,
        difference_low=bounds[0],
        difference_high=bounds[1],
        ratio=ratio,
        ratio_low=bounds[2],
        ratio_high=bounds[3],
        n_base=int(base_sorted.size),
        n_head=int(head_sorted.size),
        confidence=confidence,
        resamples=resamples,
        seed=seed,
        note="; ".join(notes) or None,
    )
