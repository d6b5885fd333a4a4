"""The report in the spec's words: what moved, by failure mode and behaviour.

A product developer reads "failure mode 'invents-refund-policy' (high): 3 cases newly fail"
before any table, with where to intervene and what changed beside it. Names and descriptions
come from a results file, so they are untrusted text like any other.
"""

from __future__ import annotations

from collections.abc import Mapping

from ci_gate.compare.model import Comparison
from ci_gate.compare.spec_impact import SpecImpact
from ci_gate.gate import wording as w
from ci_gate.gate.model import Check
from ci_gate.report import format as fmt
from ci_gate.report.md_layers import LAYER_HINTS, changed_components, layer_name
from ci_gate.report.sanitize import inline

_EXAMPLES = 5
_MAX_ITEMS = 15
_STATUS_WORDS = {"fail": "fails the gate", "inconclusive": "inconclusive", "warn": "warns"}
_PRIMARY = {
    "quality.pass_rate": "the pass rate",
    "quality.score": "the mean score",
    "quality.preference": "the judge's preference for this run's outputs",
}


def _ids(ids: tuple[str, ...]) -> str:
    shown = ", ".join(inline(i, 60) for i in ids[:_EXAMPLES])
    return shown + (", …" if len(ids) > _EXAMPLES else "")


def _title(impact: SpecImpact) -> str:
    item = impact.item
    if item.kind == "failure_mode":
        severity = f" ({inline(item.severity, 20)})" if item.severity else ""
        return f"failure mode '{inline(item.name, 80)}'{severity}"
    return f"behaviour '{inline(item.name, 80)}'"


def _line(impact: SpecImpact, c: Comparison, checks: Mapping[str, Check], changed: str) -> str:
    item = impact.item
    parts = []
    if impact.regressed:
        verb = "newly fails" if len(impact.regressed) == 1 else "newly fail"
        parts.append(
            f"{fmt.plural(len(impact.regressed), 'case')} {verb} ({_ids(impact.regressed)})"
        )
    if impact.fixed:
        parts.append(f"{len(impact.fixed):,} fixed ({_ids(impact.fixed)})")
    if impact.errored:
        parts.append(f"{len(impact.errored):,} errored, not counted ({_ids(impact.errored)})")
    mark = "❌" if impact.regressed else ("✅" if impact.fixed else "🛑")
    text = f"- {mark} **{_title(impact)}**: {'; '.join(parts)}."
    if item.description:
        text += f" _{inline(item.description, 200)}_"
    metric = c.metric(f"{item.kind}.{item.name}")
    if metric is not None and metric.delta:
        text += (
            f" Pass rate of its cases {w.value(metric, metric.base)} → "
            f"{w.value(metric, metric.head)}."
        )
    check = checks.get(f"{item.kind}.{item.name}")
    if check is not None and check.status in _STATUS_WORDS:
        text += f" Gate: {_STATUS_WORDS[check.status]}."
    if impact.layers:
        layer = impact.layers[0]
        hint = LAYER_HINTS.get(layer)
        text += f" Where to intervene: {layer_name(layer)}" + (f" ({hint})." if hint else ".")
    if impact.regressed and changed:
        text += f" What changed: {changed}."
    return text


def _primary(c: Comparison) -> str:
    key = c.head.spec.get("optimise_for") or c.base.spec.get("optimise_for")
    if not isinstance(key, str) or key not in _PRIMARY:
        return ""
    metric = c.metric(key)
    if metric is None or metric.delta is None:
        return f"The team optimises for {_PRIMARY[key]}; this comparison could not measure it."
    return (
        f"The team optimises for {_PRIMARY[key]}: {w.value(metric, metric.base)} → "
        f"{w.value(metric, metric.head)} ({w.change(metric, metric.delta)}, "
        f"{w.interval(metric, c.confidence)})."
    )


def spec_section(c: Comparison, checks: Mapping[str, Check]) -> str:
    """Empty when neither run had a spec."""
    if not (c.head.spec or c.base.spec):
        return ""
    blocks = ["### In the spec's words"]
    primary = _primary(c)
    if primary:
        blocks.append(primary)
    parts = changed_components(c.comparability)
    changed = "; ".join(parts)
    impacts = c.spec_impact
    if not impacts:
        blocks.append("No case linked to a behaviour or failure mode changed its outcome.")
        return "\n\n".join(blocks)
    lines = [_line(i, c, checks, changed) for i in impacts[:_MAX_ITEMS]]
    if len(impacts) > _MAX_ITEMS:
        lines.append(f"- and {len(impacts) - _MAX_ITEMS:,} more behaviours and failure modes")
    blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
