"""Judge agreement statistics against values computed by hand."""

from __future__ import annotations

import pytest

from ci_gate.stats.agreement import accuracy, cohen_kappa, pair_agreement, self_agreement


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([True, True], 1.0),
        ([True, False], 0.0),
        ([False, False, False], 1.0),
        # 3 verdicts, 3 pairs: (T,T) agrees, (T,F) twice does not.
        ([True, True, False], 1 / 3),
        # 5 verdicts, 10 pairs: C(4,2)=6 agreeing passes, no failing pair.
        ([True, True, True, True, False], 0.6),
        # 4 verdicts, 6 pairs: 1 + 1 agreeing.
        ([True, False, True, False], 2 / 6),
        ([True], None),
        ([], None),
    ],
)
def test_pair_agreement(verdicts: list[bool], expected: float | None) -> None:
    got = pair_agreement(verdicts)
    assert got == (None if expected is None else pytest.approx(expected))


def test_self_agreement_is_the_mean_over_outputs_with_two_verdicts() -> None:
    # 1.0, 0.6 and (skipped: one verdict) -> mean 0.8; every output weighs the same.
    per_output = [[True] * 5, [True, True, True, True, False], [False]]
    assert self_agreement(per_output) == pytest.approx(0.8)
    assert self_agreement([[True], []]) is None
    assert self_agreement([]) is None


def test_accuracy_counts_every_pair() -> None:
    pairs = [(True, True), (True, False), (False, False), (False, False)]
    assert accuracy(pairs) == 0.75
    assert accuracy([]) is None


def test_kappa_by_hand() -> None:
    # 10 pairs: verdict pass 6 (label pass 4 of them), verdict fail 4 (label fail 3 of them).
    pairs = [(True, True)] * 4 + [(True, False)] * 2 + [(False, False)] * 3 + [(False, True)]
    # po = 7/10; judge passes 6/10, labels pass 5/10; pe = .6*.5 + .4*.5 = .5; kappa = .2/.5
    assert cohen_kappa(pairs) == pytest.approx(0.4)
    assert accuracy(pairs) == pytest.approx(0.7)


def test_kappa_perfect_chance_and_worse() -> None:
    assert cohen_kappa([(True, True), (False, False)]) == 1.0
    # A judge that always says the opposite of the humans.
    assert cohen_kappa([(True, False), (False, True)]) == -1.0
    # Always passes while humans pass half: po = .5, pe = .5 -> 0, no better than chance.
    assert cohen_kappa([(True, True), (True, False)]) == 0.0


def test_kappa_is_undefined_when_everything_is_one_class() -> None:
    # pe == 1: nothing shows the judge can tell a pass from a failure.
    assert cohen_kappa([(True, True)] * 3) is None
    assert cohen_kappa([(False, False)] * 2) is None
    assert cohen_kappa([]) is None
    # All verdicts pass but labels all fail: pe = 0, kappa = (0 - 0) / 1 = 0.
    assert cohen_kappa([(True, False)] * 3) == 0.0


def test_non_bools_are_the_callers_bug() -> None:
    with pytest.raises(ValueError, match="bools"):
        pair_agreement([1, 0])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="bools"):
        cohen_kappa([(True, 1)])  # type: ignore[list-item]
