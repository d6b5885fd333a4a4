"""``compare(base, head)``: everything the gate and the reports need to know about two runs.

Steps: pair the records (``pairing``), then quality metrics over compared cases (``quality``,
with per-assertion and per-layer outcomes from ``outcomes``; consistency across groups from
``consistency``), the cases that changed (``cases``), and latency, cost and errors
(``perf``). Every random step is seeded, so the same files and settings always give the same
comparison.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from ci_gate.compare.cases import case_changes, errored_changes
from ci_gate.compare.consistency import consistency_metric
from ci_gate.compare.model import Comparison, ConsistencyDiff, MetricDelta
from ci_gate.compare.outcomes import paired_outcomes
from ci_gate.compare.pairing import groups_of, pair
from ci_gate.compare.perf import cost_metrics, error_metric, latency_metrics, spent_usd
from ci_gate.compare.preference import summarise
from ci_gate.compare.quality import (
    Settings,
    assertion_metrics,
    case_values,
    layer_metrics,
    quality_metrics,
    spec_metrics,
    tag_metrics,
)
from ci_gate.compare.spec_impact import spec_impact
from ci_gate.gc_pause import collection_paused
from ci_gate.results.model import Results

if TYPE_CHECKING:  # judging loads the HTTP stack; comparing files must not wait for it
    from ci_gate.judge.pairwise import Preferences


@contextmanager
def _quick_gil_handoff() -> Iterator[None]:
    """Hand the GIL over within 0.2 ms rather than Python's 5 ms: the cost bootstrap, in a
    second thread beside the Python-heavy steps, needs it back for a moment after each of its
    several hundred numpy calls, and waited up to the whole interval each time (measured: the
    bootstrap took 40% longer beside them than alone, which made it the longest step)."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 0.0002))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def compare(
    base: Results,
    head: Results,
    *,
    resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    preferences: Preferences | None = None,
) -> Comparison:
    """Compare ``head`` with ``base``: paired by case and sample, intervals at ``confidence``.

    Runs that cannot be compared (different suites, incomplete runs, no shared case) still give
    a Comparison, with ``comparability.comparable`` False and the reasons; metrics are computed
    over whatever could be paired, for information.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    # Comparing allocates millions of short-lived objects beside the runs' millions of records:
    # every full collection would walk all of them (15% of the time at 100,000 cases).
    with collection_paused(), _quick_gil_handoff():
        comparison = _compare(
            base, head, Settings(resamples=resamples, seed=seed, confidence=confidence)
        )
    if preferences is None:
        return comparison
    summary = summarise(preferences, resamples=resamples, seed=seed, confidence=confidence)
    if summary is None:
        return replace(comparison, preference=None)
    return replace(comparison, quality=(*comparison.quality, summary.metric), preference=summary)


def _compare(base: Results, head: Results, settings: Settings) -> Comparison:
    pairing = pair(base, head)
    groups = groups_of(pairing)

    quality: list[MetricDelta] = []
    slices: list[MetricDelta] = []
    layers: list[MetricDelta] = []
    latency: list[MetricDelta] = []
    cost: list[MetricDelta] = []
    cases = []
    consistency: ConsistencyDiff | None = None
    if pairing.case_ids:
        # The cost bootstrap spends most of its time in numpy calls that release the GIL, so
        # it runs beside the Python-heavy steps below. Its result does not depend on timing.
        with ThreadPoolExecutor(max_workers=1) as pool:
            cost_future = pool.submit(cost_metrics, pairing, groups, settings)
            values = case_values(pairing)
            outcomes = paired_outcomes(pairing)
            cases = case_changes(pairing, values, outcomes)
            quality = quality_metrics(pairing, values, groups, settings)
            agreement, consistency = consistency_metric(pairing, values, groups, settings)
            if agreement is not None:
                quality.append(agreement)
            quality += assertion_metrics(outcomes, groups, settings)
            slices = tag_metrics(pairing, values, groups, settings)
            slices += spec_metrics(pairing, values, groups, settings)
            layers = layer_metrics(outcomes, groups, settings)
            latency = latency_metrics(pairing, settings)
            cost = cost_future.result()
    else:
        cases = errored_changes(pairing)
    return Comparison(
        base=base.run,
        head=head.run,
        quality=tuple(quality),
        slices=tuple(slices),
        layers=tuple(layers),
        latency=tuple(latency),
        cost=tuple(cost),
        errors=error_metric(pairing),
        cases=tuple(cases),
        comparability=pairing.comparability,
        spent_base_usd=spent_usd(pairing.base),
        spent_head_usd=spent_usd(pairing.head),
        settings={
            "resamples": settings.resamples,
            "seed": settings.seed,
            "confidence": settings.confidence,
            "clustered": groups is not None,
            "clusters": 0 if groups is None else groups.clusters,
            "samples_paired": int(pairing.valid.sum()),
        },
        consistency=consistency,
        spec_impact=spec_impact(
            head.run.spec or base.run.spec, tuple(cases), {**base.cases, **head.cases}
        ),
    )
