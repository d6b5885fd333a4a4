"""The "Consistency across groups" section: do paraphrases of one question still get the same
verdict? Shown only when the suite has groups of two or more compared cases.

One sentence with the overall agreement on each side and its interval, then up to
``MAX_GROUPS`` groups that got less consistent, worst first. Group names come from the suite
(and may echo anything) so they go through ``inline`` like every other name in the report.
"""

from __future__ import annotations

from collections.abc import Mapping

from ci_gate.compare.consistency import LAYER
from ci_gate.compare.model import Comparison, GroupChange
from ci_gate.gate.model import Check
from ci_gate.report import format as fmt
from ci_gate.report.md_layers import LAYER_HINTS, layer_name
from ci_gate.report.md_tables import gate_cell, table
from ci_gate.report.sanitize import inline

MAX_GROUPS = 5


def _verdicts(passing: int, cases: int) -> str:
    if passing == cases:
        return f"all {cases:,} pass"
    if passing == 0:
        return f"all {cases:,} fail"
    return f"{passing:,} of {cases:,} pass"


def _outputs(group: GroupChange) -> str:
    base, head = group.base_output_agreement, group.head_output_agreement
    if base is None and head is None:
        return fmt.MISSING
    return f"{fmt.score(base)} → {fmt.score(head)}"


def consistency_section(c: Comparison, checks: Mapping[str, Check], conf: str) -> str:
    m = c.metric("quality.consistency")
    diff = c.consistency
    if m is None or diff is None:
        return ""
    check = checks.get(m.key)
    gate = gate_cell(check)
    ci = fmt.interval(m.low, m.high, scale=100)[1:-1]  # without its parentheses
    change = fmt.points(m.delta) + (f", {conf} CI {ci}" if ci else "")
    lines = [
        f"Verdict agreement within groups of paraphrased cases: {fmt.percent(m.base)} on the "
        f"baseline, {fmt.percent(m.head)} in this run (change {change}) over "
        f"{fmt.plural(diff.groups, 'group')}" + (f"; gate: {gate}" if gate else "") + "."
    ]
    if check is not None and check.status not in ("ok", "info"):
        lines.append(inline(check.reason, 400))
    if not diff.dropped_count:
        lines.append("No group got less consistent.")
        return "\n\n".join(["### Consistency across groups", *lines])
    rows = [
        (
            inline(g.group, 60),
            f"{g.cases:,}",
            f"{_verdicts(g.base_passing, g.cases)} ({fmt.percent(g.base_agreement)})",
            f"{_verdicts(g.head_passing, g.cases)} ({fmt.percent(g.head_agreement)})",
            _outputs(g),
        )
        for g in diff.dropped[:MAX_GROUPS]
    ]
    headers = ["group", "cases", "baseline", "this run", "outputs agree"]
    explain = (
        "Agreement is the share of a group's cases with the group's majority verdict; *outputs "
        "agree* is the mean word and spelling similarity of their answers (0 to 1). Paraphrases "
        f"that stop agreeing point at {layer_name(LAYER)}: {LAYER_HINTS[LAYER]}."
    )
    more = diff.dropped_count - min(MAX_GROUPS, len(diff.dropped))
    if more > 0:
        explain += f" {fmt.plural(more, 'more group')} got less consistent (see the JSON report)."
    return "\n\n".join(
        [
            "### Consistency across groups",
            *lines,
            f"{fmt.plural(diff.dropped_count, 'group')} got less consistent:",
            table(headers, rows),
            explain,
        ]
    )
