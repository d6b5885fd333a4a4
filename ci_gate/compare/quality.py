"""Quality metrics of a comparison: pass rate, score, each assertion, each tag, each layer.

The unit is the case. With repeats, a case's value is the mean over its samples scored on both
sides (``per_case_means`` would give the same numbers; arrays are used here for speed), and the
bootstrap resamples cases, or whole groups when cases share a ``group``.

Pass/fail metrics get two tests:

* the interval on the change of pass rate comes from the paired bootstrap of per-case means;
* the p-value is the exact McNemar test on each case's outcome. With repeats, a case's outcome
  is its majority over the paired samples (it passes when more than half of them pass; a tie
  counts as a failure on both sides alike), because McNemar needs one pass/fail per case. When
  cases share groups, McNemar's independence assumption does not hold, so the p-value comes
  from the sign-flip test on per-group changes instead (``paired_p_value`` with groups).

The majority keeps one bit per case, so with repeats the test can be less sensitive than the
interval: a drop whose interval excludes 0 may still not be significant, and the gate then
says inconclusive rather than fail (erring against false alarms).

Score (``quality.score``, the mean of each record's score) is not pass/fail: its p-value is the
sign-flip test on per-case (or per-group) changes. One-sided p-values ("head is worse") from a
two-sided sign-flip test use its symmetry: half the two-sided value when head is lower, else
one minus half.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import chain
from operator import attrgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ci_gate.compare.model import MetricDelta, MetricKind
from ci_gate.compare.outcomes import Outcomes, Paired
from ci_gate.compare.pairing import Bools, Floats, Groups, Ints, Pairing, sorted_distinct
from ci_gate.stats import (
    Clusters,
    DeltaEstimate,
    mcnemar_exact,
    mcnemar_exact_worse,
    paired_delta,
    paired_p_value,
)

GROUPED_NOTE = "cases share groups: whole groups are resampled and the p-value is by group"

_Inputs = tuple[Floats, Floats, Ints]  # base, head, group codes (empty: no groups)


@dataclass(frozen=True)
class Settings:
    resamples: int
    seed: int
    confidence: float
    # Pass/fail metrics with identical inputs have identical results (every call is seeded the
    # same way): a layer with one assertion, a pass rate decided by one assertion. Computed once.
    # Looked up by a cheap summary of the inputs, then checked byte for byte.
    memo: dict[tuple[str, int, float, float], list[tuple[_Inputs, MetricDelta]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def estimate(self, base: Floats, head: Floats, clusters: Clusters | None) -> DeltaEstimate:
        """The paired bootstrap of ``mean(head) - mean(base)`` with these settings."""
        return paired_delta(
            base,
            head,
            clusters,
            resamples=self.resamples,
            seed=self.seed,
            confidence=self.confidence,
        )

    def p_value(self, base: Floats, head: Floats, clusters: Clusters | None) -> float:
        return paired_p_value(base, head, clusters, resamples=self.resamples, seed=self.seed)


@dataclass(frozen=True)
class CaseValues:
    """Per compared case: pass rate and mean score on each side (NaN: no paired score)."""

    base_pass: Floats
    head_pass: Floats
    base_score: Floats
    head_score: Floats


def _mean_over_samples(column: Floats, rows: Ints, use: Bools) -> Floats:
    values = np.where(use, column[np.maximum(rows, 0)], 0.0)
    counts = use.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(values.sum(axis=1) / counts, dtype=np.float64)


def case_values(pairing: Pairing) -> CaseValues:
    valid = pairing.valid
    b, h = pairing.base, pairing.head
    br, hr = pairing.base_rows, pairing.head_rows
    scored = valid & ~np.isnan(b.score[np.maximum(br, 0)]) & ~np.isnan(h.score[np.maximum(hr, 0)])
    return CaseValues(
        base_pass=_mean_over_samples(b.passed, br, valid),
        head_pass=_mean_over_samples(h.passed, hr, valid),
        base_score=_mean_over_samples(b.score, br, scored),
        head_score=_mean_over_samples(h.score, hr, scored),
    )


def one_sided_worse(p_two_sided: float, delta: float) -> float:
    return p_two_sided / 2.0 if delta < 0 else 1.0 - p_two_sided / 2.0


def _subgroups(groups: Groups | None, index: Ints | None) -> Groups | None:
    return None if groups is None else groups.subset(index)


def pass_fail_metric(
    key: str,
    label: str,
    base: Floats,
    head: Floats,
    groups: Groups | None,
    settings: Settings,
    kind: MetricKind = "rate",
) -> MetricDelta:
    """A pass-rate metric over cases (values are per-case shares of samples that passed)."""
    inputs: _Inputs = (base, head, groups.codes if groups is not None else np.zeros(0, np.int64))
    same_sums = settings.memo.setdefault(
        (kind, int(base.size), float(base.sum()), float(head.sum())), []
    )
    for seen_inputs, seen in same_sums:
        if all(_same_bytes(a, b) for a, b in zip(seen_inputs, inputs, strict=True)):
            return replace(seen, key=key, label=label)
    metric = _pass_fail_metric(key, label, base, head, groups, settings, kind)
    same_sums.append((inputs, metric))
    return metric


def _same_bytes(a: NDArray[Any], b: NDArray[Any]) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _pass_fail_metric(
    key: str,
    label: str,
    base: Floats,
    head: Floats,
    groups: Groups | None,
    settings: Settings,
    kind: MetricKind,
) -> MetricDelta:
    clusters = None if groups is None else groups.units
    est = settings.estimate(base, head, clusters)
    base_major, head_major = base > 0.5, head > 0.5
    regressed = int(np.count_nonzero(base_major & ~head_major))
    fixed = int(np.count_nonzero(~base_major & head_major))
    note = est.note
    if groups is None:
        p_value, p_worse = mcnemar_exact(regressed, fixed), mcnemar_exact_worse(regressed, fixed)
    else:
        p_value = settings.p_value(base, head, clusters)
        p_worse = one_sided_worse(p_value, est.delta)
        note = "; ".join(n for n in (GROUPED_NOTE, note) if n)
    return MetricDelta(
        key=key,
        kind=kind,
        label=label,
        base=est.base_mean,
        head=est.head_mean,
        delta=est.delta,
        low=est.low,
        high=est.high,
        p_value=p_value,
        p_worse=p_worse,
        n=est.n_units,
        regressed=regressed,
        fixed=fixed,
        note=note,
    )


def score_metric(
    values: CaseValues, groups: Groups | None, settings: Settings
) -> MetricDelta | None:
    use = ~np.isnan(values.base_score) & ~np.isnan(values.head_score)
    if not use.any():
        return None
    index = np.flatnonzero(use) if not use.all() else None
    base, head = values.base_score[use], values.head_score[use]
    sub = _subgroups(groups, index)
    grouped = GROUPED_NOTE if sub is not None else None
    clusters = None if sub is None else sub.units
    return bootstrapped_metric(
        settings, "quality.score", "score", "mean score", base, head, clusters, notes=(grouped,)
    )


def bootstrapped_metric(
    settings: Settings,
    key: str,
    kind: MetricKind,
    label: str,
    base: Floats,
    head: Floats,
    clusters: Clusters | None,
    *,
    notes: tuple[str | None, ...] = (),
    regressed: int = 0,
    fixed: int = 0,
) -> MetricDelta:
    """A metric whose interval is the paired bootstrap and whose p-value is the sign-flip test
    (continuous values, or per-group rates); ``notes`` go before the estimate's own."""
    est = settings.estimate(base, head, clusters)
    p_value = settings.p_value(base, head, clusters)
    note = "; ".join(n for n in (*notes, est.note) if n)
    return MetricDelta(
        key=key,
        kind=kind,
        label=label,
        base=est.base_mean,
        head=est.head_mean,
        delta=est.delta,
        low=est.low,
        high=est.high,
        p_value=p_value,
        p_worse=one_sided_worse(p_value, est.delta),
        n=est.n_units,
        regressed=regressed,
        fixed=fixed,
        note=note or None,
    )


def tag_index(pairing: Pairing) -> dict[str, Ints]:
    """Compared-case indices per tag, tags sorted by name; a tag listed twice counts once."""
    return names_index(list(map(attrgetter("tags"), pairing.infos)))


def names_index(tag_lists: list[tuple[str, ...]]) -> dict[str, Ints]:
    """Indices into ``tag_lists`` per name found in it, names sorted; a name listed twice in
    one entry counts once."""
    flat = list(chain.from_iterable(tag_lists))
    if not flat:  # no tag at all, or no spec link: the usual case for spec names
        return {}
    lengths = np.fromiter(map(len, tag_lists), np.int64, len(tag_lists))
    names: dict[str, int] = {}
    for tag in dict.fromkeys(flat):
        names[tag] = len(names)
    codes = np.fromiter(map(names.__getitem__, flat), np.int64, len(flat))
    owners = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
    # One sort by (tag, case) groups each tag's cases in order and drops repeated tags.
    pairs = sorted_distinct(codes * max(1, lengths.size) + owners)
    tag_of, case_of = pairs // max(1, lengths.size), pairs % max(1, lengths.size)
    bounds = np.searchsorted(tag_of, np.arange(len(names) + 1))
    by_code = {code: case_of[bounds[code] : bounds[code + 1]] for code in range(len(names))}
    return {tag: by_code[names[tag]] for tag in sorted(names)}


def tag_metrics(
    pairing: Pairing, values: CaseValues, groups: Groups | None, settings: Settings
) -> list[MetricDelta]:
    return [
        pass_fail_metric(
            f"tag.{tag}",
            f"tag {tag}",
            values.base_pass[index],
            values.head_pass[index],
            _subgroups(groups, index),
            settings,
        )
        for tag, index in tag_index(pairing).items()
    ]


def spec_metrics(
    pairing: Pairing, values: CaseValues, groups: Groups | None, settings: Settings
) -> list[MetricDelta]:
    """``failure_mode.<name>`` and ``behaviour.<name>``: slices of the cases linked to each
    name of the spec (by the case or any of its assertions), like tags."""
    links = [info.links() for info in pairing.infos]
    slices = (
        ("failure_mode", "failure mode", [x.failure_modes for x in links]),
        ("behaviour", "behaviour", [x.behaviours for x in links]),
    )
    return [
        pass_fail_metric(
            f"{prefix}.{name}",
            f"{label} {name}",
            values.base_pass[index],
            values.head_pass[index],
            _subgroups(groups, index),
            settings,
        )
        for prefix, label, lists in slices
        for name, index in names_index(lists).items()
    ]


def _unit_metrics(
    paired: Paired,
    names: tuple[str, ...],
    prefix: str,
    groups: Groups | None,
    settings: Settings,
) -> list[MetricDelta]:
    metrics = []
    for code, rows in sorted(paired.units(), key=lambda item: names[item[0]]):
        name = names[code]
        metrics.append(
            pass_fail_metric(
                f"{prefix}.{name}",
                f"{prefix} {name}",
                paired.base_rate[rows],
                paired.head_rate[rows],
                _subgroups(groups, paired.case[rows]),
                settings,
            )
        )
    return metrics


def assertion_metrics(
    outcomes: Outcomes, groups: Groups | None, settings: Settings
) -> list[MetricDelta]:
    """``assertion.<name>``: per case, the share of paired samples where it passed."""
    return _unit_metrics(outcomes.by_name, outcomes.names, "assertion", groups, settings)


def layer_metrics(
    outcomes: Outcomes, groups: Groups | None, settings: Settings
) -> list[MetricDelta]:
    """``layer.<layer>``: per case, the share of paired samples where every assertion of the
    layer passed; only cases with an assertion in that layer count."""
    return _unit_metrics(outcomes.by_layer, outcomes.layers, "layer", groups, settings)


def quality_metrics(
    pairing: Pairing,
    values: CaseValues,
    groups: Groups | None,
    settings: Settings,
) -> list[MetricDelta]:
    metrics = [
        pass_fail_metric(
            "quality.pass_rate", "pass rate", values.base_pass, values.head_pass, groups, settings
        )
    ]
    score = score_metric(values, groups, settings)
    if score is not None:
        metrics.append(score)
    return metrics
