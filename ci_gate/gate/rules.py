"""Latency and cost rules of the gate, the cost budget, and the trade-offs a team accepts.

An increase is judged on its interval, not on the point estimate alone: a blocking rule fails
only when even the lower bound of the increase is above what is allowed. When only the point
estimate is above it, the run cannot tell a real slow-down from noise (latency of a shared CI
runner varies a lot): inconclusive for a blocking rule, a warning otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ci_gate.compare.model import Comparison, MetricDelta
from ci_gate.gate import wording as w
from ci_gate.gate.model import Check, CheckStatus
from ci_gate.gate.policy import IncreaseRule, Policy, Tradeoff


def _rise_sentence(m: MetricDelta, confidence: float) -> str:
    rel = w.relative(m)
    rel_text = f"{rel}, " if rel else ""
    return (
        f"{w.subject(m)} {w.moved(m)} ({rel_text}from {w.value(m, m.base)} to "
        f"{w.value(m, m.head)}, {w.interval(m, confidence)})"
    )


def _increase_check(m: MetricDelta, rule: IncreaseRule, confidence: float) -> Check:
    threshold = f"max increase {rule.max_increase.text}"
    allowed = rule.max_increase.absolute(m.base)
    allowed_text = w.amount(m, rule.max_increase)
    assert m.delta is not None and allowed is not None
    text = _rise_sentence(m, confidence)
    status: CheckStatus
    if m.low is not None and m.low > allowed:
        status = "fail" if rule.blocking else "warn"
        reason = f"{text}, above the allowed {allowed_text} even at the interval's lower bound."
    elif m.delta > allowed:
        status = "inconclusive" if rule.blocking else "warn"
        why = "the interval includes" if m.low is not None else "too few samples to rule out"
        reason = f"{text}, above the allowed {allowed_text}, but {why} an allowed change."
    else:
        status = "ok"
        reason = f"{text}, within the allowed {allowed_text}."
    return Check(m.key, status, rule.blocking, reason, threshold)


def increase_checks(comparison: Comparison, policy: Policy, confidence: float) -> list[Check]:
    checks: list[Check] = []
    for key, rule in policy.increases.items():
        m = comparison.metric(key)
        if m is None or m.delta is None or m.base is None:
            note = f" ({m.note})" if m is not None and m.note else ""
            checks.append(Check(key, "info", False, f"No data to judge {key}{note}."))
            continue
        checks.append(_increase_check(m, rule, confidence))
    if policy.budget_usd is not None:
        total = comparison.head.totals.cost_usd
        budget = policy.budget_usd
        threshold = f"budget ${budget:,.2f}"
        if total > budget:
            reason = (
                f"Head's cost at list price ${total:,.4f} is above the budget of ${budget:,.2f}."
            )
            checks.append(Check("cost.budget", "fail", True, reason, threshold))
        else:
            reason = f"Head's cost at list price ${total:,.4f} is within the budget ${budget:,.2f}."
            checks.append(Check("cost.budget", "ok", True, reason, threshold))
    return checks


def _gain_met(rule: Tradeoff, comparison: Comparison, confidence: float) -> tuple[bool, str]:
    q = comparison.metric(rule.when)
    if q is None or q.delta is None:
        return False, ""
    needed = rule.gains.absolute(q.base)
    met = needed is not None and q.delta >= needed and q.low is not None and q.low > 0
    return met, f"{w.subject(q).lower()} {w.moved(q)} ({w.interval(q, confidence)})"


def tradeoff_checks(
    checks: Sequence[Check], comparison: Comparison, policy: Policy, confidence: float
) -> tuple[list[Check], list[Check], tuple[str, ...]]:
    """Apply trade-offs to failing latency/cost checks: ``(checks, info notes, rules used)``."""
    out: list[Check] = []
    notes: list[Check] = []
    applied: list[str] = []
    for check in checks:
        m = comparison.metric(check.key)
        if check.status not in ("fail", "inconclusive", "warn") or m is None or m.delta is None:
            out.append(check)
            continue
        for rule in policy.tradeoffs:
            if rule.allow != check.key:
                continue
            up_to = rule.up_to.absolute(m.base)
            met, gain = _gain_met(rule, comparison, confidence)
            if not met or up_to is None or m.delta > up_to:
                continue
            reason = (
                f"{_rise_sentence(m, confidence)}, allowed up to {w.amount(m, rule.up_to)} by "
                f"trade-off {rule.name} because {gain}."
            )
            check = replace(check, status="ok", reason=reason)
            applied.append(rule.name)
            notes.append(
                Check(
                    check.key,
                    "info",
                    False,
                    f"Trade-off {rule.name} applied: {check.key} may rise up to "
                    f"{rule.up_to.text} when {rule.when} gains {rule.gains.text}; {gain}.",
                )
            )
            break
        out.append(check)
    return out, notes, tuple(dict.fromkeys(applied))
