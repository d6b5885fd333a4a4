"""Two runs of a support bot that a prompt change made worse, and the report pages built from them.

Each kind of case the viewer tells apart is there: regressed (on two layers, under two tags),
fixed, errored, still failing, unchanged, added, removed, and one regressed case whose id and
output are hostile (markup, a script end tag, a comment opener, bidi and zero-width characters).
The suite has a spec (``SPEC``): the refund cases link to a failure mode through the assertion
that regressed, the format cases by themselves, the fixed and errored cases to a behaviour, the
hostile case to a failure mode whose name and description are hostile too, and some unchanged
cases to a failure mode and (through an assertion) a behaviour that did not move.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from ci_gate.baseline.index import IndexEntry
from ci_gate.compare.compare import compare
from ci_gate.compare.model import Comparison
from ci_gate.gate.decide import decide
from ci_gate.gate.model import GateResult
from ci_gate.gate.policy import parse_policy
from ci_gate.report.html import write_html
from ci_gate.report.html_data import viewer_data
from ci_gate.results.model import Record, Results, SpecLinks
from tests.factories import outcome, record, results, scored

HOSTILE_ID = "hostile-<b>id</b>"
HOSTILE_OUTPUT = (
    '<img src=x onerror="window.__pwned=1"> </script><script>window.__pwned=2</script> '
    "<!-- comment \u202eevil\u202c a\u200bb & <b>bold</b>"
)
GATE = {"quality": {"pass_rate": {"max_drop": "2pt"}}, "bootstrap": {"resamples": 200}}
HOSTILE_MODE = 'lies-<img src=x onerror="window.__pwned=3">'
HOSTILE_DESCRIPTION = (
    "</script><script>window.__pwned=4</script><!-- \u202eevil\u202c <b>bold</b> & more"
)
SPEC: dict[str, Any] = {
    "goal": "Answer customers from the help center.",
    "optimise_for": "quality.pass_rate",
    "behaviours": [
        {"name": "answers-from-help-center", "description": "States the help center's facts."},
        {"name": "greets", "description": "Opens with a greeting."},
    ],
    "failure_modes": [
        {
            "name": "invents-refund-policy",
            "description": "Promises a refund that the refund policy does not give.",
            "severity": "high",
        },
        {
            "name": "breaks-the-order-page",
            "description": "Answers with text the order page cannot parse.",
            "severity": "critical",
        },
        {"name": HOSTILE_MODE, "description": HOSTILE_DESCRIPTION, "severity": "low"},
        {
            "name": "leaks-data",
            "description": "Shares another customer's data.",
            "severity": "critical",
        },
    ],
}
# The failure modes that moved, most severe first, with the cases that newly fail under each.
SPEC_REGRESSED = {
    "breaks-the-order-page": {f"format-{i:02d}" for i in range(3)},
    "invents-refund-policy": {f"refund-{i:02d}" for i in range(12)},
    HOSTILE_MODE: {HOSTILE_ID},
}


def _case(case_id: str, passed: bool, layer: str, output: str, **kw: Any) -> Record:
    facts = outcome(
        "mentions-policy",
        passed,
        layer=layer,
        message="" if passed else f"expected 'refund policy' in the answer of {case_id}",
    )
    polite = outcome("polite", True, layer="instructions")
    return scored(case_id, 0, facts, polite, output=output, **kw)


def runs() -> tuple[Results, Results]:
    base: list[Record] = []
    head: list[Record] = []
    tags: dict[str, tuple[str, ...]] = {}
    for i in range(12):  # regressed on knowledge
        cid = f"refund-{i:02d}"
        tags[cid] = ("refunds",)
        base.append(
            _case(cid, True, "knowledge", f"Refunds take 30 days under our refund policy ({i}).")
        )
        head.append(
            _case(cid, False, "knowledge", f"Refunds take a while ({i}).", latency_ms=180.0)
        )
    for i in range(3):  # regressed on format
        cid = f"format-{i:02d}"
        tags[cid] = ("refunds", "format")
        base.append(_case(cid, True, "format", '{"answer": "yes"}'))
        head.append(_case(cid, False, "format", "yes"))
    for i in range(4):  # fixed
        cid = f"ship-{i:02d}"
        tags[cid] = ("shipping",)
        base.append(_case(cid, False, "knowledge", "We ship somewhere."))
        head.append(
            _case(cid, True, "knowledge", "We ship to 42 countries; see the refund policy.")
        )
    for i in range(2):  # errored in this run
        cid = f"timeout-{i:02d}"
        tags[cid] = ("billing",)
        base.append(_case(cid, True, "knowledge", "Your invoice is in Settings."))
        head.append(record(cid, 0, error=("timeout", "the provider did not answer in 30 s")))
    cid = "still-bad"
    base.append(_case(cid, False, "knowledge", "No idea."))
    head.append(_case(cid, False, "knowledge", "Still no idea."))
    for i in range(30):  # unchanged
        cid = f"ok-{i:02d}"
        tags[cid] = ("billing",)
        base.append(_case(cid, True, "knowledge", f"Answer {i} per the refund policy."))
        head.append(_case(cid, True, "knowledge", f"Answer {i} per the refund policy."))
    tags[HOSTILE_ID] = ("refunds", "<script>tag</script>")
    base.append(_case(HOSTILE_ID, True, "safety", "A calm answer citing the refund policy."))
    head.append(_case(HOSTILE_ID, False, "safety", HOSTILE_OUTPUT))
    base.append(_case("removed-case", True, "knowledge", "Gone in this run."))
    head.append(_case("added-case", True, "knowledge", "New in this run."))
    return (
        _linked(results(base, tags=tags, gate=GATE)),
        _linked(results(head, tags=tags, gate=GATE)),
    )


def _linked(run: Results) -> Results:
    """``run`` with the spec and the cases' links to it."""
    cases = {}
    for cid, info in run.cases.items():
        if cid.startswith("refund-"):
            refund = SpecLinks(failure_modes=("invents-refund-policy",))
            info = replace(info, assertion_links={"mentions-policy": refund})
        elif cid.startswith("format-"):
            info = replace(info, failure_modes=("breaks-the-order-page",))
        elif cid.startswith(("ship-", "timeout-")):
            info = replace(info, behaviours=("answers-from-help-center",))
        elif cid == HOSTILE_ID:
            info = replace(info, failure_modes=(HOSTILE_MODE,))
        elif cid.startswith("ok-0"):
            greets = SpecLinks(behaviours=("greets",))
            info = replace(info, failure_modes=("leaks-data",), assertion_links={"polite": greets})
        cases[cid] = info
    return replace(run, cases=cases, run=replace(run.run, spec=SPEC))


def compared() -> tuple[Results, Results, Comparison, GateResult]:
    base, head = runs()
    comparison = compare(base, head, resamples=200, seed=1)
    gate = decide(comparison, parse_policy(GATE), "pr")
    return base, head, comparison, gate


def history(base: Results) -> list[IndexEntry]:
    entries = []
    for i, rate in enumerate((0.95, 0.97, 0.96)):
        entries.append(
            IndexEntry(
                commit=f"{i:x}" * 40,
                branch="main",
                tag=None,
                created_at=f"2026-11-2{i}T00:00:00.000+00:00",
                path=f"s/{i}.json",
                size=1,
                pass_rate=rate,
                latency_p50_ms=90.0 + i,
                latency_p95_ms=150.0 + 5 * i,
                cost_per_case_usd=0.001,
            )
        )
    return entries


def write_page(path: Path, **kw: Any) -> dict[str, Any]:
    """The sample report written to ``path``; returns the data it embeds."""
    base, head, comparison, gate = compared()
    hist = history(base)
    write_html(path, comparison, gate, base, head, history=hist, **kw)
    return viewer_data(comparison, gate, base, head, history=hist, **kw)


def embedded(path: Path) -> dict[str, object]:
    """The data a written report page embeds."""
    text = path.read_text("utf-8")
    start = text.index('<script type="application/json" id="data">') + 42
    data: dict[str, object] = json.loads(text[start : text.index("</script>", start)])
    return data


def status_counts(data: dict[str, Any]) -> Counter[str]:
    return Counter(c["status"] for c in data["cases"])


def many_cases(n: int) -> tuple[Results, Results]:
    """``n`` cases, every tenth regressed: for paging."""
    base = [_case(f"c{i:05d}", True, "knowledge", f"answer {i}") for i in range(n)]
    head = [_case(f"c{i:05d}", i % 10 != 0, "knowledge", f"answer {i}!") for i in range(n)]
    return results(base, gate=GATE), results(head, gate=GATE)
