"""The pairwise preference as a comparison metric: ``quality.preference``.

Each judged case scores +1 (head's output preferred), 0 (tie) or -1 (base's preferred). The
metric is their mean, the net preference for head in [-1, 1]; base's value is 0 by definition
(a run compared with itself is a tie). The interval is the paired bootstrap over cases (whole
groups when cases share one), and the one-sided p-value that head is worse is the exact sign
test on wins against losses (McNemar's test with losses as regressions and wins as fixes), so
the gate treats a preference drop like a pass-rate drop. Win, tie and loss rates are reported
with Wilson intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ci_gate.compare.model import MetricDelta
from ci_gate.stats import mcnemar_exact, mcnemar_exact_worse, paired_delta
from ci_gate.stats.proportion import wilson_interval

if TYPE_CHECKING:  # judging loads the HTTP stack; comparing files must not wait for it
    from ci_gate.judge.pairwise import Preferences

KEY = "quality.preference"
LABEL = "pairwise preference for head"
_VALUES = {"win": 1.0, "tie": 0.0, "loss": -1.0}


@dataclass(frozen=True)
class Rate:
    count: int
    share: float
    low: float
    high: float


@dataclass(frozen=True)
class PreferenceSummary:
    """What the report shows about the pairwise judgement."""

    judge: str
    model: str | None
    judged: int  # cases with a verdict
    errors: int
    wins: Rate
    ties: Rate
    losses: Rate
    metric: MetricDelta
    judge_calls: int
    judge_cost_usd: float | None


def _rate(count: int, n: int, confidence: float) -> Rate:
    low, high = wilson_interval(count, n, confidence)
    return Rate(count, count / n, low, high)


def summarise(
    prefs: Preferences, *, resamples: int, seed: int, confidence: float
) -> PreferenceSummary | None:
    """None when no case got a verdict (nothing to say, and nothing to gate on)."""
    judged = [p for p in prefs.cases if p.outcome is not None]
    if not judged:
        return None
    values = [_VALUES[p.outcome] for p in judged if p.outcome is not None]
    groups = [p.group for p in judged]
    clustered = any(g is not None for g in groups)
    estimate = paired_delta(
        [0.0] * len(values),
        values,
        groups if clustered else None,
        resamples=resamples,
        seed=seed,
        confidence=confidence,
    )
    wins = sum(1 for p in judged if p.outcome == "win")
    losses = sum(1 for p in judged if p.outcome == "loss")
    ties = len(judged) - wins - losses
    note = f"{wins} wins, {ties} ties, {losses} losses judged by {prefs.judge}"
    if prefs.errors:
        note += f"; {prefs.errors} case(s) could not be judged"
    metric = MetricDelta(
        key=KEY,
        kind="rate",
        label=LABEL,
        base=0.0,
        head=estimate.delta,
        delta=estimate.delta,
        low=estimate.low,
        high=estimate.high,
        p_value=mcnemar_exact(losses, wins),
        p_worse=mcnemar_exact_worse(losses, wins),
        n=estimate.n_units,
        regressed=losses,
        fixed=wins,
        note=note,
    )
    n = len(judged)
    return PreferenceSummary(
        judge=prefs.judge,
        model=prefs.model,
        judged=n,
        errors=prefs.errors,
        wins=_rate(wins, n, confidence),
        ties=_rate(ties, n, confidence),
        losses=_rate(losses, n, confidence),
        metric=metric,
        judge_calls=prefs.judge_calls,
        judge_cost_usd=prefs.judge_cost_usd,
    )
