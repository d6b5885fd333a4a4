"""The markdown tables of a report: quality, latency, cost, errors and the slices that moved.

Each function returns one section of markdown (heading included) or "" when it has nothing to
show. Every piece of text that came from a suite, a model or a provider goes through
:mod:`ci_gate.report.sanitize`; numbers go through :mod:`ci_gate.report.format`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from tabulate import tabulate

from ci_gate.compare.model import Comparison, MetricDelta
from ci_gate.gate.model import Check, GateResult
from ci_gate.report import format as fmt
from ci_gate.report.sanitize import details, inline

STATUS_MARK = {
    "ok": "✅",
    "warn": "⚠️",
    "fail": "❌",
    "inconclusive": "❔",
    "error": "🛑",
    "info": "ℹ️",
}
# Several checks can watch one metric (a max drop and a floor); the table shows the worst.
_SEVERITY = {"info": 0, "ok": 1, "warn": 2, "inconclusive": 3, "fail": 4, "error": 5}
MAX_SLICES = 15


def checks_by_key(gate: GateResult) -> dict[str, Check]:
    worst: dict[str, Check] = {}
    for check in gate.checks:
        seen = worst.get(check.key)
        if seen is None or _SEVERITY[check.status] > _SEVERITY[seen.status]:
            worst[check.key] = check
    return worst


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    # disable_numparse: cells are already formatted; tabulate must not re-read "0.003" as 0.003.
    return tabulate(list(rows), headers=list(headers), tablefmt="github", disable_numparse=True)


def gate_cell(check: Check | None) -> str:
    if check is None:
        return ""
    mark = STATUS_MARK[check.status]
    extra = [inline(check.threshold, 60)] if check.threshold else []
    if not check.blocking and check.status in ("warn", "fail", "inconclusive"):
        extra.append("warn only")
    return f"{mark} {', '.join(extra)}" if extra else mark


def change_cell(m: MetricDelta) -> str:
    """The change with its interval, in the unit that suits the metric's kind."""
    if m.kind in ("rate", "errors"):
        return fmt.with_interval(fmt.points(m.delta), fmt.interval(m.low, m.high, scale=100))
    if m.kind == "score":
        return fmt.with_interval(fmt.score_change(m.delta), fmt.interval(m.low, m.high, decimals=3))
    return fmt.with_interval(
        fmt.relative(m.delta, m.base), fmt.relative_interval(m.low, m.high, m.base)
    )


def value_cell(m: MetricDelta, value: float | None) -> str:
    if m.kind in ("rate", "errors"):
        return fmt.percent(value)
    if m.kind == "score":
        return fmt.score(value)
    if m.kind == "latency":
        return fmt.ms(value)
    if m.kind == "cost":
        return fmt.dollars(value)
    return fmt.count(value)


def _notes(metrics: Iterable[MetricDelta]) -> str:
    lines = [f"- {inline(m.label, 80)}: {inline(m.note, 300)}" for m in metrics if m.note]
    return "\n".join(lines)


def _section(heading: str, *blocks: str) -> str:
    return "\n\n".join([f"### {heading}", *(b for b in blocks if b)])


def _worth_a_row(m: MetricDelta, checks: Mapping[str, Check]) -> bool:
    """Overall metrics, gated ones and assertions that moved; the rest only add noise."""
    if not m.key.startswith("assertion.") or m.key in checks:
        return True
    return bool(m.regressed or m.fixed or (m.delta is not None and abs(m.delta) > 1e-12))


def quality_section(c: Comparison, checks: Mapping[str, Check], conf: str) -> str:
    if not c.quality:
        return ""
    shown = [m for m in c.quality if _worth_a_row(m, checks)]
    hidden = len(c.quality) - len(shown)
    rows = [
        (
            inline(m.label, 80),
            value_cell(m, m.base),
            value_cell(m, m.head),
            change_cell(m),
            fmt.p_value(m.p_value),
            f"{m.regressed:,} / {m.fixed:,}" if m.kind == "rate" else fmt.MISSING,
            gate_cell(checks.get(m.key)),
        )
        for m in shown
    ]
    headers = [
        "metric",
        "baseline",
        "this run",
        f"change ({conf} CI)",
        "p",
        "worse / better",
        "gate",
    ]
    explain = (
        f"Rates over {fmt.plural(c.comparability.compared, 'case')} present in both runs; "
        "changes are in percentage points. *p*: how often chance alone would produce a change "
        "this large if nothing had really changed (small means real). *worse / better*: cases "
        "that passed on the baseline and fail now, and the reverse."
    )
    if hidden:
        explain += f" {fmt.plural(hidden, 'assertion')} with no change not shown."
    return _section("Quality", table(headers, rows), explain, _notes(shown))


def latency_section(c: Comparison, checks: Mapping[str, Check], conf: str) -> str:
    if not c.latency:
        return ""
    rows = [
        (
            inline(m.label, 80),
            value_cell(m, m.base),
            value_cell(m, m.head),
            change_cell(m),
            gate_cell(checks.get(m.key)),
        )
        for m in c.latency
    ]
    headers = ["latency", "baseline", "this run", f"change ({conf} CI)", "gate"]
    explain = "Responses served from a cache are left out: their latency was not measured here."
    return _section("Latency", table(headers, rows), explain, _notes(c.latency))


def cost_section(c: Comparison, checks: Mapping[str, Check], conf: str) -> str:
    rows = [
        (
            inline(m.label, 80),
            value_cell(m, m.base),
            value_cell(m, m.head),
            change_cell(m),
            gate_cell(checks.get(m.key)),
        )
        for m in c.cost
    ]
    rows.append(
        (
            "spent in this run (cache hits are free)",
            fmt.dollars(c.spent_base_usd),
            fmt.dollars(c.spent_head_usd),
            fmt.MISSING,
            "",
        )
    )
    headers = ["cost", "baseline", "this run", f"change ({conf} CI)", "gate"]
    explain = (
        "Costs are at list price, as if no response came from a cache, so the two runs compare "
        "fairly; the last row is what each run actually spent."
    )
    return _section("Cost", table(headers, rows), explain, _notes(c.cost))


def errors_section(c: Comparison, checks: Mapping[str, Check]) -> str:
    m = c.errors
    check = checks.get(m.key)
    mark = f"{STATUS_MARK[check.status]} " if check else ""
    sentence = (
        f"{mark}Error rate: {fmt.percent(m.base)} on the baseline, {fmt.percent(m.head)} in this "
        "run. Calls that failed (timeouts, rate limits, server errors) count against the error "
        "budget, never as quality regressions."
    )
    blocks = [sentence]
    if check is not None and check.status not in ("ok", "info"):
        blocks.append(inline(check.reason, 400))
    errored = [case for case in c.cases if case.status == "errored"]
    if errored:
        lines = [
            f"- {inline(case.case_id, 100)}: {inline(case.head_error or 'no message', 200)}"
            for case in errored[:20]
        ]
        if len(errored) > 20:
            lines.append(f"- … and {len(errored) - 20:,} more not shown")
        summary = f"{fmt.plural(len(errored), 'case')} errored in this run"
        blocks.append(details(summary, "\n".join(lines)))
    return _section("Errors", *blocks)


def moved_slices(c: Comparison) -> list[MetricDelta]:
    moved = [m for m in c.slices if m.delta is not None and m.delta != 0]
    # Worst first: for a slice, a fall is worse; ties by name keep the order stable.
    return sorted(moved, key=lambda m: (m.delta if m.higher_is_better else -(m.delta or 0), m.key))


def slices_section(c: Comparison, checks: Mapping[str, Check], conf: str) -> str:
    moved = moved_slices(c)
    if not moved:
        return ""
    adjusted = False
    rows = []
    for m in moved[:MAX_SLICES]:
        check = checks.get(m.key)
        p = m.p_value
        if check is not None and check.adjusted_p is not None:
            p, adjusted = check.adjusted_p, True
        rows.append(
            (
                inline(m.label, 80),
                f"{m.n:,}",
                value_cell(m, m.base),
                value_cell(m, m.head),
                change_cell(m),
                fmt.p_value(p),
                gate_cell(check),
            )
        )
    headers = ["slice (tag)", "cases", "baseline", "this run", f"change ({conf} CI)", "p", "gate"]
    explain = "Slices are the cases that share a tag. They warn but never fail the gate"
    explain += (
        "; p is adjusted for looking at many slices at once (Benjamini-Hochberg)."
        if adjusted
        else "."
    )
    if len(moved) > MAX_SLICES:
        explain += f" {fmt.plural(len(moved) - MAX_SLICES, 'more slice')} moved (not shown)."
    return _section("Slices that moved", table(headers, rows), explain)


def other_checks_section(gate: GateResult, shown: set[str]) -> str:
    """Checks on something no table shows (a budget, comparability, a trade-off rule)."""
    lines = [
        f"- {STATUS_MARK[ch.status]} {inline(ch.reason, 300)}"
        for ch in gate.checks
        if ch.key not in shown
    ]
    return _section("Other checks", "\n".join(lines)) if lines else ""
