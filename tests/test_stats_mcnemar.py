"""Exact McNemar p-values against first-principles fractions and a normal approximation."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from ci_gate.stats import mcnemar_exact, mcnemar_exact_worse


def _lower_tail(k: int, n: int) -> Fraction:
    """P(X <= k), X ~ Binomial(n, 1/2), as an exact fraction."""
    term = total = 1  # C(n, 0)
    for i in range(k):
        term = term * (n - i) // (i + 1)  # C(n, i + 1)
        total += term
    assert term == math.comb(n, k)
    return Fraction(total, 2**n)


def _two_sided(b: int, c: int) -> float:
    if b + c == 0:
        return 1.0
    return float(min(Fraction(1), 2 * _lower_tail(min(b, c), b + c)))


@pytest.mark.parametrize(
    ("b", "c", "expected"),
    [
        (0, 5, 0.0625),
        (1, 9, 0.021484375),
        (5, 5, 1.0),
        (3, 10, 0.09228515625),
        (0, 0, 1.0),
    ],
)
def test_known_values(b: int, c: int, expected: float) -> None:
    assert mcnemar_exact(b, c) == expected
    assert mcnemar_exact(c, b) == expected


@pytest.mark.parametrize(
    ("b", "c"),
    [(0, 1), (2, 7), (12, 30), (40, 41), (100, 160), (700, 820), (2400, 2550)],
)
def test_matches_exact_fraction(b: int, c: int) -> None:
    assert mcnemar_exact(b, c) == pytest.approx(_two_sided(b, c), rel=1e-12, abs=0)


def test_log_space_path_matches_exact_fraction_beyond_exact_limit() -> None:
    # 6,000 discordant pairs is past the exact-integer limit, so this checks the log-space sum.
    b, c = 2900, 3100
    assert mcnemar_exact(b, c) == pytest.approx(_two_sided(b, c), rel=1e-9, abs=0)


def test_one_sided_known_values() -> None:
    # 10 regressions, 0 fixes: P(X >= 10) for Bin(10, 1/2) = 1/1024.
    assert mcnemar_exact_worse(10, 0) == 1 / 1024
    assert mcnemar_exact_worse(0, 10) == 1.0
    assert mcnemar_exact_worse(0, 0) == 1.0
    # 9 regressions, 1 fix: (1 + 10) / 1024.
    assert mcnemar_exact_worse(9, 1) == 11 / 1024
    assert mcnemar_exact_worse(5, 5) == float(1 - _lower_tail(4, 10))


@pytest.mark.parametrize(("regressed", "fixed"), [(3, 10), (10, 3), (30, 12), (400, 350)])
def test_one_sided_is_half_of_two_sided_in_the_worse_direction(regressed: int, fixed: int) -> None:
    one = mcnemar_exact_worse(regressed, fixed)
    expected = float(1 - _lower_tail(regressed - 1, regressed + fixed))
    assert one == pytest.approx(expected, rel=1e-12)
    if regressed > fixed:
        assert one == pytest.approx(mcnemar_exact(regressed, fixed) / 2, rel=1e-12)


def _normal_two_sided(b: int, c: int) -> float:
    # Continuity-corrected normal approximation.
    z = (abs(b - c) - 1) / math.sqrt(b + c)
    return math.erfc(z / math.sqrt(2))


@pytest.mark.parametrize("b", [49_000, 49_600, 49_800, 50_000, 50_300])
def test_large_n_matches_normal_approximation(b: int) -> None:
    c = 100_000 - b
    p = mcnemar_exact(b, c)
    assert 0.0 <= p <= 1.0
    assert p == pytest.approx(min(1.0, _normal_two_sided(b, c)), abs=1e-3)


def test_million_pairs_stays_finite_and_ordered() -> None:
    balanced = mcnemar_exact(500_000, 500_000)
    slight = mcnemar_exact(499_000, 501_000)
    extreme = mcnemar_exact(0, 1_000_000)
    assert balanced == 1.0
    assert 0.0 < slight < 1.0
    assert slight == pytest.approx(_normal_two_sided(499_000, 501_000), abs=1e-3)
    assert extreme == 0.0  # 2 * 2**-1e6 underflows to zero, without error


def test_more_lopsided_splits_give_smaller_p() -> None:
    values = [mcnemar_exact(b, 40 - b) for b in range(21)]
    assert all(later >= earlier for earlier, later in itertools.pairwise(values))


@pytest.mark.parametrize(("b", "c"), [(-1, 3), (3, -1)])
def test_negative_counts_are_rejected(b: int, c: int) -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        mcnemar_exact(b, c)


def test_non_integer_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="count b must be an int, got float"):
        mcnemar_exact(2.5, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="count fixed must be an int, got bool"):
        mcnemar_exact_worse(3, True)


def test_numpy_integer_counts_are_accepted() -> None:
    assert mcnemar_exact(np.int64(3), np.int32(10)) == 0.09228515625
