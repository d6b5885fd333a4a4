"""Paired (cluster) bootstrap intervals and the sign-flip p-value."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from ci_gate.stats import mcnemar_exact, paired_delta, paired_p_value, per_case_means


def _pass_fail_pairs(
    rng: np.random.Generator, n: int, base_rate: float, p_break: float, p_fix: float
) -> tuple[np.ndarray, np.ndarray]:
    base = rng.random(n) < base_rate
    flip = np.where(base, rng.random(n) < p_break, rng.random(n) < p_fix)
    head = base ^ flip
    return base.astype(float), head.astype(float)


def test_same_seed_same_interval_other_seed_other_interval() -> None:
    rng = np.random.default_rng(7)
    base = rng.normal(size=500)
    head = base + rng.normal(0.1, 1.0, size=500)
    first = paired_delta(base, head, seed=3)
    again = paired_delta(list(base), list(head), seed=3)
    other = paired_delta(base, head, seed=4)
    assert first == again
    assert (other.low, other.high) != (first.low, first.high)
    assert other.delta == first.delta


def test_two_cases_known_answer() -> None:
    # Differences 1 and 0: replicate means are 0, 0.5, 1 with probability 1/4, 1/2, 1/4, so the
    # 2.5% and 97.5% points of 2000 replicates are exactly 0 and 1.
    estimate = paired_delta([0.0, 0.0], [1.0, 0.0])
    assert (estimate.base_mean, estimate.head_mean, estimate.delta) == (0.0, 0.5, 0.5)
    assert (estimate.low, estimate.high) == (0.0, 1.0)
    assert estimate.n_units == 2
    assert estimate.note is not None and "too narrow" in estimate.note


def test_constant_difference_gives_a_point_interval() -> None:
    estimate = paired_delta([0.2, 0.5, 0.9, 0.1] * 5, [0.3, 0.6, 1.0, 0.2] * 5)
    assert estimate.delta == pytest.approx(0.1)
    assert estimate.low == pytest.approx(0.1)
    assert estimate.high == pytest.approx(0.1)


def test_single_case_has_no_interval() -> None:
    estimate = paired_delta([1.0], [0.0])
    assert estimate.delta == -1.0
    assert estimate.low is None and estimate.high is None
    assert estimate.note == "a single case: no interval is possible"
    grouped = paired_delta([1.0, 1.0], [0.0, 1.0], ["g", "g"])
    assert grouped.low is None and grouped.note == "a single group: no interval is possible"


def test_no_change_at_all_is_flagged_as_understated() -> None:
    estimate = paired_delta([1.0, 0.0] * 50, [1.0, 0.0] * 50)
    assert (estimate.delta, estimate.low, estimate.high) == (0.0, 0.0, 0.0)
    assert estimate.note is not None and "understates uncertainty" in estimate.note


def test_large_sample_interval_matches_normal_theory() -> None:
    # 10,000 cases: 600 regressions, 400 fixes. Standard error of the mean difference is
    # sqrt(var(d) / n) with var(d) = 0.1 - 0.02**2.
    n = 10_000
    base = np.array([1.0] * 600 + [0.0] * 400 + [1.0] * 7000 + [0.0] * 2000)
    head = np.array([0.0] * 600 + [1.0] * 400 + [1.0] * 7000 + [0.0] * 2000)
    estimate = paired_delta(base, head, resamples=4000)
    se = np.sqrt((0.1 - 0.02**2) / n)
    assert estimate.delta == pytest.approx(-0.02)
    assert estimate.low == pytest.approx(-0.02 - 1.96 * se, abs=0.15 * 1.96 * se)
    assert estimate.high == pytest.approx(-0.02 + 1.96 * se, abs=0.15 * 1.96 * se)


def test_count_path_and_index_path_agree() -> None:
    # Pass/fail differences take 3 values (multinomial counts); adding a unique tiny jitter to
    # each case forces resampling by index. Both must give the same interval up to noise.
    rng = np.random.default_rng(11)
    base, head = _pass_fail_pairs(rng, 4000, 0.8, 0.1, 0.2)
    jitter = np.arange(4000) * 1e-12
    by_counts = paired_delta(base, head, resamples=4000)
    by_index = paired_delta(base, head + jitter, resamples=4000)
    width_counts = by_counts.high - by_counts.low  # type: ignore[operator]
    width_index = by_index.high - by_index.low  # type: ignore[operator]
    assert width_index == pytest.approx(width_counts, rel=0.08)
    assert by_index.low == pytest.approx(by_counts.low, abs=0.1 * width_counts)


def test_clusters_widen_the_interval_when_groups_move_together() -> None:
    # 30 groups of 10 cases; every case in a group has the same difference, so there are really
    # only 30 independent observations.
    rng = np.random.default_rng(5)
    group_diff = rng.choice([-1.0, 0.0, 1.0], size=30, p=[0.2, 0.6, 0.2])
    diffs = np.repeat(group_diff, 10)
    base = np.ones(300)
    head = base + diffs
    groups = [f"g{i // 10}" for i in range(300)]
    naive = paired_delta(base, head)
    clustered = paired_delta(base, head, groups)
    assert clustered.delta == pytest.approx(naive.delta)
    assert clustered.clustered and not naive.clustered
    assert (clustered.n_cases, clustered.n_units) == (300, 30)
    naive_width = naive.high - naive.low  # type: ignore[operator]
    clustered_width = clustered.high - clustered.low  # type: ignore[operator]
    assert clustered_width > 2.0 * naive_width  # about sqrt(10) times wider


def test_none_groups_are_clusters_of_one() -> None:
    rng = np.random.default_rng(2)
    base, head = _pass_fail_pairs(rng, 200, 0.7, 0.1, 0.1)
    plain = paired_delta(base, head, seed=9)
    all_none = paired_delta(base, head, [None] * 200, seed=9)
    assert (all_none.low, all_none.high, all_none.n_units) == (plain.low, plain.high, 200)


def test_unequal_cluster_sizes_use_the_ratio_estimator() -> None:
    rng = np.random.default_rng(8)
    sizes = rng.integers(1, 12, size=80)
    groups: list[str | None] = [f"g{i}" for i, size in enumerate(sizes) for _ in range(size)]
    groups[::7] = [None] * len(groups[::7])
    n = len(groups)
    base, head = _pass_fail_pairs(rng, n, 0.75, 0.12, 0.2)
    estimate = paired_delta(base, head, groups)
    assert estimate.delta == pytest.approx(float(np.mean(head - base)))
    assert estimate.low is not None and estimate.high is not None
    assert estimate.low < estimate.delta < estimate.high
    assert estimate.n_units > 80  # None entries became clusters of their own


def test_coverage_of_the_95_percent_interval() -> None:
    """Over 400 simulated suites the 95% interval covers the true delta at least 93% of the time.

    300 cases, base pass probability 0.8; a passing case breaks with probability 0.10 and a
    failing case is fixed with probability 0.20, so the true delta is 0.8 * -0.10 + 0.2 * 0.20
    = -0.04. 1,000 resamples per interval (instead of the default 2,000) keep the test fast;
    this only adds a little noise to each bound.
    """
    rng = np.random.default_rng(20240601)
    true_delta = 0.8 * -0.10 + 0.2 * 0.20
    covered = 0
    runs = 400
    for run in range(runs):
        base, head = _pass_fail_pairs(rng, 300, 0.8, 0.10, 0.20)
        estimate = paired_delta(base, head, resamples=1000, seed=run)
        assert estimate.low is not None and estimate.high is not None
        covered += estimate.low <= true_delta <= estimate.high
    assert covered / runs >= 0.93


def test_cluster_coverage_when_groups_share_a_random_effect() -> None:
    # 60 groups of 5 cases; each group's cases break together with probability 0.3 on top of
    # independent noise. Resampling groups keeps coverage; resampling cases loses it.
    rng = np.random.default_rng(77)
    groups = [f"g{i // 5}" for i in range(300)]
    runs = 300
    clustered_hits = naive_hits = 0
    true_delta = -(0.3 + 0.7 * 0.05) + 0.05  # group break, or independent break, minus fixes
    for run in range(runs):
        group_break = np.repeat(rng.random(60) < 0.3, 5)
        independent = rng.random(300)
        diffs = np.where(group_break | (independent < 0.05), -1.0, 0.0)
        diffs = np.where(~group_break & (independent > 0.95), 1.0, diffs)
        base = np.ones(300)
        head = base + diffs
        clustered = paired_delta(base, head, groups, resamples=1000, seed=run)
        naive = paired_delta(base, head, resamples=1000, seed=run)
        clustered_hits += clustered.low <= true_delta <= clustered.high  # type: ignore[operator]
        naive_hits += naive.low <= true_delta <= naive.high  # type: ignore[operator]
    assert clustered_hits / runs >= 0.91
    assert naive_hits / runs < 0.80


def test_sign_flip_p_value_is_exact_mcnemar_for_few_changes() -> None:
    base = [1.0] * 10 + [0.0] * 3 + [1.0] * 20
    head = [0.0] * 10 + [1.0] * 3 + [1.0] * 20
    assert paired_p_value(base, head) == mcnemar_exact(10, 3)
    assert paired_p_value([0.0] * 5, [1.0] * 5) == 0.0625
    assert paired_p_value([0.5, 0.5], [0.5, 0.5]) == 1.0


def test_sign_flip_p_value_is_exact_mcnemar_for_many_pass_fail_changes() -> None:
    base = [1.0] * 30 + [0.0] * 12 + [1.0] * 100
    head = [0.0] * 30 + [1.0] * 12 + [1.0] * 100
    assert paired_p_value(base, head) == mcnemar_exact(30, 12)


def test_monte_carlo_sign_flip_p_value_matches_exact_enumeration() -> None:
    # Changes of two sizes (as with per-case means of 2 repeats): 20 cases moved by -0.5, five
    # by -1 and one by +1, observed total -14. Under sign flips the total is
    # 0.5 * (2 * B1 - 20) + (2 * B2 - 6) with B1 ~ Bin(20, 1/2), B2 ~ Bin(6, 1/2).
    base = [1.0] * 20 + [1.0] * 5 + [0.0]
    head = [0.5] * 20 + [0.0] * 5 + [1.0]
    exact = sum(
        Fraction(math.comb(20, b1) * math.comb(6, b2), 2**26)
        for b1 in range(21)
        for b2 in range(7)
        if abs(Fraction(2 * b1 - 20, 2) + (2 * b2 - 6)) >= 14
    )
    p = paired_p_value(base, head, resamples=40_000, seed=2)
    assert p == pytest.approx(float(exact), abs=0.003)
    assert 0.0 < float(exact) < 0.05  # a case where the answer matters


def test_sign_flip_p_value_on_scores() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(0.6, 0.1, size=400)
    shifted = base + rng.normal(-0.03, 0.05, size=400)
    unchanged = base + rng.normal(0.0, 0.05, size=400)
    assert paired_p_value(base, shifted, seed=1) < 0.01
    assert paired_p_value(base, unchanged, seed=1) > 0.05
    assert paired_p_value(base, shifted, seed=1) == paired_p_value(base, shifted, seed=1)
    assert paired_p_value(base, shifted, seed=1) >= 1 / 2001


def test_sign_flip_p_value_with_groups_uses_group_totals() -> None:
    # Two groups of 20 that moved in opposite directions: the test sees 2 units, not 40 cases.
    base = [1.0] * 40
    head = [0.0] * 20 + [2.0] * 20
    groups = ["a"] * 20 + ["b"] * 20
    assert paired_p_value(base, head, groups) == 1.0
    base_down = [1.0] * 40
    head_down = [0.0] * 40
    assert paired_p_value(base_down, head_down, ["a"] * 20 + ["b"] * 20) == 0.5
    assert paired_p_value(base_down, head_down) == mcnemar_exact(40, 0)


def test_per_case_means() -> None:
    means = per_case_means({"b": [1.0, 0.0, 1.0], "a": [0.25], "c": [0.1] * 10})
    assert list(means) == ["b", "a", "c"]
    assert means == {"b": pytest.approx(2 / 3), "a": 0.25, "c": pytest.approx(0.1)}
    with pytest.raises(ValueError, match="no values"):
        per_case_means({"empty": []})


@pytest.mark.parametrize(
    ("base", "head", "groups", "message"),
    [
        ([1.0, 0.0], [1.0], None, "pair them by case"),
        ([], [], None, "no cases"),
        ([1.0, float("nan")], [1.0, 0.0], None, "NaN"),
        ([1.0, 0.0], [1.0, 0.0], ["a"], "groups has 1 entries"),
    ],
)
def test_bad_inputs_are_rejected(
    base: list[float], head: list[float], groups: list[str] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        paired_delta(base, head, groups)


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="confidence"):
        paired_delta([1.0, 0.0], [0.0, 0.0], confidence=1.0)
    with pytest.raises(ValueError, match="resamples"):
        paired_delta([1.0, 0.0], [0.0, 0.0], resamples=0)
