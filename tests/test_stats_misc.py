"""Multiple-comparison adjustments, percentile intervals, power, non-inferiority."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from ci_gate.stats import (
    DEFAULT_DISCORDANCE_RATE,
    benjamini_hochberg,
    cases_needed,
    decide_non_inferiority,
    holm,
    mde_paired_proportion,
    min_samples_for_bound,
    non_inferior,
    percentile,
    percentile_ci,
    quantile_delta,
)

# --- Holm and Benjamini-Hochberg -------------------------------------------------------------


def test_holm_hand_computed() -> None:
    # Sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> raised to
    # 0.06 to stay monotone. Returned in input order.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_handles_edges() -> None:
    assert holm([0.5, 0.9, 0.2]) == pytest.approx([1.0, 1.0, 0.6])
    assert holm([]) == []
    assert holm([0.03]) == [0.03]


def test_benjamini_hochberg_hand_computed() -> None:
    # Sorted: 0.005 * 4/1 = 0.02, 0.01 * 4/2 = 0.02, 0.03 * 4/3 = 0.04, 0.04 * 4/4 = 0.04.
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    # Monotone step-up: 0.02 * 3/2 = 0.03 but 0.025 * 3/3 = 0.025 is smaller, so both get 0.025.
    assert benjamini_hochberg([0.025, 0.001, 0.02]) == pytest.approx([0.025, 0.003, 0.025])
    assert benjamini_hochberg([0.9, 0.95]) == pytest.approx([0.95, 0.95])
    assert benjamini_hochberg([]) == []


def test_adjusted_values_are_never_below_the_raw_ones_and_bh_is_less_strict() -> None:
    raw = [0.001, 0.2, 0.013, 0.04, 0.5, 0.0301]
    h, bh = holm(raw), benjamini_hochberg(raw)
    assert all(a >= p for a, p in zip(h, raw, strict=True))
    assert all(q >= p for q, p in zip(bh, raw, strict=True))
    assert all(q <= a for q, a in zip(bh, h, strict=True))
    assert all(0.0 <= v <= 1.0 for v in h + bh)


@pytest.mark.parametrize("bad", [[0.1, float("nan")], [1.5], [-0.1]])
def test_invalid_p_values_are_rejected(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        holm(bad)
    with pytest.raises(ValueError, match="between 0 and 1"):
        benjamini_hochberg(bad)


# --- Percentiles ---------------------------------------------------------------------------


def test_percentile_matches_numpy_linear_interpolation() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 50) == 25.0
    assert percentile(values, 95) == pytest.approx(38.5)
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 40.0
    rng = np.random.default_rng(1)
    sample = rng.lognormal(size=1001)
    assert percentile(sample, 99) == float(np.percentile(sample, 99))


@pytest.mark.parametrize(("n", "low", "high"), [(10, 2.0, 9.0), (20, 6.0, 15.0)])
def test_median_interval_matches_the_classic_table(n: int, low: float, high: float) -> None:
    # Values 1..n, so a value equals its rank. Textbook 95% intervals for the median:
    # n = 10 -> (x(2), x(9)), n = 20 -> (x(6), x(15)).
    interval = percentile_ci([float(i) for i in range(1, n + 1)], 50)
    assert (interval.low, interval.high) == (low, high)
    assert interval.note is None


def _binomial_cdfs(n: int, p: Fraction) -> list[Fraction]:
    """[P(X <= k) for k in 0..n], X ~ Binomial(n, p), as exact fractions."""
    cdfs, running = [], Fraction(0)
    for i in range(n + 1):
        running += math.comb(n, i) * p**i * (1 - p) ** (n - i)
        cdfs.append(running)
    return cdfs


def test_p95_ranks_from_first_principles() -> None:
    # One-sided 95% bounds on p95 from 200 values 1..200, ranks computed with exact fractions.
    n, p, miss = 200, Fraction(95, 100), Fraction(5, 100)
    cdf = _binomial_cdfs(n, p)
    assert cdf[n] == 1
    low_rank = max(r for r in range(1, n + 1) if cdf[r - 1] <= miss)
    high_rank = min(r for r in range(1, n + 1) if 1 - cdf[r - 1] <= miss)
    interval = percentile_ci([float(i) for i in range(1, n + 1)], 95, two_sided=False)
    assert (interval.low, interval.high) == (float(low_rank), float(high_rank))
    assert interval.low < interval.point < interval.high  # type: ignore[operator]


def test_the_59_sample_rule_for_a_one_sided_p95_bound() -> None:
    assert 0.95**58 > 0.05 >= 0.95**59
    assert min_samples_for_bound(95) == 59
    short = percentile_ci([float(i) for i in range(58)], 95, two_sided=False)
    enough = percentile_ci([float(i) for i in range(59)], 95, two_sided=False)
    assert short.high is None
    assert short.note is not None and ">= 59 samples, have 58" in short.note
    assert enough.high == 58.0  # only the largest value is a valid bound
    assert enough.note is None


def test_samples_needed_for_other_bounds() -> None:
    assert min_samples_for_bound(95, two_sided=True) == 72
    assert min_samples_for_bound(99) == 299
    assert min_samples_for_bound(50) == 5
    two_sided_short = percentile_ci(np.arange(71.0), 95)
    assert two_sided_short.high is None and two_sided_short.low is not None
    assert percentile_ci(np.arange(72.0), 95).high == 71.0


def test_percentile_interval_covers_the_true_value() -> None:
    # Distribution-free: at least 95% coverage for any distribution; lognormal p95 = e^1.645.
    rng = np.random.default_rng(12)
    truth = math.exp(1.6448536269514722)
    covered = sum(
        interval.low <= truth <= interval.high  # type: ignore[operator]
        for interval in (percentile_ci(rng.lognormal(size=120), 95) for _ in range(1000))
    )
    assert covered >= 950 - 3 * math.sqrt(1000 * 0.95 * 0.05)


def test_percentile_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        percentile([], 50)
    with pytest.raises(ValueError, match="95 means p95"):
        percentile([1.0], 101)
    with pytest.raises(ValueError, match="strictly between 0 and 100"):
        percentile_ci([1.0, 2.0], 100)
    with pytest.raises(ValueError, match="NaN"):
        percentile_ci([1.0, float("nan")], 50)


def test_quantile_delta_point_values_and_determinism() -> None:
    rng = np.random.default_rng(4)
    base = rng.lognormal(5.0, 0.5, size=2000)
    head = base * 1.1
    first = quantile_delta(base, head, 95, seed=1)
    assert first.base == pytest.approx(float(np.percentile(base, 95)))
    assert first.ratio == pytest.approx(1.1)
    assert first.difference == pytest.approx(first.head - first.base)
    assert first.ratio_low < 1.1 < first.ratio_high  # type: ignore[operator]
    assert first.difference_low < first.difference < first.difference_high  # type: ignore[operator]
    assert quantile_delta(base, head, 95, seed=1) == first
    assert quantile_delta(base, head, 95, seed=2) != first


def test_quantile_delta_interval_matches_naive_resampling() -> None:
    # The fast bootstrap draws only the order statistics it needs; it must agree with resampling
    # whole runs with replacement.
    rng = np.random.default_rng(21)
    base = rng.lognormal(5.0, 0.6, size=300)
    head = rng.lognormal(5.1, 0.6, size=400)
    fast = quantile_delta(base, head, 95, resamples=8000, seed=3)
    naive_rng = np.random.default_rng(5)
    base_reps = np.percentile(base[naive_rng.integers(0, 300, (8000, 300))], 95, axis=1)
    head_reps = np.percentile(head[naive_rng.integers(0, 400, (8000, 400))], 95, axis=1)
    naive_low, naive_high = np.quantile(head_reps - base_reps, [0.025, 0.975])
    width = naive_high - naive_low
    assert fast.difference_low == pytest.approx(naive_low, abs=0.06 * width)
    assert fast.difference_high == pytest.approx(naive_high, abs=0.06 * width)


def test_quantile_delta_withholds_intervals_on_too_few_samples() -> None:
    few = quantile_delta(np.arange(1.0, 51.0), np.arange(1.0, 301.0), 95)
    assert few.difference_low is None and few.ratio_high is None
    assert few.note is not None and "need >= 59 samples per run; base has 50" in few.note
    assert few.ratio is not None


def test_quantile_delta_without_a_positive_base_has_no_ratio() -> None:
    zero = quantile_delta(np.zeros(100), np.ones(100), 50)
    assert zero.ratio is None and zero.ratio_low is None
    assert zero.difference == 1.0 and zero.difference_low == 1.0
    assert zero.note is not None and "no ratio" in zero.note


# --- Power ---------------------------------------------------------------------------------


def test_cases_needed_hand_checked() -> None:
    # psi = 0.2, delta = 0.05, one-sided alpha 0.05 (z = 1.64485), power 0.8 (z = 0.84162):
    # (1.64485 * sqrt(0.2) + 0.84162 * sqrt(0.2 - 0.0025))**2 / 0.0025
    # = (0.73560 + 0.37403)**2 / 0.0025 = 492.5 -> 493 cases.
    assert cases_needed(0.05, 0.2) == 493
    assert cases_needed(0.05, 0.2, two_sided=True) > 493


def test_mde_inverts_cases_needed() -> None:
    needed = cases_needed(0.05, 0.2)
    assert mde_paired_proportion(needed, 0.2) <= 0.05 < mde_paired_proportion(needed - 1, 0.2)
    assert mde_paired_proportion(493, 0.2) == pytest.approx(0.05, abs=1e-4)


def test_power_monotonicity() -> None:
    mdes = [mde_paired_proportion(n, 0.15) for n in (50, 100, 300, 1000, 5000)]
    assert all(a > b for a, b in itertools.pairwise(mdes))
    by_noise = [mde_paired_proportion(500, psi) for psi in (0.05, 0.1, 0.2, 0.4)]
    assert all(a < b for a, b in itertools.pairwise(by_noise))
    by_effect = [cases_needed(effect, 0.2) for effect in (0.02, 0.05, 0.1, 0.2)]
    assert all(a > b for a, b in itertools.pairwise(by_effect))
    assert cases_needed(0.05, 0.2, alpha=0.01) > cases_needed(0.05, 0.2, alpha=0.05)
    assert cases_needed(0.05, 0.2, power=0.9) > cases_needed(0.05, 0.2, power=0.8)


def test_zero_discordance_uses_the_documented_default() -> None:
    assert mde_paired_proportion(400, 0.0) == mde_paired_proportion(400, DEFAULT_DISCORDANCE_RATE)
    assert cases_needed(0.05, 0.0) == cases_needed(0.05, DEFAULT_DISCORDANCE_RATE)


def test_power_edge_cases() -> None:
    assert mde_paired_proportion(5, 0.1) == math.inf  # too few cases for any drop
    with pytest.raises(ValueError, match="at most the discordance rate"):
        cases_needed(0.3, 0.2)
    with pytest.raises(ValueError, match="power"):
        cases_needed(0.05, 0.2, power=0.3)
    with pytest.raises(ValueError, match="alpha"):
        mde_paired_proportion(100, 0.2, alpha=0.0)


# --- Non-inferiority -------------------------------------------------------------------------


def test_non_inferiority_rule() -> None:
    assert non_inferior(-0.01, 0.02)
    assert not non_inferior(-0.03, 0.02)
    assert not non_inferior(-0.02, 0.02)  # on the margin is not above it
    assert non_inferior(0.0, 0.0) is False
    assert non_inferior(0.001, 0.0)


def test_non_inferiority_decision_explains_itself() -> None:
    passed = decide_non_inferiority(-0.01, 0.02)
    assert passed.passed and passed.low_bound == -0.01 and passed.margin == 0.02
    assert "is above the allowed drop -0.02" in passed.reason
    failed = decide_non_inferiority(-0.05, 0.02)
    assert not failed.passed and "not above" in failed.reason
    unknown = decide_non_inferiority(None, 0.02)
    assert not unknown.passed and "too little data" in unknown.reason
    with pytest.raises(ValueError, match="margin"):
        decide_non_inferiority(0.0, -0.1)
