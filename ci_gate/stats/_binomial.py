"""Binomial tail probabilities shared by the McNemar test and the percentile intervals.

Two tools, both free of overflow for any n a test run can produce:

* ``half_binomial_cdf(k, n)``: P(X <= k) for X ~ Binomial(n, 1/2). Exact integer arithmetic up
  to ``EXACT_LIMIT`` trials (the answer is the correctly rounded float of the exact fraction);
  beyond it, a sum in log space whose relative error is below 1e-8 even at n = 10^7.
* ``binomial_tables(n, p)``: P(X <= k) and P(X > k) for every k, for the order-statistic
  intervals on percentiles.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

# Up to here the exact sum of binomial coefficients costs a few milliseconds at most.
EXACT_LIMIT = 5000

# Terms smaller than this fraction of the running sum no longer change a float64 result.
_NEGLIGIBLE = 1e-18


def half_binomial_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    if n < 0:
        raise ValueError(f"number of trials must be >= 0, got {n}")
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if 2 * k >= n:
        # The upper part of the distribution: by symmetry sum the smaller tail, whose value is
        # below one half, so the subtraction loses nothing that matters.
        return 1.0 - half_binomial_cdf(n - k - 1, n)
    if n <= EXACT_LIMIT:
        return _exact_lower_tail(k, n)
    return _log_space_lower_tail(k, n)


def _exact_lower_tail(k: int, n: int) -> float:
    term = 1  # C(n, 0)
    total = 1
    for i in range(k):
        term = term * (n - i) // (i + 1)
        total += term
    # int / int is correctly rounded in Python, however large both are.
    return total / (1 << n)


def _log_space_lower_tail(k: int, n: int) -> float:
    # Largest term first (k < n/2, so terms shrink going down), then relative terms by the
    # ratio C(n, i-1) / C(n, i) = i / (n - i + 1) until they stop mattering.
    log_top = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * math.log(2.0)
    relative_sum = 1.0
    relative_term = 1.0
    for i in range(k, 0, -1):
        relative_term *= i / (n - i + 1)
        relative_sum += relative_term
        if relative_term < _NEGLIGIBLE * relative_sum:
            break
    return math.exp(log_top + math.log(relative_sum))


def binomial_tables(n: int, p: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return ``(cdf, sf)`` with ``cdf[k] = P(X <= k)`` and ``sf[k] = P(X > k)``, k = 0..n.

    X ~ Binomial(n, p) with 0 < p < 1. The probabilities are built from the log of the most
    likely term (via lgamma) and cumulative sums of log ratios outwards, so nothing overflows or
    underflows near the bulk; the two tails are summed separately so each is accurate in
    absolute terms near 0.
    """
    if n < 1:
        raise ValueError(f"number of trials must be >= 1, got {n}")
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be strictly between 0 and 1, got {p}")
    mode = min(n, math.floor((n + 1) * p))
    log_mode = (
        math.lgamma(n + 1)
        - math.lgamma(mode + 1)
        - math.lgamma(n - mode + 1)
        + mode * math.log(p)
        + (n - mode) * math.log1p(-p)
    )
    j = np.arange(1, n + 1, dtype=np.float64)
    # step[j - 1] = log(pmf(j) / pmf(j - 1))
    step = np.log((n - j + 1) / j) + (math.log(p) - math.log1p(-p))
    log_pmf = np.empty(n + 1, dtype=np.float64)
    log_pmf[mode] = log_mode
    log_pmf[mode + 1 :] = log_mode + np.cumsum(step[mode:])
    log_pmf[:mode] = log_mode - np.cumsum(step[:mode][::-1])[::-1]
    pmf = np.exp(log_pmf)
    cdf = np.minimum(np.cumsum(pmf), 1.0)
    sf = np.zeros(n + 1, dtype=np.float64)
    sf[:-1] = np.minimum(np.cumsum(pmf[::-1])[::-1][1:], 1.0)
    return cdf, sf
