"""Simulated gates: how often a no-change PR is failed, and how often a real drop is caught.

The gate rule simulated here is the one ci-gate uses for a blocking pass/fail metric: fail when
the one-sided exact McNemar test says head is worse (p < 0.05) AND the observed drop exceeds the
team's minimum (0 points here). Each case's pair of outcomes is drawn independently:
"regressed" (pass on base, fail on head), "fixed" (the reverse) or unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from ci_gate.stats import cases_needed, mcnemar_exact_worse

ALPHA = 0.05
CASES = 500
SIMULATIONS = 200


def _gate_fails(regressed: int, fixed: int, margin: float = 0.0) -> bool:
    drop = (regressed - fixed) / CASES
    return mcnemar_exact_worse(regressed, fixed) < ALPHA and drop > margin


def _fail_rate(p_regress: float, p_fix: float, seed: int) -> float:
    rng = np.random.default_rng(seed)
    outcomes = rng.multinomial(CASES, [p_regress, p_fix, 1.0 - p_regress - p_fix], SIMULATIONS)
    fails = sum(_gate_fails(int(r), int(f)) for r, f, _ in outcomes)
    return fails / SIMULATIONS


def _binomial_upper_tail(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


def test_false_alarms_on_no_change_stay_at_alpha() -> None:
    """No change, 8% of cases flip each way at random: the gate fails at most ~5% of PRs.

    Tolerance: with a true false-alarm rate of exactly 5%, 200 simulations give more than 16
    failures (8%) with probability below 5% (checked below), so a rate above 8% would be
    evidence of a real excess, not simulation noise. The exact test is conservative, so the rate
    is usually below 5% anyway.
    """
    allowed = 16
    assert _binomial_upper_tail(allowed + 1, SIMULATIONS, ALPHA) < 0.05
    rate = _fail_rate(0.08, 0.08, seed=101)
    assert rate <= allowed / SIMULATIONS


def test_false_alarms_across_many_seeds_average_below_alpha() -> None:
    # 20 x 200 = 4,000 no-change PRs: the pooled rate must be at most alpha plus 3 standard
    # errors of a binomial proportion at alpha (0.0103).
    rates = [_fail_rate(0.08, 0.08, seed=1000 + s) for s in range(20)]
    assert float(np.mean(rates)) <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / 4000)


def test_a_real_five_point_drop_is_caught_at_least_80_percent_of_the_time() -> None:
    """A true 5-point drop on 500 cases with flip noise is detected in >= 80% of 200 runs.

    Same amount of flip noise as the no-change test (16% of cases change outcome), shifted by 5
    points: 10.5% regress and 5.5% get fixed. The power formula says 394 cases suffice for 80%
    power here, so 500 cases should reach it comfortably (about 88%).
    """
    assert cases_needed(0.05, 0.16, ALPHA, 0.8) < CASES
    rate = _fail_rate(0.105, 0.055, seed=202)
    assert rate >= 0.80


def test_power_is_lower_when_the_drop_adds_flips() -> None:
    # The drop comes on top of the noise (13% regress, 8% fixed: 21% discordant). The power
    # formula then needs 518 cases for 80% power, so 500 cases fall a little short: the
    # simulation should land near, and below, the no-extra-noise power.
    assert cases_needed(0.05, 0.21, ALPHA, 0.8) > CASES
    noisy = _fail_rate(0.13, 0.08, seed=303)
    shifted = _fail_rate(0.105, 0.055, seed=303)
    assert 0.6 <= noisy < shifted


def _critical_regressions(discordant: int) -> int | None:
    """Fewest regressions among ``discordant`` changed cases for which the gate fails."""
    low, high = discordant // 2 + 1, discordant
    if high < low or not _gate_fails(high, 0):
        return None
    while low < high:
        middle = (low + high) // 2
        if _gate_fails(middle, discordant - middle):
            high = middle
        else:
            low = middle + 1
    return low


def _exact_fail_probability(p_regress: float, p_fix: float) -> float:
    """P(gate fails) without simulation: sum over the number of changed cases and their split."""
    psi = p_regress + p_fix
    share = p_regress / psi
    total = 0.0
    for discordant in range(CASES + 1):
        weight = math.comb(CASES, discordant) * psi**discordant * (1 - psi) ** (CASES - discordant)
        critical = _critical_regressions(discordant)
        if critical is None or weight < 1e-15:
            continue
        tail = sum(
            math.comb(discordant, r) * share**r * (1 - share) ** (discordant - r)
            for r in range(critical, discordant + 1)
        )
        total += weight * tail
    return total


def test_exact_false_alarm_rate_is_below_alpha_and_simulations_agree() -> None:
    exact = _exact_fail_probability(0.08, 0.08)
    assert exact <= ALPHA
    pooled = float(np.mean([_fail_rate(0.08, 0.08, seed=1000 + s) for s in range(20)]))
    assert abs(pooled - exact) <= 3 * math.sqrt(exact * (1 - exact) / 4000)


def test_exact_power_for_a_five_point_drop_agrees_with_the_simulation() -> None:
    exact = _exact_fail_probability(0.105, 0.055)
    assert exact >= 0.80
    simulated = _fail_rate(0.105, 0.055, seed=202)
    assert abs(simulated - exact) <= 3 * math.sqrt(exact * (1 - exact) / SIMULATIONS)
