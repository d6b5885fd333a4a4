"""Latency, cost, tokens and errors of a comparison.

* Latency: p50, p95 and p99 of each run over the scored records of compared cases that were
  really called in that run. Cached and reused records are left out: their latency is the one
  recorded when the response was first produced, not what this code does now. Samples are not
  paired for latency (load, caching, retries); ``quantile_delta`` resamples each run on its own.
* Cost at list price, per compared case: the sum over the case's samples scored on both sides,
  so both runs are charged for the same work (``cost.per_case`` is the mean of that, and
  ``cost.total`` the sum, whose interval is the per-case interval times the number of cases).
  Cached records keep the list price they were charged when first produced.
* Spent in this run: what the records not served from a cache or a previous run cost, over the
  whole run.
* Error rate: errored records over records that were run; records of a not-run kind (budget,
  interruption) count as not run, not as errors (they make the runs not comparable instead).
"""

from __future__ import annotations

import math

import numpy as np

from ci_gate.compare.model import MetricDelta
from ci_gate.compare.pairing import Bools, Floats, Groups, Pairing, RunArrays
from ci_gate.compare.quality import Settings
from ci_gate.stats import quantile_delta

PERCENTILES = (50, 95, 99)


def _latencies(arrays: RunArrays) -> Floats:
    use = (arrays.case >= 0) & arrays.ok & arrays.fresh & ~np.isnan(arrays.latency)
    return arrays.latency[use]


def latency_metrics(pairing: Pairing, settings: Settings) -> list[MetricDelta]:
    base, head = _latencies(pairing.base), _latencies(pairing.head)
    metrics = []
    for q in PERCENTILES:
        key, label = f"latency.p{q}", f"latency p{q}"
        if not base.size or not head.size:
            empty = [side for side, v in (("base", base), ("head", head)) if not v.size]
            metrics.append(
                MetricDelta(
                    key=key,
                    kind="latency",
                    label=label,
                    base=float(np.percentile(base, q)) if base.size else None,
                    head=float(np.percentile(head, q)) if head.size else None,
                    delta=None,
                    low=None,
                    high=None,
                    p_value=None,
                    p_worse=None,
                    n=0,
                    higher_is_better=False,
                    note=f"no fresh latency on {' and '.join(empty)} (every record cached, "
                    "reused or errored)",
                )
            )
            continue
        qd = quantile_delta(
            base,
            head,
            q,
            resamples=settings.resamples,
            seed=settings.seed,
            confidence=settings.confidence,
        )
        counts = f"{qd.n_base} base and {qd.n_head} head samples (cached excluded)"
        metrics.append(
            MetricDelta(
                key=key,
                kind="latency",
                label=label,
                base=qd.base,
                head=qd.head,
                delta=qd.difference,
                low=qd.difference_low,
                high=qd.difference_high,
                p_value=None,
                p_worse=None,
                n=min(qd.n_base, qd.n_head),
                higher_is_better=False,
                note=f"{counts}; {qd.note}" if qd.note else counts,
            )
        )
    return metrics


def _per_case_sums(pairing: Pairing, column_of: str) -> tuple[Floats, Floats, Bools]:
    """Per compared case, the sum of a column over samples that have it on both sides."""
    b = getattr(pairing.base, column_of)[np.maximum(pairing.base_rows, 0)]
    h = getattr(pairing.head, column_of)[np.maximum(pairing.head_rows, 0)]
    use = pairing.valid & ~np.isnan(b) & ~np.isnan(h)
    cases = use.any(axis=1)
    return (
        np.where(use, b, 0.0).sum(axis=1),
        np.where(use, h, 0.0).sum(axis=1),
        np.asarray(cases, dtype=np.bool_),
    )


def _missing(key: str, label: str, kind: str, note: str) -> MetricDelta:
    return MetricDelta(
        key=key,
        kind="cost" if kind == "cost" else "tokens",
        label=label,
        base=None,
        head=None,
        delta=None,
        low=None,
        high=None,
        p_value=None,
        p_worse=None,
        n=0,
        higher_is_better=False,
        note=note,
    )


def cost_metrics(pairing: Pairing, groups: Groups | None, settings: Settings) -> list[MetricDelta]:
    base, head, cases = _per_case_sums(pairing, "cost")
    metrics: list[MetricDelta] = []
    if not cases.any():
        note = "no cost recorded on both sides (a model missing from the price table?)"
        metrics += [
            _missing("cost.per_case", "cost per case", "cost", note),
            _missing("cost.total", "cost total", "cost", note),
        ]
    else:
        index = np.flatnonzero(cases)
        sub = None if groups is None else groups.subset(index)
        est = settings.estimate(base[cases], head[cases], None if sub is None else sub.units)
        n = int(index.size)
        note = f"list price over {n} compared cases, all their paired samples"
        if est.note:
            note += f"; {est.note}"
        for key, label, scale in (
            ("cost.per_case", "cost per case", 1.0),
            ("cost.total", "cost total", float(n)),
        ):
            metrics.append(
                MetricDelta(
                    key=key,
                    kind="cost",
                    label=label,
                    base=est.base_mean * scale,
                    head=est.head_mean * scale,
                    delta=est.delta * scale,
                    low=None if est.low is None else est.low * scale,
                    high=None if est.high is None else est.high * scale,
                    p_value=None,
                    p_worse=None,
                    n=est.n_units,
                    higher_is_better=False,
                    note=note,
                )
            )
    for column, key, label in (
        ("input_tokens", "tokens.input", "input tokens per case"),
        ("output_tokens", "tokens.output", "output tokens per case"),
    ):
        b, h, use = _per_case_sums(pairing, column)
        if not use.any():
            metrics.append(_missing(key, label, "tokens", "no token counts on both sides"))
            continue
        base_mean, head_mean = float(b[use].mean()), float(h[use].mean())
        metrics.append(
            MetricDelta(
                key=key,
                kind="tokens",
                label=label,
                base=base_mean,
                head=head_mean,
                delta=head_mean - base_mean,
                low=None,
                high=None,
                p_value=None,
                p_worse=None,
                n=int(use.sum()),
                higher_is_better=False,
                note="shown, not gated: no interval",
            )
        )
    return metrics


def spent_usd(arrays: RunArrays) -> float:
    """List price of the records really called in this run (not cached, not reused)."""
    use = arrays.fresh & ~np.isnan(arrays.cost)
    return round(math.fsum(arrays.cost[use].tolist()), 8)


def error_rate(arrays: RunArrays) -> tuple[float | None, int, int]:
    """``(rate, errored, run)``: errored records over records that were run."""
    run = int(arrays.ok.size - arrays.not_run.sum())
    errored = int((~arrays.ok & ~arrays.not_run).sum())
    return (errored / run if run else None), errored, run


def error_metric(pairing: Pairing) -> MetricDelta:
    base_rate, base_errors, base_run = error_rate(pairing.base)
    head_rate, head_errors, head_run = error_rate(pairing.head)
    delta = None if base_rate is None or head_rate is None else head_rate - base_rate
    return MetricDelta(
        key="errors.rate",
        kind="errors",
        label="error rate",
        base=base_rate,
        head=head_rate,
        delta=delta,
        low=None,
        high=None,
        p_value=None,
        p_worse=None,
        n=head_run,
        higher_is_better=False,
        note=(
            f"{base_errors} of {base_run} base records and {head_errors} of {head_run} head "
            "records errored (timeouts, rate limits, server errors); never counted as regressions"
        ),
    )
