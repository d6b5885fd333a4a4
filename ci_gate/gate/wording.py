"""Numbers and subjects in the gate's sentences, in words a product developer reads at a glance.

Rates are shown in percent and their changes in points; scores with three decimals; latency in
milliseconds; money in dollars. Every function takes the metric the number belongs to, so the
unit always matches the metric.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ci_gate.compare.model import CaseChange, Comparability, MetricDelta
from ci_gate.gate.policy_reader import Amount

LAYER_WORDS = {
    "format": "output format",
    "knowledge": "knowledge / retrieval",
    "instructions": "instructions / prompt",
    "tools": "tool calls",
    "safety": "safety / refusal",
    "latency": "latency",
    "cost": "cost",
}


def subject(m: MetricDelta) -> str:
    """What the metric is, as the start of a sentence."""
    prefix, _, name = m.key.partition(".")
    if m.key == "quality.pass_rate":
        return "Pass rate"
    if m.key == "quality.score":
        return "Mean score"
    if prefix == "assertion":
        return f"Pass rate of assertion {name}"
    if prefix == "tag":
        return f"Pass rate of tag {name}"
    if prefix == "layer":
        return f"Pass rate on layer {name} ({LAYER_WORDS.get(name, name)})"
    if prefix == "latency":
        return f"Latency {name}"
    if m.key == "cost.per_case":
        return "Cost per case"
    if m.key == "cost.total":
        return "Total cost"
    if m.key == "errors.rate":
        return "Error rate"
    return m.label[:1].upper() + m.label[1:]


def _money(value: float) -> str:
    return f"${value:,.4f}" if abs(value) < 1 else f"${value:,.2f}"


def value(m: MetricDelta, v: float | None) -> str:
    if v is None:
        return "n/a"
    if m.kind in ("rate", "errors"):
        return f"{v * 100:.1f}%"
    if m.kind == "score":
        return f"{v:.3f}"
    if m.kind == "latency":
        return f"{v:,.0f} ms"
    if m.kind == "cost":
        return _money(v)
    return f"{v:,.1f}"


def change(m: MetricDelta, d: float | None, *, signed: bool = True) -> str:
    """A change in the metric's unit: ``-6.2 points``, ``+0.031``, ``+120 ms``, ``+$0.0012``."""
    if d is None:
        return "n/a"
    sign = ("+" if d > 0 else "-" if d < 0 else "") if signed else ""
    size = abs(d)
    if m.kind in ("rate", "errors"):
        return f"{sign}{size * 100:.1f} points"
    if m.kind == "score":
        return f"{sign}{size:.3f}"
    if m.kind == "latency":
        return f"{sign}{size:,.0f} ms"
    if m.kind == "cost":
        return f"{sign}{_money(size)}"
    return f"{sign}{size:,.1f}"


def _bound(m: MetricDelta, v: float) -> str:
    if m.kind in ("rate", "errors"):
        text = f"{v * 100:+.1f}"
        return text[1:] if float(text) == 0 else text  # "+0.0" claims a direction
    return change(m, v)


def interval(m: MetricDelta, confidence: float) -> str:
    """``95% CI -9.1 to -3.3`` (points for rates), or a note that there is none."""
    if m.low is None or m.high is None:
        return "no interval: too little data"
    return f"{confidence:.0%} CI {_bound(m, m.low)} to {_bound(m, m.high)}"


def relative(m: MetricDelta) -> str | None:
    """The change relative to base, ``+40%``, when base is positive."""
    if m.delta is None or m.base is None or m.base <= 0:
        return None
    return f"{m.delta / m.base:+.0%}"


def amount(m: MetricDelta, a: Amount) -> str:
    """An amount of the policy in words: ``2 points``, ``25%``, ``300 ms``."""
    if a.unit == "pt":
        return f"{a.value:g} point" + ("" if a.value == 1 else "s")
    if a.unit == "%":
        return f"{a.value:g}%"
    return change(m, a.value, signed=False)


def moved(m: MetricDelta) -> str:
    """``fell 6.2 points`` / ``rose 40 ms`` / ``did not change``."""
    if m.delta is None or m.delta == 0:
        return "did not change"
    verb = "rose" if m.delta > 0 else "fell"
    return f"{verb} {change(m, m.delta, signed=False)}"


def where_regressions_are(cases: Sequence[CaseChange], comparability: Comparability) -> str:
    """``14 cases newly fail, mostly in output format, after prompt support changed``."""
    regressed = [c for c in cases if c.status == "regressed"]
    if not regressed:
        return ""
    text = f"{len(regressed)} case{'s' if len(regressed) != 1 else ''} newly fail"
    layers = Counter(layer for c in regressed for layer in c.layers)
    if layers:
        ranked = layers.most_common(2)
        top, count = ranked[0]
        if count * 2 >= len(regressed) or len(ranked) == 1:
            text += f", mostly in {LAYER_WORDS.get(top, top)}"
        else:
            second = ranked[1][0]
            text += f", across {LAYER_WORDS.get(top, top)} and {LAYER_WORDS.get(second, second)}"
    what = changed_components(comparability)
    if what:
        text += f", after {what} changed"
    return text


def changed_components(comparability: Comparability) -> str:
    parts = []
    prompts = comparability.prompts_changed
    if prompts:
        shown = ", ".join(prompts[:3]) + (" and others" if len(prompts) > 3 else "")
        parts.append(f"prompt{'s' if len(prompts) > 1 else ''} {shown}")
    if comparability.target_changed:
        parts.append("the target (model or parameters)")
    if comparability.assertions_changed:
        parts.append("the default assertions")
    return " and ".join(parts)
