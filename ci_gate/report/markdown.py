"""The markdown report of a comparison: what a developer reads in the PR comment.

Sections, in order: headline (verdict and why), the changes in the spec's words (by failure
mode and behaviour, when the suite has a spec), quality, latency, cost, errors, slices that
moved, consistency across groups, where to intervene, newly failing and fixed cases, what
changed between the runs, footer. The output depends only on its inputs (ages come from the two
runs' timestamps, never the clock), so it can be compared with golden files. Untrusted text
goes through :mod:`ci_gate.report.sanitize`; the whole report is capped at ``limit`` characters.
"""

from __future__ import annotations

import re

from ci_gate.compare.model import Comparison
from ci_gate.gate.model import GateResult
from ci_gate.report import format as fmt
from ci_gate.report import md_tables as tables
from ci_gate.report.md_cases import cases_section
from ci_gate.report.md_consistency import consistency_section
from ci_gate.report.md_judges import judges_section
from ci_gate.report.md_layers import changed_components, intervene_section, regressions_by_layer
from ci_gate.report.md_spec import spec_section
from ci_gate.report.sanitize import cap_markdown, inline
from ci_gate.results.model import RunInfo

DEFAULT_LIMIT = 60_000
VERDICT_MARK = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️", "error": "🛑"}
VERDICT_WORD = {"pass": "Pass", "fail": "Fail", "inconclusive": "Inconclusive", "error": "Error"}
MODE_TEXT = {
    "pr": (
        "Pull-request mode: a blocking metric fails the gate only when its drop is larger than "
        "the allowed margin and too large to be chance."
    ),
    "release": (
        "Release mode: the gate passes only when even the pessimistic end of each confidence "
        "interval stays within the allowed margin."
    ),
}
_MAX_IDS = 20
_VERSION_RE = re.compile(r"[0-9][0-9A-Za-z.+-]{0,29}")
_SHA_RE = re.compile(r"[0-9a-fA-F]{7,64}")
# Room kept for the cut note and the separators between sections.
_RESERVE = 400
_HEADING_RE = re.compile(r"^### (.+)$", re.MULTILINE)


def _mde_sentence(gate: GateResult, compared: int) -> str:
    parts = []
    if gate.mde is not None:
        parts.append(
            f"With {fmt.plural(compared, 'case')}, the smallest drop in pass rate this suite "
            f"can reliably detect is {fmt.points_words(gate.mde)}."
        )
    if gate.cases_needed is not None:
        parts.append(
            f"About {fmt.plural(gate.cases_needed, 'case')} would be needed to detect a drop "
            "as small as the allowed margin."
        )
    return " ".join(parts)


def _headline(c: Comparison, gate: GateResult, title: str | None) -> str:
    name = inline(title, 120) if title is not None else f"ci-gate · {inline(c.head.suite_name, 80)}"
    lines = [f"## {VERDICT_MARK[gate.verdict]} {VERDICT_WORD[gate.verdict]} — {name}"]
    lines.append(f"**{inline(gate.headline, 400)}**")
    reasons = [f"- {inline(r, 400)}" for r in gate.reasons]
    reasons += [f"- Accepted trade-off: {inline(t, 300)}" for t in gate.tradeoffs_applied]
    if reasons:
        lines.append("\n".join(reasons))
    if not c.comparability.comparable:
        lines.append(
            "🛑 The two runs differ in more than the change under test (see *What changed "
            "between the runs*), so the numbers below are for reference only."
        )
    if gate.verdict == "inconclusive":
        mde = _mde_sentence(gate, c.comparability.compared)
        if mde:
            lines.append(mde)
    lines.append(f"<sub>{MODE_TEXT[gate.mode]}</sub>")
    return "\n\n".join(lines)


def _ids(label: str, ids: tuple[str, ...]) -> str:
    shown = ", ".join(inline(i, 60) for i in ids[:_MAX_IDS])
    more = f" and {len(ids) - _MAX_IDS:,} more" if len(ids) > _MAX_IDS else ""
    return f"- {label} ({len(ids):,}): {shown}{more}"


def _target(run: RunInfo) -> str:
    model = f" ({inline(run.model, 60)})" if run.model else ""
    return f"{inline(run.target_id, 60)}: {inline(run.provider, 30)}{model}"


def _changes_section(c: Comparison) -> str:
    comp = c.comparability
    rows = [
        ("suite", inline(c.base.suite_name, 60), inline(c.head.suite_name, 60)),
        ("target", _target(c.base), _target(c.head)),
        ("repeats per case", f"{c.base.repeats:,}", f"{c.head.repeats:,}"),
        ("prices dated", inline(c.base.prices_date, 30), inline(c.head.prices_date, 30)),
        ("cases run", f"{c.base.totals.cases:,}", f"{c.head.totals.cases:,}"),
    ]
    blocks = [tables.table(["", "baseline", "this run"], rows)]
    parts = changed_components(comp)
    if parts:
        blocks.append("Changed: " + "; ".join(parts) + ".")
    else:
        blocks.append("No prompt, target, default assertion, repeat count or price changed.")
    listed = [
        _ids("Added in this run", comp.added) if comp.added else "",
        _ids("Removed since the baseline", comp.removed) if comp.removed else "",
        _ids("Changed inputs, expectation or assertions", comp.changed) if comp.changed else "",
    ]
    listed = [line for line in listed if line]
    if listed:
        blocks.append(
            f"{fmt.plural(comp.compared, 'case')} compared. These are listed apart and never "
            "counted as regressions:\n\n" + "\n".join(listed)
        )
    else:
        blocks.append(f"The same {fmt.plural(comp.compared, 'case')} ran on both sides.")
    if not comp.comparable:
        reasons = "\n".join(f"- {inline(r, 300)}" for r in comp.reasons)
        blocks.append(f"🛑 **The runs cannot be compared fairly:**\n\n{reasons}")
    return "\n\n".join(["### What changed between the runs", *blocks])


def _commit(run: RunInfo) -> str:
    commit = run.git.commit if run.git else None
    if not commit:
        return "an unknown commit"
    text = f"`{commit[:7]}`" if _SHA_RE.fullmatch(commit) else inline(commit, 40)
    if run.git and run.git.branch:
        text += f" on {inline(run.git.branch, 60)}"
    if run.git and run.git.dirty:
        text += " (with uncommitted changes)"
    return text


def _version(run: RunInfo) -> str:
    # A plain version needs no escaping; inline() would escape "0.1.0" as a list marker "0\\.".
    v = run.ci_gate_version
    return v if _VERSION_RE.fullmatch(v) else inline(v, 30)


def _footer(c: Comparison, gate: GateResult) -> str:
    age = fmt.age(c.base.finished_at, c.head.finished_at)
    age_text = f", {age} older than this run" if age else ""
    lines = [
        f"Baseline: {_commit(c.base)}{age_text}. This run: {_commit(c.head)}.",
    ]
    settings = c.settings
    stats = []
    if isinstance(settings.get("seed"), int):
        stats.append(f"seed {settings['seed']}")
    if isinstance(settings.get("resamples"), int):
        stats.append(f"{settings['resamples']:,} bootstrap resamples")
    stats.append(f"{fmt.confidence(settings.get('confidence'))} confidence intervals")
    version = f"ci-gate {_version(c.head)}"
    if c.base.ci_gate_version != c.head.ci_gate_version:
        version += f" (baseline made by {_version(c.base)})"
    lines.append(f"{version} · {', '.join(stats)}.")
    if gate.verdict != "inconclusive":
        mde = _mde_sentence(gate, c.comparability.compared)
        if mde:
            lines.append(mde)
    return "<sub>" + "<br>".join(lines) + "</sub>"


def _cut_note(text: str, limit: int) -> str:
    """The note for :func:`cap_markdown`: which sections the cut loses, at the most."""
    probe = cap_markdown(text, limit, "x" * 300)
    kept = set(_HEADING_RE.findall(probe))
    lost = [h for h in _HEADING_RE.findall(text) if h not in kept]
    where = f" ({', '.join(lost)})" if lost else ""
    note = (
        f"_✂️ This report was cut to {limit:,} characters; the rest{where} is in the full "
        "report (JSON)._"
    )
    return note if len(note) <= 300 else note[:299] + "_"


def render_markdown(
    comparison: Comparison,
    gate: GateResult,
    *,
    limit: int = DEFAULT_LIMIT,
    title: str | None = None,
) -> str:
    """The report as GitHub-flavoured markdown of at most ``limit`` characters."""
    c = comparison
    checks = tables.checks_by_key(gate)
    conf = fmt.confidence(c.settings.get("confidence"))
    # Checks on metrics that no table shows are listed apart, so that none goes unseen.
    shown = {m.key for m in (*c.quality, *c.latency, *c.cost, c.errors)}
    shown |= {m.key for m in tables.moved_slices(c)[: tables.MAX_SLICES]}
    shown |= {f"layer.{layer}" for layer in regressions_by_layer(c.cases)}
    before = [
        _headline(c, gate, title),
        spec_section(c, checks),
        tables.quality_section(c, checks, conf),
        tables.latency_section(c, checks, conf),
        tables.cost_section(c, checks, conf),
        tables.errors_section(c, checks),
        tables.other_checks_section(gate, shown),
        tables.slices_section(c, checks, conf),
        consistency_section(c, checks, conf),
        judges_section(c, c.preference),
        intervene_section(c, checks),
    ]
    after = [_changes_section(c), _footer(c, gate)]
    fixed_len = sum(len(s) + 2 for s in (*before, *after) if s)
    cases = cases_section(c, max(limit - fixed_len - _RESERVE, 0))
    text = "\n\n".join(s for s in (*before, cases, *after) if s) + "\n"
    if len(text) <= limit:
        return text
    return cap_markdown(text, limit, _cut_note(text, limit))
