"""Exact McNemar test: did pass/fail outcomes change between base and head more than chance?

Only the cases whose outcome differs between the two runs carry information ("discordant pairs"):
``regressed`` cases passed on base and fail on head, ``fixed`` cases failed on base and pass on
head. If the change made no difference, each discordant case is equally likely to have gone either
way, so the number of regressions among the ``n = regressed + fixed`` discordant cases follows a
Binomial(n, 1/2) distribution. The exact test compares the observed split with that distribution;
it needs no large-sample approximation, so it is valid for 3 discordant cases as well as for a
million.

Assumption: cases are independent of each other. When many cases share a context (a group), a
single upstream change can flip them together and this test overstates the evidence; use the
cluster bootstrap in ``bootstrap.py`` for the interval in that situation.
"""

from __future__ import annotations

import operator

from ci_gate.stats._binomial import half_binomial_cdf


def _count(name: str, value: int) -> int:
    """Accept any integer type (numpy counts included), but not bools or floats."""
    if isinstance(value, bool):
        raise ValueError(f"McNemar count {name} must be an int, got bool")
    try:
        count = operator.index(value)
    except TypeError:
        raise ValueError(
            f"McNemar count {name} must be an int, got {type(value).__name__}"
        ) from None
    if count < 0:
        raise ValueError(f"McNemar count {name} must be >= 0, got {count}")
    return count


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs.

    ``p = min(1, 2 * P(X <= min(b, c)))`` with X ~ Binomial(b + c, 1/2); no discordant pairs at
    all gives 1.0. Symmetric in ``b`` and ``c``. Exact for up to 5,000 discordant pairs and
    accurate to better than one part in 10^8 beyond (tested to 10^6).
    """
    b, c = _count("b", b), _count("c", c)
    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, 2.0 * half_binomial_cdf(min(b, c), n))


def mcnemar_exact_worse(regressed: int, fixed: int) -> float:
    """One-sided exact McNemar p-value for "head is worse than base".

    ``regressed``: cases that pass on base and fail on head. ``fixed``: cases that fail on base
    and pass on head. Returns ``P(X >= regressed)`` with X ~ Binomial(regressed + fixed, 1/2):
    the chance of seeing at least this many regressions among the changed cases if the change
    made no difference. Small values mean head really is worse. Use this (not the two-sided
    value) when a gate only blocks on regressions; no discordant pairs gives 1.0.
    """
    regressed, fixed = _count("regressed", regressed), _count("fixed", fixed)
    n = regressed + fixed
    if n == 0:
        return 1.0
    # P(X >= regressed) = P(n - X <= fixed), and n - X has the same distribution as X.
    return half_binomial_cdf(fixed, n)
