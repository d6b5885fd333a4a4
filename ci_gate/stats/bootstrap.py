"""Paired bootstrap interval and sign-flip p-value for the change of a per-case metric.

Why paired: the same cases run on base and on head, so most case-to-case variation (easy vs hard
cases) cancels out in the per-case difference ``head - base``. Working on differences gives much
narrower intervals than comparing two independent averages.

Why clusters: cases that share a context (same document, same conversation, same template) tend
to move together. Treating them as independent makes the interval too narrow. When ``groups`` are
given, whole groups are resampled instead of single cases, and the delta is the ratio estimator
``sum(differences) / number of cases`` over the resampled groups.

Inputs are one value per case. With repeated samples per case, average the repeats first
(``per_case_means``): the case, not the sample, is the unit that was drawn from the population of
possible cases.

Speed: resampling is done with counts, not copies. When the unit values take few distinct values
(pass/fail differences are -1, 0 or 1; with 3 repeats there are 7 possible values) one bootstrap
replicate is a single multinomial draw over those values, so 100,000 cases cost about as much as
100. Otherwise units are resampled by index, a bounded block of replicates at a time.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ci_gate.stats._resample import cluster_sums, ratio_replicates, sign_flip_p_value

# Below this many resampling units the percentile interval is known to be too narrow; it is still
# returned, with a note, because the caller may want to show it.
FEW_UNITS = 10


@dataclass(frozen=True)
class DeltaEstimate:
    """Change of a per-case metric from base to head, with a bootstrap confidence interval.

    ``delta = head_mean - base_mean``. ``low``/``high`` bound ``delta`` at ``confidence``
    (two-sided percentile interval); they are None when there is only one resampling unit, since
    one unit gives no information about variation. ``n_units`` is the number of resampled units:
    cases, or groups when ``clustered``. ``note`` explains anything a reader should know about
    the interval's reliability.
    """

    base_mean: float
    head_mean: float
    delta: float
    low: float | None
    high: float | None
    confidence: float
    n_cases: int
    n_units: int
    clustered: bool
    resamples: int
    seed: int
    note: str | None = None


def per_case_means(values_by_case: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Average the repeated samples of each case: ``{case: mean of its values}``.

    Order of cases is kept. A case with no values raises ValueError: drop errored or missing
    samples before calling, so that they are never mistaken for a score.
    """
    means: dict[str, float] = {}
    for case, values in values_by_case.items():
        if len(values) == 0:
            raise ValueError(f"case {case[:80]!r} has no values to average")
        means[case] = math.fsum(values) / len(values)
    return means


def _as_values(name: str, values: Sequence[float] | NDArray[np.floating]) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence of per-case values")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values; drop those cases first")
    return array


@dataclass(frozen=True)
class Clusters:
    """The resampling cluster of each case, numbered 0..G-1 in order of first appearance.

    Made by :func:`clusters` from group names or by :func:`clusters_from_codes` from group
    numbers; pass it as ``groups`` where the same cases are bootstrapped several times, so that
    the groups are numbered once rather than on every call.
    """

    codes: NDArray[np.int64]


Grouping = Sequence[Hashable | None] | Clusters


def clusters(groups: Sequence[Hashable | None]) -> Clusters:
    """Number clusters 0..G-1 in order of first appearance; each None is a cluster of its own."""
    index: dict[Hashable, int] = {}
    codes: list[int] = []
    next_code = 0
    for group in groups:
        code = None if group is None else index.get(group)
        if code is None:
            code = next_code
            next_code += 1
            if group is not None:
                index[group] = code
        codes.append(code)
    return Clusters(np.asarray(codes, dtype=np.int64))


def clusters_from_codes(group_codes: NDArray[np.integer]) -> Clusters:
    """:func:`clusters` of the groups numbered ``group_codes`` (-1: a case without a group),
    in array operations: the same numbers as ``clusters`` gives for the same groups."""
    group_codes = np.asarray(group_codes, dtype=np.int64).reshape(-1)
    n = group_codes.size
    position = np.arange(n, dtype=np.int64)
    named = np.flatnonzero(group_codes >= 0)
    first = np.full(int(group_codes.max(initial=-1)) + 1, n, dtype=np.int64)
    np.minimum.at(first, group_codes[named], named)  # each group's first position
    leader = position.copy()  # the first case of each case's cluster
    leader[named] = first[group_codes[named]]
    opens = leader == position
    number = np.cumsum(opens, dtype=np.int64) - 1
    return Clusters(number[leader])


def _paired_inputs(
    base: Sequence[float] | NDArray[np.floating],
    head: Sequence[float] | NDArray[np.floating],
    groups: Grouping | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64] | None]:
    base_arr = _as_values("base", base)
    head_arr = _as_values("head", head)
    if base_arr.size != head_arr.size:
        raise ValueError(
            f"base has {base_arr.size} cases and head has {head_arr.size}; pair them by case first"
        )
    if base_arr.size == 0:
        raise ValueError("no cases to compare")
    codes = None
    if groups is not None:
        codes = groups.codes if isinstance(groups, Clusters) else clusters(groups).codes
        if codes.size != base_arr.size:
            raise ValueError(f"groups has {codes.size} entries for {base_arr.size} cases")
    return base_arr, head_arr, codes


def _check_settings(resamples: int, confidence: float) -> None:
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")


def paired_delta(
    base: Sequence[float] | NDArray[np.floating],
    head: Sequence[float] | NDArray[np.floating],
    groups: Grouping | None = None,
    *,
    resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> DeltaEstimate:
    """Estimate ``mean(head) - mean(base)`` over paired cases, with a bootstrap interval.

    ``base[i]`` and ``head[i]`` are the same case's value (e.g. 1.0 pass / 0.0 fail, or a score)
    on the two runs. ``groups[i]`` optionally names the case's cluster; cases with group None are
    clusters of one. ``groups`` may also be :class:`Clusters`, numbered once for many calls.

    Method: seeded percentile bootstrap. Each replicate draws as many units (cases, or clusters)
    as there are, with replacement, and recomputes the mean difference (for clusters: the sum of
    the drawn clusters' differences divided by the number of cases they contain). The interval is
    the central ``confidence`` share of the replicates. The same inputs and seed always give the
    same interval.

    Assumptions: units are independent draws from the population of cases you care about; with
    fewer than about 10 units the interval is too narrow (a note says so).
    """
    _check_settings(resamples, confidence)
    base_arr, head_arr, codes = _paired_inputs(base, head, groups)
    diffs = head_arr - base_arr
    n_cases = int(diffs.size)
    sums, sizes = cluster_sums(diffs, codes)
    n_units = int(sums.size)
    base_mean = float(np.mean(base_arr))
    head_mean = float(np.mean(head_arr))
    delta = float(np.mean(diffs))
    unit_word = "groups" if codes is not None else "cases"

    low: float | None = None
    high: float | None = None
    note: str | None = None
    if n_units < 2:
        note = f"a single {unit_word[:-1]}: no interval is possible"
    else:
        rng = np.random.default_rng(seed)
        replicates = ratio_replicates(sums, sizes, resamples, rng)
        tail = (1.0 - confidence) / 2.0
        low_q, high_q = np.quantile(replicates, [tail, 1.0 - tail])
        low, high = float(low_q), float(high_q)
        if n_units < FEW_UNITS:
            note = f"only {n_units} {unit_word}: the interval is likely too narrow"
        elif low == high:
            # Typically no case changed: the data cannot show how often cases would change, so
            # a zero-width interval claims more certainty than there is.
            note = (
                "every resample gave the same change; a zero-width interval understates uncertainty"
            )
    return DeltaEstimate(
        base_mean=base_mean,
        head_mean=head_mean,
        delta=delta,
        low=low,
        high=high,
        confidence=confidence,
        n_cases=n_cases,
        n_units=n_units,
        clustered=codes is not None,
        resamples=resamples,
        seed=seed,
        note=note,
    )


def paired_p_value(
    base: Sequence[float] | NDArray[np.floating],
    head: Sequence[float] | NDArray[np.floating],
    groups: Grouping | None = None,
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> float:
    """Two-sided p-value for "head and base have the same mean", by a paired sign-flip test.

    If the change made no difference, swapping a case's base and head values is as likely as
    not, so the sign of each per-case difference (each cluster's summed difference, when groups
    are given) is a coin flip. The p-value is the share of sign assignments whose total change is
    at least as far from zero as the observed one.

    The p-value is exact when every changed unit changed by the same amount (pass/fail values
    without groups: it then equals ``mcnemar_exact``) or when at most 16 units changed (every
    assignment is enumerated). Otherwise ``resamples`` random assignments are drawn and the
    p-value is ``(1 + hits) / (1 + resamples)``, which is never below ``1 / (1 + resamples)``:
    raise ``resamples`` when you need to show smaller p-values.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    base_arr, head_arr, codes = _paired_inputs(base, head, groups)
    sums, _ = cluster_sums(head_arr - base_arr, codes)
    return sign_flip_p_value(sums, resamples, np.random.default_rng(seed))
