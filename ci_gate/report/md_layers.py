""" "Where to intervene": regressions grouped by layer, beside the components that changed.

A developer should read one sentence such as "The prompt "support" changed; 12 cases regressed
on output format (layer format)." and know where to look, then a table with the details.
"""

from __future__ import annotations

from collections.abc import Mapping

from ci_gate.compare.model import CaseChange, Comparability, Comparison
from ci_gate.gate.model import Check
from ci_gate.report import format as fmt
from ci_gate.report.md_tables import change_cell, gate_cell, table, value_cell
from ci_gate.report.sanitize import inline

LAYER_NAMES = {
    "format": "output format",
    "knowledge": "knowledge / retrieval",
    "instructions": "instructions / prompt",
    "tools": "tool calls",
    "safety": "safety / refusal",
    "latency": "latency",
    "cost": "cost",
}
LAYER_HINTS = {
    "format": "format instructions, output schema or parser, max tokens",
    "knowledge": "retrieval, context documents, facts stated in the prompt",
    "instructions": "wording of the system prompt and its examples",
    "tools": "tool definitions, descriptions and arguments",
    "safety": "refusal and safety instructions",
    "latency": "model choice, output length, streaming",
    "cost": "model choice, prompt and output length",
}
UNATTRIBUTED = "(no layer)"
_MAX_PROMPTS = 5
_EXAMPLES = 3


def layer_name(layer: str) -> str:
    return LAYER_NAMES.get(layer, inline(layer, 40))


def _on_layer(layer: str) -> str:
    if layer == UNATTRIBUTED:
        return "assertions without a layer"
    if layer in LAYER_NAMES:
        return f"{LAYER_NAMES[layer]} (layer {layer})"
    return f"layer {inline(layer, 40)}"


def regressions_by_layer(cases: tuple[CaseChange, ...]) -> dict[str, list[CaseChange]]:
    """Regressed cases under each layer that regressed in them, most cases first."""
    grouped: dict[str, list[CaseChange]] = {}
    for case in cases:
        if case.status != "regressed":
            continue
        for layer in dict.fromkeys(case.layers or (UNATTRIBUTED,)):
            grouped.setdefault(layer, []).append(case)
    order = sorted(grouped, key=lambda layer: (-len(grouped[layer]), layer))
    return {layer: grouped[layer] for layer in order}


def _quoted_list(items: tuple[str, ...]) -> str:
    shown = [f'"{inline(item, 60)}"' for item in items[:_MAX_PROMPTS]]
    if len(items) > _MAX_PROMPTS:
        shown.append(f"{len(items) - _MAX_PROMPTS:,} more")
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def changed_components(comp: Comparability) -> list[str]:
    """What changed between the runs, as noun phrases: 'the prompt "support"', ..."""
    parts: list[str] = []
    if comp.prompts_changed:
        noun = "prompt" if len(comp.prompts_changed) == 1 else "prompts"
        parts.append(f"the {noun} {_quoted_list(comp.prompts_changed)}")
    if comp.target_changed:
        parts.append("the target (model or its parameters)")
    if comp.assertions_changed:
        parts.append("the suite's default assertions")
    if comp.repeats_changed:
        parts.append("the number of repeats")
    if comp.prices_changed:
        parts.append("the price table")
    return parts


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def intervention_sentence(c: Comparison) -> str | None:
    grouped = regressions_by_layer(c.cases)
    if not grouped:
        return None
    counts = [
        f"{fmt.plural(len(cases), 'case') if i == 0 else f'{len(cases):,}'}"
        f"{' regressed' if i == 0 else ''} on {_on_layer(layer)}"
        for i, (layer, cases) in enumerate(grouped.items())
    ]
    parts = changed_components(c.comparability)
    if parts:
        changed = _join(parts)
        lead = f"{changed[0].upper()}{changed[1:]} changed"
    else:
        lead = (
            "No prompt, target, assertion or price changed between the runs, so the cause is "
            "outside what the suite records (code behind the target, or chance)"
        )
    return f"{lead}; {_join(counts)}."


def intervene_section(c: Comparison, checks: Mapping[str, Check]) -> str:
    sentence = intervention_sentence(c)
    if sentence is None:
        return ""
    layer_metrics = {m.key: m for m in c.layers}
    rows = []
    for layer, cases in regressions_by_layer(c.cases).items():
        m = layer_metrics.get(f"layer.{layer}")
        examples = ", ".join(inline(case.case_id, 40) for case in cases[:_EXAMPLES])
        if len(cases) > _EXAMPLES:
            examples += ", …"
        rows.append(
            (
                layer_name(layer),
                f"{len(cases):,}",
                value_cell(m, m.base) if m else fmt.MISSING,
                value_cell(m, m.head) if m else fmt.MISSING,
                change_cell(m) if m else fmt.MISSING,
                gate_cell(checks.get(f"layer.{layer}")),
                LAYER_HINTS.get(layer, ""),
                examples,
            )
        )
    headers = [
        "layer",
        "cases regressed",
        "baseline",
        "this run",
        "change",
        "gate",
        "where to look",
        "for example",
    ]
    explain = (
        "Pass rates of the assertions in each layer. A case counts under every layer in which "
        "one of its assertions went from passing to failing."
    )
    return "\n\n".join(["### Where to intervene", sentence, table(headers, rows), explain])
