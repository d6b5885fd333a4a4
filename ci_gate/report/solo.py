"""A report of one run with nothing to compare it with: a first run, a stored baseline, a shard.

No verdict on a change can come from one run, so this report states the run's own figures and
lists the cases that failed or errored, with the same escaping as the comparison report.
"""

from __future__ import annotations

from collections import defaultdict

from tabulate import tabulate

from ci_gate.report import format as fmt
from ci_gate.report.markdown import VERDICT_MARK, VERDICT_WORD
from ci_gate.report.sanitize import cap_markdown, inline
from ci_gate.results.model import Record, Results, measured_latencies
from ci_gate.stats.quantiles import percentile

MAX_CASES = 25
DEFAULT_LIMIT = 60_000


def _latency(results: Results, q: float) -> str:
    values = measured_latencies(results.records)
    return fmt.ms(percentile(values, q)) if values else "n/a"


def figures_table(results: Results) -> str:
    t = results.run.totals
    scored = t.passed + t.failed
    rows = [
        [
            f"{t.cases:,}",
            f"{t.records:,}",
            fmt.percent(t.passed / scored) if scored else "n/a",
            f"{t.failed:,}",
            f"{t.errored:,}",
            _latency(results, 50),
            _latency(results, 95),
            fmt.dollars(t.cost_usd),
        ]
    ]
    headers = ["cases", "samples", "pass rate", "failed", "errors", "p50", "p95", "cost"]
    return str(tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True))


def _why(records: list[Record]) -> str:
    for record in records:
        if record.error is not None:
            return f"error ({record.error.kind}): {record.error.message}"
    for record in records:
        failing = [a for a in record.assertions if not a.passed]
        if failing:
            a = failing[0]
            return f"{a.name}: {a.message}" if a.message else a.name
    return ""


def problem_cases(results: Results, limit: int = MAX_CASES) -> str:
    """A list of the cases with a failed or errored sample, each with its first reason."""
    by_case: dict[str, list[Record]] = defaultdict(list)
    for record in results.records:
        if record.error is not None or record.passed is False:
            by_case[record.case_id].append(record)
    if not by_case:
        return ""
    lines = [f"**Cases that failed or errored ({len(by_case):,})**", ""]
    for case_id in list(by_case)[:limit]:
        why = _why(by_case[case_id])
        reason = f": {inline(why, 300)}" if why else ""
        lines.append(f"- **{inline(case_id, 100)}**{reason}")
    if len(by_case) > limit:
        lines.append(f"- … and {len(by_case) - limit:,} more (see the results file)")
    return "\n".join(lines)


def render_solo(
    results: Results,
    *,
    verdict: str,
    headline: str,
    notes: tuple[str, ...] = (),
    limit: int = DEFAULT_LIMIT,
) -> str:
    """Markdown for one run: headline, notes (already safe markdown), figures, failing cases."""
    run = results.run
    name = inline(run.suite_name, 80)
    parts = [
        f"## {VERDICT_MARK.get(verdict, '')} {VERDICT_WORD.get(verdict, verdict)} — "
        f"ci-gate · {name}",
        f"**{inline(headline, 400)}**",
        *notes,
        f"Target {inline(run.target_id, 60)}"
        + (f" (model {inline(run.model, 60)})" if run.model else "")
        + f", {run.repeats} sample(s) per case.",
        figures_table(results),
        problem_cases(results),
    ]
    text = "\n\n".join(p for p in parts if p) + "\n"
    note = "_The report was cut to fit; the results file has every case._"
    return text if len(text) <= limit else cap_markdown(text, limit, note)
