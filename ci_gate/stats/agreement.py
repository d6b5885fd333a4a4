"""How far a judge's pass/fail verdicts can be trusted: agreement with itself and with humans.

Used by ``ci-gate calibrate``. Every verdict is a bool (the judged assertion passed or not).

* ``self_agreement``: a judge asked the same question several times should answer the same way.
  For one output judged ``k`` times there are ``k(k-1)/2`` pairs of verdicts; its agreement is
  the share of those pairs that agree (``a`` passes and ``b`` fails agree in ``C(a,2) + C(b,2)``
  pairs). The result is the mean of that share over the outputs with at least two verdicts, so
  every output counts the same however many of its calls failed. None when no output has two.
* ``accuracy``: the share of (verdict, human label) pairs that agree. None for no pairs.
* ``cohen_kappa``: agreement with the labels beyond what chance gives. With ``po`` the observed
  agreement and ``pe`` the agreement expected if verdicts and labels were independent with the
  same pass rates (``pe = pv*pl + (1-pv)*(1-pl)``), ``kappa = (po - pe) / (1 - pe)``: 1 is
  perfect agreement, 0 no better than chance, below 0 worse than chance.
  Degenerate case: when ``pe == 1`` (the judge and the labels all say pass, or all say fail),
  kappa is 0/0; it is **undefined** and returned as None rather than guessed, because such data
  cannot show that the judge tells passes from failures. None also for no pairs.

Plain sequences in, floats out; invalid arguments raise ValueError (the caller's bug).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb

Pair = tuple[bool, bool]  # (the judge's verdict, the human label)


def _check_bools(values: Sequence[object], what: str) -> None:
    for value in values:
        if not isinstance(value, bool):
            raise ValueError(f"{what} must be bools, got {type(value).__name__}")


def pair_agreement(verdicts: Sequence[bool]) -> float | None:
    """The share of agreeing pairs among ``verdicts`` (one output's repeats); None below two."""
    _check_bools(verdicts, "verdicts")
    k = len(verdicts)
    if k < 2:
        return None
    passes = sum(verdicts)
    return (comb(passes, 2) + comb(k - passes, 2)) / comb(k, 2)


def self_agreement(verdicts_per_output: Sequence[Sequence[bool]]) -> float | None:
    """Mean ``pair_agreement`` over the outputs with at least two verdicts; None when none has."""
    shares = [s for v in verdicts_per_output if (s := pair_agreement(v)) is not None]
    if not shares:
        return None
    return sum(shares) / len(shares)


def accuracy(pairs: Sequence[Pair]) -> float | None:
    """The share of pairs whose verdict equals the label; None for no pairs."""
    for pair in pairs:
        _check_bools(pair, "pairs")
    if not pairs:
        return None
    return sum(verdict == label for verdict, label in pairs) / len(pairs)


def cohen_kappa(pairs: Sequence[Pair]) -> float | None:
    """Cohen's kappa between verdicts and labels; None for no pairs or when undefined (pe == 1)."""
    for pair in pairs:
        _check_bools(pair, "pairs")
    n = len(pairs)
    if n == 0:
        return None
    agree = sum(verdict == label for verdict, label in pairs)
    judged_pass = sum(verdict for verdict, _ in pairs)
    labelled_pass = sum(label for _, label in pairs)
    # In counts (times n*n) so that the degenerate test is exact, not a float comparison.
    chance = judged_pass * labelled_pass + (n - judged_pass) * (n - labelled_pass)
    if chance == n * n:
        return None
    return (agree * n - chance) / (n * n - chance)
