"""The gate's decision: four verdicts, their reasons, corrections, trade-offs and release mode."""

from __future__ import annotations

import dataclasses

import pytest

from ci_gate.compare.compare import compare
from ci_gate.compare.model import Comparison, MetricDelta
from ci_gate.gate.decide import decide
from ci_gate.gate.model import Check
from ci_gate.gate.policy import parse_policy
from ci_gate.results.model import Record
from ci_gate.stats import (
    benjamini_hochberg,
    cases_needed,
    holm,
    mcnemar_exact_worse,
    mde_paired_proportion,
)
from tests.factories import outcome, record, results, scored


def _runs(
    n: int, regressed: int, fixed: int = 0, *, layer: str = "knowledge"
) -> tuple[list[Record], list[Record]]:
    base, head = [], []
    for i in range(n):
        b = not (regressed <= i < regressed + fixed)
        hd = i >= regressed
        base.append(scored(f"c{i:03d}", 0, outcome("answer", b, layer=layer)))
        head.append(scored(f"c{i:03d}", 0, outcome("answer", hd, layer=layer)))
    return base, head


def _compare(n: int, regressed: int, fixed: int = 0, *, layer: str = "knowledge") -> Comparison:
    base, head = _runs(n, regressed, fixed, layer=layer)
    return compare(results(base), results(head), resamples=500)


def _check(result_checks: tuple[Check, ...], key: str) -> Check:
    (found,) = [c for c in result_checks if c.key == key and c.status != "info"]
    return found


def test_no_change_passes() -> None:
    g = decide(_compare(100, 0), parse_policy({}))
    assert (g.verdict, g.exit_code, g.mode) == ("pass", 0, "pr")
    assert g.headline.startswith("No blocking check failed: pass rate 100.0% vs 100.0% on base")
    assert _check(g.checks, "quality.pass_rate").status == "ok"
    assert g.reasons and all("within" in r or "Error rate" in r for r in g.reasons)


def test_a_significant_drop_larger_than_the_margin_fails() -> None:
    c = _compare(100, 12, layer="format")
    g = decide(c, parse_policy({}))
    assert (g.verdict, g.exit_code) == ("fail", 1)
    check = _check(g.checks, "quality.pass_rate")
    assert check.status == "fail" and check.blocking and check.threshold == "max drop 2pt"
    assert check.adjusted_p == pytest.approx(mcnemar_exact_worse(12, 0))
    assert g.headline == (
        "Pass rate fell 12.0 points (from 100.0% to 88.0%, "
        f"95% CI {c.quality[0].low * 100:+.1f} to {c.quality[0].high * 100:+.1f}); "  # type: ignore[operator]
        "12 cases newly fail, mostly in output format."
    )
    assert check.reason in g.reasons


def test_a_drop_larger_than_the_margin_but_not_significant_is_inconclusive() -> None:
    c = _compare(100, 4, fixed=1)
    g = decide(c, parse_policy({}))
    check = _check(g.checks, "quality.pass_rate")
    assert check.status == "inconclusive"
    assert "not significant" in check.reason and "it may be noise" in check.reason
    assert (g.verdict, g.exit_code) == ("inconclusive", 0)
    release_codes = decide(c, parse_policy({}), "release").exit_code
    assert release_codes == 1


def test_too_few_cases_is_inconclusive_with_the_detectable_drop_and_cases_needed() -> None:
    base, head = _runs(40, 6, fixed=4)
    c = compare(results(base), results(head), resamples=500)
    g = decide(c, parse_policy({"min_cases": 50}))
    check = _check(g.checks, "quality.pass_rate")
    assert check.status == "inconclusive" and g.verdict == "inconclusive"
    assert check.reason.startswith("Only 40 cases were compared, fewer than the 50 required")
    assert g.mde == pytest.approx(mde_paired_proportion(40, 10 / 40, 0.05))
    assert g.mde is not None
    assert f"only a drop of {g.mde * 100:.1f} points or more can be seen" in check.reason
    assert g.cases_needed == cases_needed(0.02, 10 / 40, 0.05)
    # So few that no drop at all could be seen: said in words.
    tiny = decide(_compare(12, 1, fixed=1), parse_policy({}))
    assert tiny.mde is None
    assert "with 12 cases no drop can be reliably seen" in tiny.reasons[0]
    assert f"about {g.cases_needed} cases are needed to detect 2.0 points" in check.reason


def test_runs_that_cannot_be_compared_are_an_error() -> None:
    base, head = _runs(40, 0)
    head_results = results(head)
    head_results = dataclasses.replace(
        head_results, run=dataclasses.replace(head_results.run, suite_name="other")
    )
    g = decide(compare(results(base), head_results, resamples=200), parse_policy({}))
    assert (g.verdict, g.exit_code) == ("error", 1)
    assert g.headline.startswith("The runs cannot be compared: the runs are of different suites")


def test_an_error_rate_above_the_budget_is_an_error_unless_not_blocking() -> None:
    base = [record(f"c{i:02d}") for i in range(40)]
    head = [
        record(f"c{i:02d}", error=("server_error", "HTTP 503")) if i < 6 else record(f"c{i:02d}")
        for i in range(40)
    ]
    c = compare(results(base), results(head), resamples=200)
    g = decide(c, parse_policy({"errors": {"max_rate": "10%"}}))
    assert g.verdict == "error"
    assert g.headline.startswith("Head's error rate is 15.0%, above the error budget of 10.0%")
    soft = decide(c, parse_policy({"errors": {"max_rate": "10%", "blocking": False}}))
    assert soft.verdict == "pass" and _check(soft.checks, "errors.rate").status == "warn"


def test_a_floor_fails_without_a_significance_test() -> None:
    c = _compare(100, 3)  # 97% on head, drop 3 points, not significant alone
    g = decide(c, parse_policy({"quality": {"pass_rate": {"max_drop": "5pt", "min": "98%"}}}))
    floors = [x for x in g.checks if x.threshold == "min 98%"]
    assert len(floors) == 1 and floors[0].status == "fail"
    assert floors[0].reason.startswith("Pass rate 97.0% is below the floor of 98%")
    assert g.verdict == "fail"


def test_warn_only_metrics_and_slices_never_fail() -> None:
    base, head = _runs(100, 20)
    tags: dict[str, tuple[str, ...]] = {
        f"c{i:03d}": ("early",) if i < 30 else ("late",) for i in range(100)
    }
    c = compare(results(base, tags=tags), results(head, tags=tags), resamples=500)
    g = decide(c, parse_policy({"quality": {"pass_rate": {"blocking": False}}}))
    assert g.verdict == "pass"
    assert _check(g.checks, "quality.pass_rate").status == "warn"
    early, late = _check(g.checks, "tag.early"), _check(g.checks, "tag.late")
    assert early.status == "warn" and not early.blocking and late.status == "ok"
    # Benjamini-Hochberg across the warn-only family: the metrics with a rule that only warns.
    warn_keys = ["quality.pass_rate", "tag.early", "tag.late"]
    metrics = [c.metric("quality.pass_rate"), *c.slices]
    ps = [m.p_worse for m in metrics if m is not None]
    adjusted = dict(zip(warn_keys, benjamini_hochberg(ps), strict=True))  # type: ignore[arg-type]
    assert early.adjusted_p == pytest.approx(adjusted["tag.early"])


def test_holm_adjusts_across_the_blocking_metrics() -> None:
    c = _compare(200, 9, fixed=1)
    policy = parse_policy({"quality": {"assertions": {"answer": {"max_drop": "1pt"}}}})
    g = decide(c, policy)
    pr, answer = _check(g.checks, "quality.pass_rate"), _check(g.checks, "assertion.answer")
    raw = [c.quality[0].p_worse, c.metric("assertion.answer").p_worse]  # type: ignore[union-attr]
    assert [pr.adjusted_p, answer.adjusted_p] == pytest.approx(holm(raw))  # type: ignore[arg-type]
    assert pr.adjusted_p == pytest.approx(2 * raw[0])  # type: ignore[operator]


def test_a_rule_for_a_metric_no_case_has_is_reported() -> None:
    policy = parse_policy({"quality": {"assertions": {"valid-json": {"max_drop": "0pt"}}}})
    g = decide(_compare(40, 0), policy)
    info = [x for x in g.checks if x.key == "assertion.valid-json"]
    assert info and info[0].status == "info" and "no case has it" in info[0].reason


def _with_metric(c: Comparison, metric: MetricDelta) -> Comparison:
    if metric.kind == "latency":
        latency = tuple(m for m in c.latency if m.key != metric.key)
        return dataclasses.replace(c, latency=(*latency, metric))
    cost = tuple(m for m in c.cost if m.key != metric.key)
    return dataclasses.replace(c, cost=(*cost, metric))


def _increase(key: str, base: float, delta: float, low: float | None) -> MetricDelta:
    kind = "latency" if key.startswith("latency") else "cost"
    return MetricDelta(
        key=key,
        kind=kind,  # type: ignore[arg-type]
        label=key,
        base=base,
        head=base + delta,
        delta=delta,
        low=low,
        high=None if low is None else delta * 2 - low,
        p_value=None,
        p_worse=None,
        n=500,
        higher_is_better=False,
    )


@pytest.mark.parametrize(
    ("low", "blocking", "status"),
    [
        (40.0, True, "fail"),  # even the lower bound is above +25 ms
        (10.0, True, "inconclusive"),  # the point estimate is, the interval is not
        (None, True, "inconclusive"),  # too few samples for an interval
        (40.0, False, "warn"),
        (10.0, False, "warn"),
    ],
)
def test_latency_increases_are_judged_on_their_interval(
    low: float | None, blocking: bool, status: str
) -> None:
    c = _with_metric(_compare(100, 0), _increase("latency.p95", 100.0, 50.0, low))
    policy = parse_policy({"latency": {"p95": {"max_increase": "25%", "blocking": blocking}}})
    check = _check(decide(c, policy).checks, "latency.p95")
    assert check.status == status
    assert check.reason.startswith("Latency p95 rose 50 ms (+50%, from 100 ms to 150 ms")


def test_an_increase_within_the_allowance_is_ok() -> None:
    c = _with_metric(_compare(100, 0), _increase("latency.p95", 100.0, 10.0, 2.0))
    check = _check(decide(c, parse_policy({"latency": {"p95": {}}})).checks, "latency.p95")
    assert check.status == "ok" and check.reason.endswith("within the allowed 25%.")


def test_the_budget_caps_the_head_runs_cost() -> None:
    c = _compare(100, 0)  # 100 records at $0.001
    over = decide(c, parse_policy({"cost": {"budget_usd": 0.05}}))
    assert over.verdict == "fail"
    assert _check(over.checks, "cost.budget").reason == (
        "Head's cost at list price $0.1000 is above the budget of $0.05."
    )
    assert decide(c, parse_policy({"cost": {"budget_usd": 1}})).verdict == "pass"


def test_a_tradeoff_turns_a_cost_failure_into_ok_when_quality_gains_enough() -> None:
    c = _compare(200, 0, fixed=12)  # pass rate +6 points, interval above 0
    c = _with_metric(c, _increase("cost.per_case", 0.01, 0.0015, 0.0012))
    section = {
        "cost": {"per_case": {"max_increase": "10%"}},
        "tradeoffs": [
            {
                "name": "pay-for-quality",
                "allow": "cost.per_case",
                "up_to": "20%",
                "when": "quality.pass_rate",
                "gains": "3pt",
            }
        ],
    }
    g = decide(c, parse_policy(section))
    assert g.verdict == "pass" and g.tradeoffs_applied == ("pay-for-quality",)
    cost = _check(g.checks, "cost.per_case")
    assert cost.status == "ok" and "by trade-off pay-for-quality because pass rate rose" in (
        cost.reason
    )
    notes = [x for x in g.checks if x.status == "info" and "pay-for-quality" in x.reason]
    assert len(notes) == 1
    # Without the gain, the failure stands.
    strict = dict(section, tradeoffs=[dict(section["tradeoffs"][0], gains="10pt")])  # type: ignore[index]
    assert decide(c, parse_policy(strict)).verdict == "fail"


def test_release_mode_needs_the_lower_bound_above_the_margin() -> None:
    small_drop = _compare(400, 2, fixed=1)
    g = decide(small_drop, parse_policy({"release": {"margin": "3pt"}}), "release")
    check = _check(g.checks, "quality.pass_rate")
    assert check.status == "ok" and "non-inferior" in check.reason
    assert check.threshold == "non-inferiority margin 3 points"
    assert g.verdict == "pass"
    tight = decide(small_drop, parse_policy({"release": {"margin": "0.1pt"}}), "release")
    assert tight.verdict == "fail" and tight.exit_code == 1
    assert "is not above -0.1 points" in _check(tight.checks, "quality.pass_rate").reason


def test_release_mode_fails_instead_of_inconclusive_with_few_cases() -> None:
    c = _compare(12, 0)
    assert decide(c, parse_policy({}), "pr").verdict == "inconclusive"
    g = decide(c, parse_policy({}), "release")
    # Twelve identical cases: the interval is zero-wide, so non-inferiority is shown.
    assert g.verdict == "pass"
    noisy = _compare(12, 2, fixed=1)
    assert decide(noisy, parse_policy({}), "release").verdict == "fail"


def test_exit_codes_can_be_configured() -> None:
    c = _compare(100, 12)
    assert decide(c, parse_policy({"exit_codes": {"fail": 7}})).exit_code == 7
    inconclusive = _compare(100, 4, fixed=1)
    policy = parse_policy({}, overrides={"exit_codes.inconclusive": 5})
    assert decide(inconclusive, policy).exit_code == 5
    assert decide(inconclusive, policy, "release").verdict == "fail"


def test_a_head_policy_that_differs_from_the_one_used_is_noted() -> None:
    base, head = _runs(40, 0)
    head_results = results(head, gate={"quality": {"pass_rate": {"max_drop": "20pt"}}})
    c = compare(results(base), head_results, resamples=200)
    g = decide(c, parse_policy({}, origin="base"))
    notes = [x for x in g.checks if x.key == "policy"]
    assert len(notes) == 1 and notes[0].status == "info"
    assert "cannot loosen its own gate" in notes[0].reason
    used_head = decide(c, parse_policy(head_results.run.gate, origin="head"))
    assert not [x for x in used_head.checks if x.key == "policy"]
    same = decide(c, parse_policy({"quality": {"pass_rate": {"max_drop": "20pt"}}}))
    assert not [x for x in same.checks if x.key == "policy"]


def test_verdict_precedence_error_over_fail_over_inconclusive() -> None:
    base = [record(f"c{i:03d}") for i in range(100)]
    head = [
        record(f"c{i:03d}", error=("timeout", "t"))
        if i < 20
        else record(f"c{i:03d}", passed=i > 40)
        for i in range(100)
    ]
    g = decide(compare(results(base), results(head), resamples=200), parse_policy({}))
    statuses = {x.status for x in g.checks}
    assert {"error", "fail"} <= statuses and g.verdict == "error"
