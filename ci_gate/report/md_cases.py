"""Newly failing and newly fixed cases, each in a collapsed block, fitted to a length budget.

A PR comment has room for about 60,000 characters and one model output can be a megabyte, so
the blocks are rendered at decreasing levels of detail (how much of each text is shown) until
they fit the budget the rest of the report leaves; only then are cases left out, last first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ci_gate.compare.model import CaseChange, Comparison
from ci_gate.report import format as fmt
from ci_gate.report.md_layers import layer_name
from ci_gate.report.sanitize import code_block, details, diff_block, inline

MAX_REGRESSED = 20
MAX_FIXED = 10
# Characters of each untrusted text shown per case; tried in order until the section fits.
DETAIL_LEVELS = (4000, 2000, 1000, 400, 150)
_FULL_OUTPUTS_FROM = 1000  # below this level only the diff is shown, not both outputs


def _compact_json(value: object) -> str:
    try:
        return json.dumps(
            value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
        )
    except (TypeError, ValueError):  # keys of mixed types cannot be sorted; cycles
        return repr(value)


def _summary(case: CaseChange, tail: str) -> str:
    parts = [case.case_id]
    if case.tags:
        parts.append(", ".join(case.tags))
    parts.append(tail)
    return " — ".join(parts)


def _rates(case: CaseChange, repeats: int) -> str:
    """ "Passed 3 of 3 samples on the baseline, 1 of 3 in this run." when repeats matter."""
    base, head = case.base_pass_rate, case.head_pass_rate
    if repeats <= 1 and base in (0.0, 1.0, None) and head in (0.0, 1.0, None):
        return ""
    return (
        f"Pass rate over {fmt.plural(repeats, 'sample')}: {fmt.percent(base, 0)} on the "
        f"baseline, {fmt.percent(head, 0)} in this run."
    )


def _failed_assertions(case: CaseChange) -> list[str]:
    return [a.name for a in case.assertions if a.head_passed is False]


def _assertion_lines(case: CaseChange) -> str:
    lines = []
    for a in case.assertions:
        if a.head_passed is not False:
            continue
        was = " — passed on the baseline" if a.base_passed else ""
        lines.append(
            f"- **{inline(a.name, 60)}** ({inline(a.type, 30)}, {layer_name(a.layer)}){was}: "
            f"{inline(a.head_message, 300) or 'no message'}"
        )
    return "\n".join(lines)


def _text_block(label: str, text: str | None, limit: int) -> str:
    if text is None:
        return f"**{label}**: _none_"
    return f"**{label}**\n\n{code_block(text, limit)}"


def _parting(a: str, b: str) -> int:
    """The length of the common start of ``a`` and ``b`` (by halving: fast on megabytes)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _diff(base: str | None, head: str | None, limit: int) -> str:
    # The diff shows at most ``limit`` characters; diffing more than a few times that is waste.
    cut = limit * 3
    a, b = base or "", head or ""
    if a[:cut] != b[:cut] or a == b:
        return diff_block(a[:cut], b[:cut], limit)
    # Long texts that part after the cut: diffing their starts would call them identical.
    parting = _parting(a, b)
    start = max(a.rfind("\n", 0, parting) + 1, parting - limit // 2)
    block = diff_block(a[start : start + cut], b[start : start + cut], limit)
    return f"_The first {start:,} characters are the same; the diff starts after them._\n\n{block}"


def regressed_block(case: CaseChange, limit: int, repeats: int) -> str:
    failed = _failed_assertions(case)
    tail = ", ".join(failed) if failed else "fails now"
    parts = [_rates(case, repeats)]
    if case.group:
        parts.append(f"Group: {inline(case.group, 80)}")
    lines = _assertion_lines(case)
    if lines:
        parts.append(f"**Failing in this run**\n\n{lines}")
    parts.append(f"**Input**\n\n{code_block(_compact_json(case.vars), limit, lang='json')}")
    if case.expected is not None:
        expected = case.expected if isinstance(case.expected, str) else _compact_json(case.expected)
        parts.append(_text_block("Expected", expected, limit))
    parts.append(
        f"**Output, baseline → this run**\n\n{_diff(case.base_output, case.head_output, limit)}"
    )
    if limit >= _FULL_OUTPUTS_FROM:
        parts.append(_text_block("Baseline output", case.base_output, limit))
        parts.append(_text_block("Output in this run", case.head_output, limit))
    return details(_summary(case, tail), "\n\n".join(p for p in parts if p))


def fixed_block(case: CaseChange, limit: int, repeats: int) -> str:
    parts = [_rates(case, repeats), _diff(case.base_output, case.head_output, limit // 2)]
    return details(_summary(case, "passes now"), "\n\n".join(p for p in parts if p))


def _group(heading: str, intro: str, blocks: Sequence[str], total: int, shown: int) -> str:
    if total == 0:
        return ""
    parts = [f"### {heading} ({total:,})", intro, *blocks[:shown]]
    if total > shown:
        parts.append(f"_… and {total - shown:,} more not shown (all are in the JSON report)._")
    return "\n\n".join(parts)


def _others(c: Comparison) -> str:
    counts = {
        status: sum(1 for case in c.cases if case.status == status)
        for status in ("still_failing", "flaky", "errored")
    }
    words = {
        "still_failing": "still failing as on the baseline",
        "flaky": "flaky (their samples disagree)",
        "errored": "errored in this run (see Errors)",
    }
    found = [f"{n:,} {words[s]}" for s, n in counts.items() if n]
    if not found:
        return ""
    return "Not counted as regressions: " + "; ".join(found) + "."


def cases_section(c: Comparison, budget: int) -> str:
    """Both groups of cases in at most ``budget`` characters (unless even headings do not fit)."""
    regressed = sorted((x for x in c.cases if x.status == "regressed"), key=lambda x: -x.severity)
    fixed = sorted((x for x in c.cases if x.status == "fixed"), key=lambda x: -x.severity)
    repeats = max(c.head.repeats, c.base.repeats, 1)
    reg_intro = (
        "Cases that passed on the baseline and fail in this run, worst first. Open one to see "
        "its input, the expected answer and both outputs."
    )
    fix_intro = "Cases that failed on the baseline and pass in this run."
    others = _others(c)

    def render(reg: Sequence[str], fix: Sequence[str], n_reg: int, n_fix: int) -> str:
        groups = [
            _group("Newly failing cases", reg_intro, reg, len(regressed), n_reg),
            _group("Newly fixed cases", fix_intro, fix, len(fixed), n_fix),
            others,
        ]
        return "\n\n".join(g for g in groups if g)

    n_reg, n_fix = min(len(regressed), MAX_REGRESSED), min(len(fixed), MAX_FIXED)
    reg_blocks: list[str] = []
    fix_blocks: list[str] = []
    for limit in DETAIL_LEVELS:
        reg_blocks = [regressed_block(x, limit, repeats) for x in regressed[:n_reg]]
        fix_blocks = [fixed_block(x, limit, repeats) for x in fixed[:n_fix]]
        text = render(reg_blocks, fix_blocks, n_reg, n_fix)
        if len(text) <= budget:
            return text
    # Least detail and still too long: leave cases out, fixed ones first, then the last failing.
    while n_reg or n_fix:
        if n_fix:
            n_fix -= 1
        else:
            n_reg -= 1
        text = render(reg_blocks, fix_blocks, n_reg, n_fix)
        if len(text) <= budget:
            return text
    return render(reg_blocks, fix_blocks, 0, 0)
