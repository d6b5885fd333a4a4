"""Comparisons and gate results built by hand, with realistic numbers, for the report tests.

Each scenario returns ``(Comparison, GateResult)``: ``failing`` (a prompt change broke the
output format of refund answers), ``passing``, ``inconclusive`` (too few cases, release mode),
``erroring`` (runs not comparable, error budget exceeded) and ``hostile`` (untrusted text from
``tests/hostile_corpus.py`` in every field that can hold it, plus a one-megabyte output).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from ci_gate.compare.model import (
    AssertionDiff,
    CaseChange,
    CaseStatus,
    Comparability,
    Comparison,
    MetricDelta,
    MetricKind,
)
from ci_gate.gate.model import Check, GateResult
from ci_gate.results.model import Fingerprint, GitInfo, RunInfo, Totals
from tests.hostile_corpus import HOSTILE, combinations, one_megabyte

SETTINGS: dict[str, object] = {"seed": 20240501, "resamples": 2000, "confidence": 0.95}
FORGED_HEADLINE = "<!-- ci-gate:sticky --> @org/team fixes #123 ::set-output name=x::y ```"
Pair = tuple[float | None, float | None]


def run(commit: str, finished_at: str, branch: str = "main", prompt: str = "a") -> RunInfo:
    fp = Fingerprint(
        suite="sha256:" + commit.ljust(64, "0")[:64],
        target="sha256:" + "1" * 64,
        prompts={"support": "sha256:" + prompt * 64},
        assertions="sha256:" + "3" * 64,
        repeats="sha256:" + "4" * 64,
        prices="sha256:" + "5" * 64,
        cases={"refund-01": "sha256:" + "6" * 64},
    )
    totals = Totals(200, 200, 170, 28, 2, 0, 0, 0, 200, 162_400, 28_600, 0.71, 0.71)
    return RunInfo(
        suite_name="support-bot",
        suite_version="3",
        suite_path="evals/support.yaml",
        target_id="bot",
        provider="openai",
        model="gpt-4o-mini",
        repeats=1,
        fingerprint=fp,
        git=GitInfo(commit, branch, False),
        ci_gate_version="0.1.0",
        started_at=finished_at,
        finished_at=finished_at,
        duration_s=84.2,
        status="complete",
        stop_reason=None,
        totals=totals,
        prices_date="2024-04-01",
    )


BASE = run("9f3c2a17d04e5b6c8a9d0e1f2a3b4c5d6e7f8091", "2024-05-01T09:12:44Z")
HEAD = run("4b1e8d2c9a7f6e5d4c3b2a1908f7e6d5c4b3a291", "2024-05-04T10:03:10Z", "fix/tone", "b")


def metric(
    key: str, kind: MetricKind, label: str, values: Pair, ci: Pair = (None, None), **kw: Any
) -> MetricDelta:
    """A metric; ``kw`` sets p (two-sided p-value) and any other MetricDelta field."""
    base, head = values
    p = kw.pop("p", None)
    fields: dict[str, Any] = {"n": 200, "higher_is_better": kind in ("rate", "score")}
    fields.update(kw)
    return MetricDelta(
        key=key,
        kind=kind,
        label=label,
        base=base,
        head=head,
        delta=None if base is None or head is None else head - base,
        low=ci[0],
        high=ci[1],
        p_value=p,
        p_worse=None if p is None else p / 2,
        **fields,
    )


def rate(key: str, label: str, values: Pair, ci: Pair = (None, None), **kw: Any) -> MetricDelta:
    return metric(key, "rate", label, values, ci, **kw)


def perf(p50: Pair, p95: Pair, p99: Pair) -> tuple[MetricDelta, ...]:
    def ci(pair: Pair, lo: float, hi: float) -> Pair:
        d = (pair[1] or 0.0) - (pair[0] or 0.0)
        ends = sorted((d * lo, d * hi))
        return (ends[0], ends[1])

    note = "200 samples are too few for an interval on p99 (459 needed)."
    return (
        metric("latency.p50", "latency", "p50", p50, ci(p50, 0.4, 1.6)),
        metric("latency.p95", "latency", "p95", p95, ci(p95, 0.2, 1.9)),
        metric("latency.p99", "latency", "p99", p99, note=note),
    )


def costs(per_case: tuple[float, float], tokens_out: Pair) -> tuple[MetricDelta, ...]:
    b, h = per_case
    return (
        metric("cost.per_case", "cost", "cost per case", per_case, ((h - b) * 0.7, (h - b) * 1.3)),
        metric("cost.total", "cost", "total at list price", (b * 200, h * 200)),
        metric("tokens.input", "tokens", "input tokens per case", (812.0, 812.0)),
        metric("tokens.output", "tokens", "output tokens per case", tokens_out),
    )


REFUND_JSON = '{"action": "refund", "amount": 42.5, "currency": "EUR", "reply": "Done!"}'
PROSE = "Sure! I have refunded 42.50 EUR to your card.\nAnything else I can do?"
NOT_JSON = AssertionDiff(
    "reply-is-json", "is_json", "format", True, False, "output is not JSON: Expecting value"
)
NO_POLICY = AssertionDiff(
    "mentions-policy", "contains", "knowledge", True, False, "expected 'within 14 days'"
)


def case(case_id: str, status: CaseStatus, **kw: Any) -> CaseChange:
    fields: dict[str, Any] = {
        "tags": ("refunds",),
        "group": None,
        "base_pass_rate": 1.0,
        "head_pass_rate": 0.0,
        "base_output": REFUND_JSON,
        "head_output": PROSE,
        "vars": {"question": f"Refund order {case_id[-2:]}? It arrived broken.", "lang": "de"},
        "expected": {"action": "refund"},
        "assertions": (NOT_JSON,),
        "layers": ("format",),
        "severity": 1.0,
    }
    fields.update(kw)
    return CaseChange(case_id=case_id, status=status, **fields)


def _regressed(i: int) -> CaseChange:
    if i % 4 == 3:
        return case(
            f"refund-{i:02d}",
            "regressed",
            tags=("refunds", "policy"),
            layers=("format", "knowledge"),
            assertions=(NOT_JSON, NO_POLICY),
            severity=2.0 - i / 100,
        )
    return case(f"refund-{i:02d}", "regressed", severity=1.0 - i / 100)


def _comparability(**kw: Any) -> Comparability:
    fields: dict[str, Any] = {
        "added": ("refund-new-01",),
        "removed": (),
        "changed": ("refund-31",),
        "compared": 199,
        "prompts_changed": ("support",),
        "target_changed": False,
        "assertions_changed": False,
        "repeats_changed": False,
        "prices_changed": False,
        "different_suite": False,
        "comparable": True,
        "reasons": (),
    }
    fields.update(kw)
    return Comparability(**fields)


def _failing_cases() -> tuple[CaseChange, ...]:
    fixed = {
        "tags": ("billing",),
        "base_pass_rate": 0.0,
        "head_pass_rate": 1.0,
        "base_output": "I cannot help with that.",
        "head_output": "Your invoice is attached.",
        "assertions": (),
        "layers": (),
    }
    return (
        *sorted((_regressed(i) for i in range(1, 13)), key=lambda c: -c.severity),
        *(case(f"billing-{i:02d}", "fixed", **fixed) for i in range(1, 4)),
        case("shipping-07", "still_failing", tags=("shipping",), base_pass_rate=0.0),
        case("account-02", "errored", head_pass_rate=None, head_output=None,
             head_error="timeout after 30 s (3 attempts)"),
    )  # fmt: skip


def failing() -> tuple[Comparison, GateResult]:
    comparison = Comparison(
        base=BASE,
        head=HEAD,
        quality=(
            rate("quality.pass_rate", "pass rate", (0.87, 0.825), (-0.075, -0.015), p=0.0035,
                 n=199, regressed=12, fixed=3),
            metric("quality.score", "score", "mean score", (0.912, 0.884), (-0.046, -0.011),
                   p=0.004),
            rate("assertion.reply-is-json", "reply-is-json", (0.98, 0.92), (-0.094, -0.031),
                 p=0.0005, regressed=12),
            rate("assertion.mentions-policy", "mentions-policy", (0.91, 0.895), (-0.04, 0.01),
                 p=0.39, regressed=3),
        ),
        slices=(
            rate("tag.refunds", "refunds", (0.94, 0.72), (-0.33, -0.12), p=0.0002, n=50),
            rate("tag.billing", "billing", (0.80, 0.86), (-0.02, 0.14), p=0.25, n=50),
            rate("tag.policy", "policy", (0.90, 0.84), (-0.17, 0.03), p=0.25, n=50),
            rate("tag.shipping", "shipping", (0.82, 0.82), (-0.05, 0.05), p=1.0, n=50),
        ),
        layers=(
            rate("layer.format", "format", (0.98, 0.92), (-0.094, -0.031), p=0.0005),
            rate("layer.knowledge", "knowledge", (0.91, 0.895), (-0.04, 0.01), p=0.39),
        ),
        latency=perf((812.0, 905.0), (1840.0, 2210.0), (2950.0, 3400.0)),
        cost=costs((0.00355, 0.00371), (143.0, 151.0)),
        errors=metric("errors.rate", "errors", "error rate", (0.0, 0.005)),
        cases=_failing_cases(),
        comparability=_comparability(),
        spent_base_usd=0.71,
        spent_head_usd=0.12,
        settings=dict(SETTINGS),
    )  # fmt: skip
    gate = GateResult(
        verdict="fail",
        mode="pr",
        headline="The pass rate fell 4.5 points, more than the 2-point margin, and the fall is "
        "too large to be chance.",
        reasons=(
            "12 cases that passed on the baseline now fail, 3 now pass.",
            "reply-is-json fell 6.0 points; all 12 regressions fail it.",
        ),
        checks=(
            Check("quality.pass_rate", "fail", True, "pass rate fell 4.5 points "
                  "(95% CI -7.5 to -1.5), p=0.004", "max drop 2pt", 0.007),
            Check("quality.pass_rate", "ok", True, "pass rate 82.5% is above 80%", "min 80%"),
            Check("assertion.reply-is-json", "warn", False, "reply-is-json fell 6.0 points",
                  "max drop 2pt", 0.001),
            Check("tag.refunds", "warn", False, "refunds fell 22.0 points", None, 0.0008),
            Check("tag.policy", "ok", False, "policy fell 6.0 points", None, 0.33),
            Check("latency.p95", "ok", True, "p95 rose 20.1%, within 25%", "max +25%"),
            Check("cost.per_case", "ok", True, "cost per case rose 4.5%", "max +10%"),
            Check("errors.rate", "ok", True, "error rate 0.5% is within budget", "max 2%"),
            Check("cost.budget", "ok", True, "this run cost $0.74 at list price, budget $5.00"),
        ),
        exit_code=1,
        mde=0.032,
        cases_needed=620,
    )  # fmt: skip
    return comparison, gate


def passing() -> tuple[Comparison, GateResult]:
    comparison, _ = failing()
    comparison = replace(
        comparison,
        quality=(
            rate("quality.pass_rate", "pass rate", (0.87, 0.885), (-0.004, 0.034), p=0.25,
                 fixed=3),
            metric("quality.score", "score", "mean score", (0.912, 0.918), (-0.003, 0.015),
                   p=0.31),
        ),
        slices=(rate("tag.billing", "billing", (0.80, 0.86), (-0.02, 0.14), p=0.25, n=50),),
        layers=(),
        cases=tuple(c for c in comparison.cases if c.status == "fixed"),
        latency=perf((812.0, 798.0), (1840.0, 1822.0), (2950.0, 2890.0)),
        cost=costs((0.00355, 0.00355), (143.0, 143.0)),
        comparability=_comparability(prompts_changed=(), added=(), changed=(), compared=200),
    )  # fmt: skip
    gate = GateResult(
        verdict="pass",
        mode="pr",
        headline="No metric fell by more than its margin; the pass rate rose 1.5 points.",
        reasons=(),
        checks=(
            Check("quality.pass_rate", "ok", True, "pass rate rose 1.5 points", "max drop 2pt"),
            Check("latency.p95", "ok", True, "p95 fell 1.0%", "max +25%"),
        ),
        exit_code=0,
        mde=0.032,
    )
    return comparison, gate


def inconclusive() -> tuple[Comparison, GateResult]:
    comparison, _ = failing()
    pass_rate = rate(
        "quality.pass_rate", "pass rate", (0.88, 0.85), (-0.09, 0.03), p=0.38, n=34, regressed=2
    )
    comparison = replace(
        comparison,
        quality=(pass_rate,),
        cases=comparison.cases[:2],
        comparability=_comparability(compared=34, added=(), changed=()),
    )
    gate = GateResult(
        verdict="inconclusive",
        mode="release",
        headline="The pass rate fell 3.0 points, more than the 2-point margin, but 34 cases are "
        "too few to tell a real drop from chance.",
        reasons=("The pessimistic end of the interval, -9.0 points, is past the margin.",),
        checks=(
            Check("quality.pass_rate", "inconclusive", True, "cannot confirm it", "margin 2pt"),
        ),
        exit_code=1,
        mde=0.098,
        cases_needed=620,
    )
    return comparison, gate


def erroring() -> tuple[Comparison, GateResult]:
    comparison, _ = failing()
    comparison = replace(
        comparison,
        head=replace(HEAD, model="gpt-4o", suite_name="support-bot-v2", repeats=3),
        errors=metric("errors.rate", "errors", "error rate", (0.0, 0.14)),
        comparability=_comparability(
            target_changed=True,
            repeats_changed=True,
            different_suite=True,
            comparable=False,
            prices_changed=True,
            added=tuple(f"new-{i:03d}" for i in range(25)),
            removed=("refund-90",),
            reasons=("the suites have different names (support-bot, support-bot-v2)",),
        ),
    )
    gate = GateResult(
        verdict="error",
        mode="pr",
        headline="The runs cannot be compared: they ran different suites, and 14% of calls "
        "failed (budget 2%).",
        reasons=("28 of 200 calls failed: 26 timeouts, 2 rate limits.",),
        checks=(
            Check("errors.rate", "error", True, "error rate 14.0% exceeds 2%", "max 2%"),
            Check("comparability", "error", True, "the suites have different names"),
        ),
        exit_code=4,
    )
    return comparison, gate


def _hostile_case(i: int, text: str, texts: list[str], megabyte: str) -> CaseChange:
    piece = HOSTILE[i % len(HOSTILE)]
    return case(
        f"{piece}{i}",
        "regressed" if i < 24 else "fixed",
        tags=(texts[i + 30], piece),
        group=piece,
        base_output=text,
        head_output=megabyte if i == 0 else texts[(i + 1) % 30],
        vars={piece: text, "nested": {"k": [piece, 1, None]}},
        expected=piece,
        assertions=(AssertionDiff(piece, text, "format", True, False, texts[i + 1]),),
        layers=(piece, "format"),
        severity=float(30 - i),
        head_error=text,
    )


def hostile() -> tuple[Comparison, GateResult]:
    comparison, gate = failing()
    texts = combinations(seed=7, count=60)
    pieces = list(HOSTILE)
    megabyte = one_megabyte()
    cases = [_hostile_case(i, text, texts, megabyte) for i, text in enumerate(texts[:30])]
    cases.append(replace(cases[1], status="errored", case_id=pieces[5]))
    hostile_run = replace(
        HEAD,
        suite_name=pieces[0],
        git=GitInfo(pieces[10], pieces[20], True),
        model=pieces[30],
        target_id=pieces[40],
        prices_date=pieces[50],
        ci_gate_version=pieces[60],
    )
    comparison = replace(
        comparison,
        head=hostile_run,
        cases=tuple(cases),
        slices=tuple(rate(f"tag.{p}", p, (0.9, 0.8), (-0.2, 0.0), p=0.04) for p in pieces[:25]),
        quality=(
            *comparison.quality,
            *(rate(f"assertion.{p}", p, (0.9, 0.85), note=p) for p in pieces[25:45]),
        ),
        comparability=_comparability(
            prompts_changed=tuple(pieces[45:52]),
            added=tuple(pieces[52:80]),
            removed=tuple(pieces[80:90]),
            changed=tuple(pieces[90:100]),
            comparable=False,
            reasons=tuple(texts[40:45]),
        ),
    )
    gate = replace(
        gate,
        headline=FORGED_HEADLINE,
        reasons=tuple(texts[45:50]),
        checks=(*gate.checks, *(Check(p, "warn", False, p, p, 0.01) for p in pieces[100:110])),
        tradeoffs_applied=(pieces[3],),
    )
    return comparison, gate


SCENARIOS = {
    "fail": failing,
    "pass": passing,
    "inconclusive": inconclusive,
    "error": erroring,
    "hostile": hostile,
}


GOLDEN_DIR = Path(__file__).parent / "golden"


def assert_golden(name: str, text: str) -> None:
    """``text`` equals tests/golden/``name``; CI_GATE_UPDATE_GOLDEN=1 rewrites the file instead."""
    path = GOLDEN_DIR / name
    if os.environ.get("CI_GATE_UPDATE_GOLDEN") == "1":
        GOLDEN_DIR.mkdir(exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        return
    assert path.exists(), f"{path} is missing: run the tests with CI_GATE_UPDATE_GOLDEN=1"
    expected = path.read_bytes().decode("utf-8")
    assert text == expected, (
        f"{name} differs; if the change is intended, rerun with CI_GATE_UPDATE_GOLDEN=1"
    )
