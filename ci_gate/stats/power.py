"""How small a drop in pass rate a suite can detect, and how many cases a given drop needs.

Paired design: the same cases run on base and head, and only cases whose outcome changes
(discordant cases) carry information. The discordance rate ``psi`` is the share of cases that
change outcome in either direction; flaky cases raise it and make drops harder to see. A drop of
``delta`` in pass rate means ``p(regressed) - p(fixed) = delta`` with
``p(regressed) + p(fixed) = psi``.

Formula: the normal approximation to McNemar's test (Connor, 1987, Biometrics 43:207-211):

    n = (z_alpha * sqrt(psi) + z_power * sqrt(psi - delta**2))**2 / delta**2

``alpha`` is one-sided by default, matching a gate that blocks only on regressions; pass
``two_sided=True`` to use ``alpha / 2``. The approximation is good once a few dozen cases are
discordant; for tiny suites the exact test is more conservative than it predicts.

When the discordance rate is unknown (reported as 0, e.g. no flips were seen yet),
``DEFAULT_DISCORDANCE_RATE`` is used: 10% of cases flipping is typical of LLM suites with some
sampling noise, and assuming it errs towards a larger (more honest) minimum detectable effect
than pretending no case is noisy.
"""

from __future__ import annotations

import math
from statistics import NormalDist

DEFAULT_DISCORDANCE_RATE = 0.1

_STANDARD_NORMAL = NormalDist()


def _z_values(alpha: float, power: float, two_sided: bool) -> tuple[float, float]:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha}")
    if not 0.5 <= power < 1.0:
        raise ValueError(f"power must be at least 0.5 and below 1, got {power}")
    tail = alpha / 2.0 if two_sided else alpha
    return _STANDARD_NORMAL.inv_cdf(1.0 - tail), _STANDARD_NORMAL.inv_cdf(power)


def _discordance(rate: float) -> float:
    if math.isnan(rate) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"discordance rate must be between 0 and 1, got {rate}")
    return DEFAULT_DISCORDANCE_RATE if rate == 0.0 else rate


def mde_paired_proportion(
    n_cases: int,
    discordance_rate: float,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    two_sided: bool = False,
) -> float:
    """Smallest drop in pass rate (0..1) detected with probability ``power`` on ``n_cases``.

    Solves Connor's formula for the drop. Returns ``math.inf`` when even the largest drop the
    discordance rate allows (every changed case a regression) would not be detected: more cases
    are needed before any drop can be seen.
    """
    if n_cases < 1:
        raise ValueError(f"number of cases must be >= 1, got {n_cases}")
    psi = _discordance(discordance_rate)
    z_alpha, z_power = _z_values(alpha, power, two_sided)
    root_n = math.sqrt(n_cases)

    def shortfall(delta: float) -> float:
        # Increasing in delta: positive once a drop of delta is detectable.
        return root_n * delta - z_alpha * math.sqrt(psi) - z_power * math.sqrt(psi - delta * delta)

    if shortfall(psi) < 0.0:
        return math.inf
    low, high = 0.0, psi
    while high - low > 1e-12:
        middle = (low + high) / 2.0
        if shortfall(middle) < 0.0:
            low = middle
        else:
            high = middle
    return high


def cases_needed(
    effect: float,
    discordance_rate: float,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    two_sided: bool = False,
) -> int:
    """Cases needed to detect a drop of ``effect`` (0..1 pass rate) with probability ``power``.

    ``effect`` cannot exceed the discordance rate: a pass rate cannot drop by more than the share
    of cases that change outcome.
    """
    psi = _discordance(discordance_rate)
    if math.isnan(effect) or not 0.0 < effect <= psi:
        raise ValueError(
            f"effect must be above 0 and at most the discordance rate {psi:g}, got {effect}"
        )
    z_alpha, z_power = _z_values(alpha, power, two_sided)
    root = z_alpha * math.sqrt(psi) + z_power * math.sqrt(psi - effect * effect)
    # The small allowance keeps 493.0000000001 from becoming 494.
    return max(1, math.ceil(root * root / (effect * effect) - 1e-9))
