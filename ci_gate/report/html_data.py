"""The data behind the HTML report viewer: one JSON-ready document built from a comparison.

``report`` is :func:`ci_gate.report.json_report.report_data` (the JSON report) without its list of
changed cases; ``cases`` has every case of either run instead, with what the viewer needs to
filter, sort and explain it. Keys of a case are short because a page holds thousands of them:

    id, status, sev      case id; see STATUSES; severity, as the JSON report's (0 when not listed)
    tags, group, layers  layers: of the assertions that changed or fail in this run
    base, head           per side (null: absent from that run): out (first sample's output, capped),
                         cut (characters left out of out), pass (share of samples that passed),
                         score, ms (mean latency of answered samples), usd (cost of the case's
                         samples), n (samples), err ("kind: message" of the first error), cached
    asserts              per assertion: name, type, layer, blocking, base/head ([passed, scored]
                         or null), bmsg/hmsg (message of a failing sample, else of the first)
    vars, expected, note inputs and expectation as compact JSON; why the case was left out
    fm, bh               the failure modes and behaviours of the spec the case links to, by itself
                         or through an assertion (``CaseInfo.links``); left out when none. An
                         assertion has its own fm/bh when it links to the spec.

``latency`` and ``cost`` are histograms over shared bins (the last bin also counts the values
past it); ``trend`` the pass rate, p95 latency and cost per case of recent baselines, oldest
first, or none with the reason. ``layer_hints`` names each known layer and where to look in it,
for the page's section in the spec's words (the spec and its impact are in ``report``). Nothing
here is escaped: the page renders every string as text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ci_gate.baseline.index import IndexEntry, entry_for
from ci_gate.compare.model import CaseChange, Comparison
from ci_gate.gate.model import GateResult
from ci_gate.report.json_report import report_data
from ci_gate.report.masking import mask_secrets
from ci_gate.report.md_layers import LAYER_HINTS, LAYER_NAMES
from ci_gate.results.model import CaseInfo, Record, Results, SpecLinks, measured_latencies
from ci_gate.stats.quantiles import percentile
from ci_gate.wellformed import wellformed

VIEWER_FORMAT = "ci-gate-viewer"
VIEWER_VERSION = 1
# Worst first: the viewer sorts by this order, then by severity.
STATUSES = (
    "regressed",
    "errored",
    "flaky",
    "edited",  # the case's definition changed: not compared
    "added",
    "removed",
    "fixed",
    "failing",  # fails on both sides
    "unchanged",
)
OUTPUT_CAP = 20_000  # characters of one output embedded in the page
# All outputs together: a suite of thousands of megabyte outputs must still give a page a browser
# opens, so past this the cap per output shrinks (never below OUTPUT_FLOOR).
OUTPUTS_BUDGET = 20_000_000
OUTPUT_FLOOR = 2_000
TEXT_CAP = 4_000  # a message, the inputs or the expectation
BINS = 30


def _num(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


def _text(value: str, cap: int) -> tuple[str, int]:
    """``value`` cut to ``cap`` characters, and how many were left out."""
    clean = wellformed(value)
    if len(clean) <= cap:
        return clean, 0
    return clean[:cap], len(clean) - cap


def _compact(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return _text(value, TEXT_CAP)[0]
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):  # keys of mixed types cannot be sorted; cycles
        text = repr(value)
    return _text(text, TEXT_CAP)[0]


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return sum(kept) / len(kept) if kept else None


def _side(records: Sequence[Record], cap: int) -> dict[str, Any]:
    first = records[0]
    out, cut = (None, 0) if first.output is None else _text(first.output, cap)
    scored = [r for r in records if r.passed is not None]
    errors = [r.error for r in records if r.error is not None]
    costs = [r.cost_usd for r in records if r.cost_usd is not None]
    return {
        "out": out,
        "cut": cut,
        "pass": _num(sum(bool(r.passed) for r in scored) / len(scored), 4) if scored else None,
        "score": _num(_mean(r.score for r in scored), 4),
        "ms": _num(_mean(r.latency_ms for r in records if r.error is None), 1),
        "usd": _num(sum(costs), 8) if costs else None,
        "n": len(records),
        "err": _text(f"{errors[0].kind}: {errors[0].message}", TEXT_CAP)[0] if errors else None,
        "cached": any(r.cached or r.reused for r in records),
    }


def _assertion_sides(records: Sequence[Record]) -> dict[str, dict[str, Any]]:
    """Per assertion name: its definition, samples passed and scored, and a message."""
    found: dict[str, dict[str, Any]] = {}
    for record in records:
        for a in record.assertions:
            entry = found.setdefault(
                a.name,
                {
                    "type": a.type,
                    "layer": a.layer,
                    "blocking": a.blocking,
                    "passed": 0,
                    "scored": 0,
                    "msg": a.message,
                },
            )
            entry["scored"] += 1
            if a.passed:
                entry["passed"] += 1
            elif entry["passed"] == entry["scored"] - 1:  # the first failing sample's message
                entry["msg"] = a.message
    return found


def _linked(row: dict[str, Any], links: SpecLinks | None) -> dict[str, Any]:
    """``row`` with the spec names of ``links``, when there are any (most rows have none)."""
    if links is not None and links.failure_modes:
        row["fm"] = [wellformed(n) for n in links.failure_modes]
    if links is not None and links.behaviours:
        row["bh"] = [wellformed(n) for n in links.behaviours]
    return row


def _asserts(
    base: Sequence[Record], head: Sequence[Record], info: CaseInfo
) -> tuple[list[Any], list[str]]:
    """The case's assertions on both sides, and the layers of those that changed or fail."""
    b, h = _assertion_sides(base), _assertion_sides(head)
    rows: list[dict[str, Any]] = []
    layers: dict[str, None] = {}
    for name in dict.fromkeys([*h, *b]):
        spec = h.get(name) or b[name]
        bs, hs = b.get(name), h.get(name)
        bpair = [bs["passed"], bs["scored"]] if bs else None
        hpair = [hs["passed"], hs["scored"]] if hs else None
        row: dict[str, Any] = {
            "name": wellformed(name),
            "type": wellformed(spec["type"]),
            "layer": wellformed(spec["layer"]),
            "blocking": spec["blocking"],
            "base": bpair,
            "head": hpair,
            "bmsg": _text(bs["msg"], TEXT_CAP)[0] if bs else "",
            "hmsg": _text(hs["msg"], TEXT_CAP)[0] if hs else "",
        }
        rows.append(_linked(row, info.assertion_links.get(name)))
        head_fails = hpair is not None and hpair[0] < hpair[1]
        moved = bpair and hpair and bpair[0] * hpair[1] != hpair[0] * bpair[1]
        if head_fails or moved:
            layers[row["layer"]] = None
    return rows, list(layers)


def _by_case(records: Iterable[Record]) -> dict[str, list[Record]]:
    grouped: dict[str, list[Record]] = {}
    for r in records:
        grouped.setdefault(r.case_id, []).append(r)
    return grouped


def _status(
    case_id: str, listed: Mapping[str, CaseChange], sets: Mapping[str, set[str]], head: Any
) -> str:
    if case_id in listed:
        status = listed[case_id].status
        return "failing" if status == "still_failing" else status
    for name in ("added", "removed", "edited"):
        if case_id in sets[name]:
            return name
    passing = head is not None and head["pass"] is not None and head["pass"] > 0.5
    return "unchanged" if passing else "failing"


def _note(change: CaseChange | None) -> str | None:
    if change is None or not change.head_error:
        return None
    return _text(change.head_error, TEXT_CAP)[0]


def _output_cap(outputs: int) -> int:
    return max(OUTPUT_FLOOR, min(OUTPUT_CAP, OUTPUTS_BUDGET // max(outputs, 1)))


def case_rows(comparison: Comparison, base: Results, head: Results) -> list[dict[str, Any]]:
    """Every case of either run (head's order, then cases only in base), as the viewer shows it."""
    base_records, head_records = _by_case(base.records), _by_case(head.records)
    cap = _output_cap(len(base_records) + len(head_records))
    listed = {c.case_id: c for c in comparison.cases}
    comp = comparison.comparability
    sets = {"added": set(comp.added), "removed": set(comp.removed), "edited": set(comp.changed)}
    rows: list[dict[str, Any]] = []
    for case_id in dict.fromkeys([*head.cases, *base.cases]):
        info = head.cases.get(case_id) or base.cases[case_id]
        b_recs, h_recs = base_records.get(case_id, []), head_records.get(case_id, [])
        b_side = _side(b_recs, cap) if b_recs else None
        h_side = _side(h_recs, cap) if h_recs else None
        asserts, layers = _asserts(b_recs, h_recs, info)
        change = listed.get(case_id)
        row: dict[str, Any] = {
            "id": wellformed(case_id),
            "status": _status(case_id, listed, sets, h_side),
            "sev": _num(change.severity, 7) if change else 0,
            "tags": [wellformed(t) for t in info.tags],
            "group": None if info.group is None else wellformed(info.group),
            "layers": layers,
            "base": b_side,
            "head": h_side,
            "asserts": asserts,
            "vars": _compact(dict(info.vars)),
            "expected": _compact(info.expected),
            "note": _note(change),
        }
        rows.append(_linked(row, info.links()))
    return rows


def histogram(base: Sequence[float], head: Sequence[float], bins: int = BINS) -> dict[str, Any]:
    """Counts of both runs over shared bins from 0 to a little past the higher p99; the last bin
    also counts what lies past it, so one outlier cannot squash every other bar."""
    both = [v for v in (*base, *head) if math.isfinite(v)]
    if not both:
        return {"edges": [], "base": [], "head": [], "n": [0, 0]}
    top = max(
        percentile(list(base), 99) if base else 0.0, percentile(list(head), 99) if head else 0.0
    )
    top = top * 1.05 if top > 0 else max(max(both), 1e-9)
    width = top / bins
    edges = [_num(width * i, 8) for i in range(bins + 1)]

    def counts(values: Sequence[float]) -> list[int]:
        out = [0] * bins
        for v in values:
            if math.isfinite(v):
                out[min(max(int(v / width), 0), bins - 1)] += 1
        return out

    return {"edges": edges, "base": counts(base), "head": counts(head), "n": [len(base), len(head)]}


def _case_costs(results: Results) -> list[float]:
    totals: dict[str, float] = {}
    for r in results.records:
        if r.cost_usd is not None and math.isfinite(r.cost_usd):
            totals[r.case_id] = totals.get(r.case_id, 0.0) + r.cost_usd
    return list(totals.values())


def history_entry(results: Results, source: str) -> IndexEntry:
    """What a baseline index holds of ``results``: a results file given as history."""
    commit = (results.run.git.commit if results.run.git else None) or source
    return entry_for(commit, results, branch=None, tag=None, path=source, size=0)


def _point(entry: IndexEntry, current: bool) -> dict[str, Any]:
    return {
        "commit": wellformed(entry.commit)[:64],
        "at": wellformed(entry.created_at)[:40],
        "pass_rate": _num(entry.pass_rate, 6),
        "p95": _num(entry.latency_p95_ms, 3),
        "usd": _num(entry.cost_per_case_usd, 8),
        "current": current,
    }


def _trend(history: Sequence[IndexEntry] | None, head: Results) -> dict[str, Any]:
    """Earlier baselines, oldest first, then this run; none without a history."""
    if not history:
        return {
            "points": [],
            "note": "No history of earlier baselines was given: the Action passes its baseline"
            " store's, and `ci-gate report --history FILE...` takes earlier results files.",
        }
    ordered = sorted(history, key=lambda e: (e.created_at, e.commit))
    points = [_point(e, False) for e in ordered]
    points.append(_point(history_entry(head, "this run"), True))
    return {"points": points, "note": None}


def viewer_data(
    comparison: Comparison,
    gate: GateResult,
    base: Results,
    head: Results,
    *,
    history: Sequence[IndexEntry] | None = None,
    title: str | None = None,
    secrets: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The document the page embeds. With ``secrets`` (the Action's), every string is masked
    as the other reports are: outputs can quote keys."""
    report = report_data(comparison, gate)
    report["comparison"].pop("cases", None)
    data: dict[str, Any] = {
        "format": VIEWER_FORMAT,
        "version": VIEWER_VERSION,
        "title": wellformed(title or f"ci-gate · {comparison.head.suite_name}"),
        "report": report,
        "cases": case_rows(comparison, base, head),
        "latency": histogram(measured_latencies(base.records), measured_latencies(head.records)),
        "cost": histogram(_case_costs(base), _case_costs(head)),
        "trend": _trend(history, head),
        "layer_hints": {
            layer: {"name": name, "hint": LAYER_HINTS.get(layer, "")}
            for layer, name in LAYER_NAMES.items()
        },
    }
    return data if secrets is None else _masked(data, tuple(secrets))


def _masked(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return mask_secrets(value, secrets)
    if isinstance(value, dict):
        return {k: _masked(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, secrets) for v in value]
    return value
