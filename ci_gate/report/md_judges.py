"""The report's "Judges" section: which judged assertions could block and why not, what grading
cost, and the pairwise preference of head over base.

A reader must never mistake an advisory judge for a gate: each advisory assertion is listed with
the reason from its calibration. Judge cost is shown apart from the product's own cost, which is
what the cost gate compares.
"""

from __future__ import annotations

from ci_gate.compare.model import Comparison
from ci_gate.compare.preference import PreferenceSummary, Rate
from ci_gate.report import format as fmt
from ci_gate.report import md_tables as tables
from ci_gate.report.sanitize import inline
from ci_gate.results.model import RunInfo

_MAX_ROWS = 10


def _rate(r: Rate, confidence: object) -> str:
    return (
        f"{fmt.percent(r.share)} ({r.count:,}; {fmt.confidence(confidence)} CI "
        f"{fmt.percent(r.low)} to {fmt.percent(r.high)})"
    )


def preference_block(p: PreferenceSummary, confidence: object) -> str:
    m = p.metric
    model = f" ({inline(p.model, 60)})" if p.model else ""
    ci = fmt.interval(m.low, m.high, 100.0)
    ci_text = f"{fmt.confidence(confidence)} CI {ci[1:-1]} pt; " if ci else ""
    lines = [
        f"**Pairwise preference** judged by {inline(p.judge, 60)}{model} on "
        f"{fmt.plural(p.judged, 'case')}, the two outputs in random order per case:",
        "",
        f"- head preferred: {_rate(p.wins, confidence)}",
        f"- tie: {_rate(p.ties, confidence)}",
        f"- base preferred: {_rate(p.losses, confidence)}",
        f"- net preference for head (wins minus losses): {fmt.points(m.delta)} "
        f"({ci_text}one-sided p that head is worse {fmt.p_value(m.p_worse)})",
    ]
    if p.errors:
        lines.append(
            f"- {fmt.plural(p.errors, 'case')} could not be judged (the judge failed); they "
            "count neither way"
        )
    return "\n".join(lines)


def _statuses(run: RunInfo) -> str | None:
    if not run.judges:
        return None
    rows = []
    for j in run.judges[:_MAX_ROWS]:
        model = f" ({inline(j.model, 40)})" if j.model else ""
        status = "can fail cases" if j.advisory is None else inline(j.advisory, 300)
        rows.append(
            (inline(j.assertion, 60), inline(j.type, 30), inline(j.judge, 40) + model, status)
        )
    text = tables.table(["assertion", "type", "judge", "status"], rows)
    more = len(run.judges) - _MAX_ROWS
    if more > 0:
        text += f"\n\n…and {more:,} more judged assertions."
    return text


def _usage(run: RunInfo) -> str | None:
    t = run.totals
    if not (t.judge_calls or t.judge_input_tokens):
        return None
    return (
        f"Grading used {t.judge_input_tokens + t.judge_output_tokens:,} judge tokens "
        f"({fmt.dollars(t.judge_cost_usd)} at list price; {fmt.plural(t.judge_calls, 'call')} "
        "made in this run). This is not part of the cost compared above."
    )


def judges_section(c: Comparison, preference: PreferenceSummary | None) -> str | None:
    """None when the runs used no judge and no pairwise preference was asked for."""
    blocks = [b for b in (_statuses(c.head), _usage(c.head)) if b]
    if preference is not None:
        blocks.append(preference_block(preference, c.settings.get("confidence")))
    if not blocks:
        return None
    advisory = [j for j in c.head.judges if j.advisory is not None]
    if advisory:
        blocks.insert(
            0,
            f"{fmt.plural(len(advisory), 'judged assertion')} only advised in this run: their "
            "failures are shown but did not fail cases, because the judge's calibration does "
            "not meet the suite's thresholds.",
        )
    return "\n\n".join(["### Judges", *blocks])
