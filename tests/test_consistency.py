"""Consistency across groups: per run, in a comparison (metric and groups that dropped), in the
gate's policy and decision, and in the markdown and JSON reports."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from ci_gate.compare.compare import compare
from ci_gate.compare.consistency import (
    MAX_LISTED,
    MAX_OUTPUTS,
    output_agreement,
    run_consistency,
    verdict_agreement,
)
from ci_gate.compare.model import Comparison
from ci_gate.errors import ConfigError, SuiteError
from ci_gate.gate.decide import decide
from ci_gate.gate.policy import DEFAULT_CONSISTENCY, parse_policy
from ci_gate.report.json_report import render_json, report_schema
from ci_gate.report.markdown import render_markdown
from ci_gate.results.model import Results
from ci_gate.similarity import string_similarity
from ci_gate.stats import paired_delta, paired_p_value
from ci_gate.suite.load import load_suite
from tests.factories import record, results
from tests.test_report_markdown import assert_safe_markdown

# --- one run -----------------------------------------------------------------------------------


def test_verdict_agreement_is_the_share_with_the_majority_verdict() -> None:
    assert verdict_agreement([True, True, True, False]) == 0.75
    assert verdict_agreement([False, False, True]) == pytest.approx(2 / 3)
    assert verdict_agreement([True, False]) == 0.5
    assert verdict_agreement([False, False]) == 1.0  # unanimous failures are consistent
    with pytest.raises(ValueError):
        verdict_agreement([])


def test_output_agreement_is_the_mean_pairwise_similarity() -> None:
    assert output_agreement(["Paris.", "paris"]) == 1.0
    assert output_agreement(["only one"]) is None
    texts = ["refund in 30 days", "refunds within 30 days", "no refunds"]
    pairs = [(0, 1), (0, 2), (1, 2)]
    expected = sum(string_similarity(texts[a], texts[b]) for a, b in pairs) / 3
    assert output_agreement(texts) == pytest.approx(expected)
    # Past MAX_OUTPUTS the rest is not compared: a wildly different last output changes nothing.
    same = ["same answer"] * MAX_OUTPUTS
    assert output_agreement([*same, "something else entirely"]) == 1.0


def _run(
    samples: Mapping[str, Sequence[bool | None]],
    groups: Mapping[str, str | None],
    outputs: Mapping[str, str] | None = None,
) -> Results:
    """A run: per case, one entry per sample (None: the sample errored)."""
    recs = [
        record(cid, s, passed=v, output=(outputs or {}).get(cid, f"answer {cid}"))
        if v is not None
        else record(cid, s, error=("server_error", "boom"))
        for cid, values in samples.items()
        for s, v in enumerate(values)
    ]
    return results(recs, groups=dict(groups), repeats=max(len(v) for v in samples.values()))


def test_run_consistency_uses_each_cases_majority_and_skips_unanswered_cases() -> None:
    samples: dict[str, list[bool | None]] = {
        "a1": [True, True, False],  # majority pass
        "a2": [False, False, True],  # majority fail
        "a3": [True, True, True],
        "b1": [True, False, None],  # a tie over answered samples: fails
        "b2": [False, False, False],
        "c1": [None, None, None],  # never answered: c has one answered case, left out
        "c2": [True, True, True],
        "solo": [True, True, True],
    }
    groups = {k: k[0] if k != "solo" else None for k in samples}
    outputs = {"b1": "Refunds take 30 days.", "b2": "refunds take 30 days"}
    got = run_consistency(_run(samples, groups, outputs))
    assert [g.group for g in got.groups] == ["a", "b"]
    a, b = got.groups
    assert (a.cases, a.passing) == (3, 2) and a.verdict_agreement == pytest.approx(2 / 3)
    assert (b.cases, b.passing, b.verdict_agreement) == (2, 0, 1.0)
    assert b.output_agreement == 1.0  # the first samples' outputs, normalised
    assert got.overall == pytest.approx((2 / 3 + 1.0) / 2)


def test_a_run_without_groups_has_no_consistency() -> None:
    got = run_consistency(_run({"x": [True], "y": [False]}, {"x": None, "y": None}))
    assert got.groups == () and got.overall is None


# --- comparison --------------------------------------------------------------------------------


def _pair(
    base: Mapping[str, bool], head: Mapping[str, bool], groups: Mapping[str, str | None]
) -> tuple[Results, Results]:
    def side(values: Mapping[str, bool], tag: str) -> Results:
        recs = [record(c, passed=v, output=f"{tag} {c} {v}") for c, v in values.items()]
        return results(recs, groups=dict(groups))

    return side(base, "base"), side(head, "head")


def _flip_groups(n: int) -> tuple[Results, Results]:
    """2n groups of 2: n go (pass, pass) -> (pass, fail), n go (fail, fail) -> (fail, pass), so
    every group drops from unanimous to split while the pass rate stays the same."""
    base, head, groups = {}, {}, {}
    for i in range(n):
        for g, start in ((f"up{i:02d}", True), (f"down{i:02d}", False)):
            base[f"{g}-a"], base[f"{g}-b"] = start, start
            head[f"{g}-a"], head[f"{g}-b"] = start, not start
            groups[f"{g}-a"] = groups[f"{g}-b"] = g
    return _pair(base, head, groups)


def test_consistency_metric_pairs_groups_and_lists_the_ones_that_dropped() -> None:
    base = {"g1-a": True, "g1-b": True, "g1-c": True, "g1-d": True}
    head = {"g1-a": True, "g1-b": False, "g1-c": True, "g1-d": False}
    base |= {"g2-a": True, "g2-b": True, "g2-c": True}
    head |= {"g2-a": True, "g2-b": True, "g2-c": True}
    base |= {"g3-a": True, "g3-b": False}
    head |= {"g3-a": True, "g3-b": True}
    base |= {"lone": True, "single-a": True}
    head |= {"lone": False, "single-a": False}
    groups: dict[str, str | None] = {c: c.split("-")[0] for c in base}
    groups["lone"] = None  # no group; "single" has one case: neither counts
    c = compare(*_pair(base, head, groups), resamples=500, seed=7)
    m = c.metric("quality.consistency")
    assert m is not None and m.kind == "rate" and m.higher_is_better
    base_agree, head_agree = [1.0, 1.0, 0.5], [0.5, 1.0, 1.0]
    assert m.base == pytest.approx(2.5 / 3) and m.head == pytest.approx(2.5 / 3)
    assert m.delta == pytest.approx(0.0)
    assert (m.n, m.regressed, m.fixed) == (3, 1, 1)
    est = paired_delta(base_agree, head_agree, [0, 1, 2], resamples=500, seed=7)
    assert (m.low, m.high) == (est.low, est.high)
    assert m.p_value == paired_p_value(base_agree, head_agree, resamples=500, seed=7)
    assert m.note is not None and "3 group(s)" in m.note and "only 3 groups" in m.note
    # The metric sits with the overall quality metrics, before the per-assertion ones.
    assert [q.key for q in c.quality][:3] == ["quality.pass_rate", "quality.score", m.key]
    diff = c.consistency
    assert diff is not None and (diff.groups, diff.dropped_count) == (3, 1)
    (g1,) = diff.dropped
    assert (g1.group, g1.cases, g1.base_passing, g1.head_passing) == ("g1", 4, 4, 2)
    assert (g1.base_agreement, g1.head_agreement) == (1.0, 0.5)
    outs = [f"head g1-{x} {v}" for x, v in zip("abcd", (True, False, True, False), strict=True)]
    assert g1.head_output_agreement == pytest.approx(output_agreement(outs))
    assert g1.base_output_agreement is not None


def test_no_group_of_two_compared_cases_means_no_metric_not_zero() -> None:
    values = {"a": True, "b": False, "c": True}
    for groups in ({}, {"a": "x", "b": "y"}):
        c = compare(*_pair(values, values, groups))
        assert c.metric("quality.consistency") is None and c.consistency is None


def test_only_cases_scored_on_both_sides_count() -> None:
    base = results(
        [record("a", passed=True), record("b", passed=True), record("c", passed=True)],
        groups={"a": "g", "b": "g", "c": "g"},
    )
    head = results(
        [
            record("a", passed=True),
            record("b", passed=True),
            record("c", error=("timeout", "slow")),  # would have split the group
        ],
        groups={"a": "g", "b": "g", "c": "g"},
    )
    m = compare(base, head).metric("quality.consistency")
    assert m is not None and m.base == 1.0 and m.head == 1.0 and m.n == 1


def test_dropped_groups_are_worst_first_and_capped() -> None:
    base, head, groups = {}, {}, {}
    # "big": 4 cases 4/4 -> 2/4 (drop 0.5); "small-*": 2 cases -> split (drop 0.5, fewer cases);
    # "mild": 4 cases 4/4 -> 3/4 (drop 0.25).
    for name, size, failing in [("mild", 4, 1), ("big", 4, 2)] + [
        (f"small{i:03d}", 2, 1) for i in range(MAX_LISTED + 5)
    ]:
        for k in range(size):
            cid = f"{name}-{k}"
            base[cid], head[cid], groups[cid] = True, k >= failing, name
    c = compare(*_pair(base, head, groups), resamples=200)
    diff = c.consistency
    assert diff is not None
    assert diff.dropped_count == MAX_LISTED + 7 and len(diff.dropped) == MAX_LISTED
    names = [g.group for g in diff.dropped]
    assert names[:3] == ["big", "small000", "small001"]
    assert "mild" not in names  # the smallest drop fell off the capped list


# --- gate --------------------------------------------------------------------------------------


def test_policy_default_is_a_warn_only_10pt_drop_that_adds_no_rule() -> None:
    policy = parse_policy(None)
    assert "quality.consistency" not in policy.quality  # no "rule but no case has it" note
    rule = policy.rule_for("quality.consistency")
    assert rule == DEFAULT_CONSISTENCY
    assert rule.max_drop is not None and rule.max_drop.text == "10pt" and not rule.blocking


def test_a_written_consistency_rule_blocks_unless_it_says_not_to() -> None:
    written = parse_policy({"quality": {"consistency": {"max_drop": "5pt"}}})
    rule = written.rule_for("quality.consistency")
    assert rule is not None and rule.blocking and rule.max_drop is not None
    assert rule.max_drop.text == "5pt"
    relaxed = parse_policy({"quality": {"consistency": {"blocking": False}}})
    rule = relaxed.rule_for("quality.consistency")
    assert rule is not None and not rule.blocking
    assert rule.max_drop is not None and rule.max_drop.text == "10pt"
    floor = parse_policy({"quality": {"consistency": {"min": "90%"}}})
    rule = floor.rule_for("quality.consistency")
    assert rule is not None and rule.min is not None and rule.max_drop is None
    with pytest.raises(ConfigError, match=r"gate\.quality\.consistency\.max_dorp: unknown key"):
        parse_policy({"quality": {"consistency": {"max_dorp": "5pt"}}})
    with pytest.raises(ConfigError, match="at most 100%"):
        parse_policy({"quality": {"consistency": {"min": "120%"}}})


def _check(c: Comparison, section: Mapping[str, Any] | None, **overrides: Any) -> Any:
    gate = decide(c, parse_policy(section, overrides=overrides))
    (check,) = [ch for ch in gate.checks if ch.key == "quality.consistency"]
    return gate, check


def test_a_consistency_drop_warns_by_default_and_fails_when_the_policy_blocks() -> None:
    c = compare(*_flip_groups(20), resamples=500)
    m = c.metric("quality.consistency")
    pass_rate = c.metric("quality.pass_rate")
    assert m is not None and m.base == 1.0 and m.head == 0.5 and m.n == 40
    assert pass_rate is not None and pass_rate.delta == 0.0

    gate, check = _check(c, None)
    assert gate.verdict == "pass" and check.status == "warn" and not check.blocking
    assert check.threshold == "max drop 10pt"
    assert check.reason.startswith("Consistency across groups fell 50.0 points")

    gate, check = _check(c, {"quality": {"consistency": {"max_drop": "10pt"}}})
    assert gate.verdict == "fail" and check.status == "fail" and check.blocking
    assert "Consistency across groups" in gate.headline

    gate, check = _check(
        c, {"quality": {"consistency": {}}}, **{"quality.consistency.blocking": "false"}
    )
    assert gate.verdict == "pass" and check.status == "warn"


def test_a_written_rule_without_groups_says_so() -> None:
    c = compare(*_pair({"a": True}, {"a": True}, {}))
    gate = decide(c, parse_policy({"quality": {"consistency": {"max_drop": "5pt"}}}))
    (note,) = [ch for ch in gate.checks if ch.key == "quality.consistency"]
    assert note.status == "info" and "no case has it" in note.reason
    assert all(ch.key != "quality.consistency" for ch in decide(c, parse_policy(None)).checks)


def test_the_suite_schema_takes_a_consistency_rule(tmp_path: Path) -> None:
    def suite(rule: Mapping[str, Any]) -> Path:
        data = {
            "ci_gate": 1,
            "name": "groups",
            "targets": [{"id": "app", "provider": "fake"}],
            "gate": {"quality": {"consistency": dict(rule)}},
            "cases": [{"id": "a", "vars": {"q": "x"}, "group": "g", "expected": "x"}],
        }
        path = tmp_path / "suite.yaml"
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    loaded = load_suite(suite({"max_drop": "5pt", "blocking": False}))
    assert loaded.gate.raw["quality"]["consistency"] == {"max_drop": "5pt", "blocking": False}
    with pytest.raises(SuiteError, match="consistency"):
        load_suite(suite({"max_dorp": "5pt"}))


# --- reports -----------------------------------------------------------------------------------


def test_markdown_shows_the_groups_that_got_less_consistent_worst_first() -> None:
    c = compare(*_flip_groups(20), resamples=500)
    text = render_markdown(c, decide(c, parse_policy(None)))
    section = text.split("### Consistency across groups", 1)[1].split("\n### ", 1)[0]
    assert "100.0% on the baseline, 50.0% in this run (change -50.0 pt, 95% CI -50.0 to" in section
    assert "over 40 groups; gate: ⚠️ max drop 10pt, warn only." in section
    assert "40 groups got less consistent:" in section
    rows = [line for line in section.splitlines() if line.startswith("| down") or "| up" in line]
    assert len(rows) == 5  # at most five groups; the rest are counted
    assert "35 more groups got less consistent" in section
    assert "| down00  | 2       | all 2 fail (100.0%) | 1 of 2 pass (50.0%) |" in section
    assert "instructions / prompt" in section  # where to intervene
    # The quality table has the metric's row too.
    assert "| consistency across groups" in text


def test_markdown_has_no_consistency_section_without_groups() -> None:
    c = compare(*_pair({"a": True, "b": True}, {"a": True, "b": False}, {}))
    assert "Consistency" not in render_markdown(c, decide(c, parse_policy(None)))


def test_hostile_group_names_are_escaped() -> None:
    hostile = "<img src=x> | @octocat fixes #12\n```"
    base, head = _pair(
        {"a": True, "b": True}, {"a": True, "b": False}, {"a": hostile, "b": hostile}
    )
    c = compare(base, head)
    text = render_markdown(c, decide(c, parse_policy(None)))
    assert_safe_markdown(text, 60_000)
    assert "<img" not in text and "@octocat" not in text
    section = text.split("### Consistency across groups", 1)[1]
    assert "＠octocat" in section  # shown, defused


def _validate(value: Any, definition: str) -> list[str]:
    schema = {"$ref": f"#/$defs/{definition}", "$defs": report_schema()["$defs"]}
    return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(value)]


def test_json_report_carries_the_metric_and_the_groups() -> None:
    c = compare(*_flip_groups(3), resamples=200)
    data = json.loads(render_json(c, decide(c, parse_policy(None))))
    comparison = data["comparison"]
    (metric,) = [m for m in comparison["quality"] if m["key"] == "quality.consistency"]
    assert _validate(metric, "metric") == []
    assert metric["base"] == 1.0 and metric["head"] == 0.5
    consistency = comparison["consistency"]
    assert _validate(consistency, "consistency") == []
    assert consistency["groups"] == 6 and consistency["dropped_count"] == 6
    assert consistency["dropped"][0]["group"] == "down00"
    assert _validate({**consistency, "extra": 1}, "consistency") != []
    assert _validate({**consistency, "groups": "6"}, "consistency") != []
    comparison_props = report_schema()["$defs"]["comparison"]["properties"]
    assert "consistency" in comparison_props


def test_json_report_without_groups_reads_as_before() -> None:
    c = compare(*_pair({"a": True}, {"a": True}, {}))
    assert (
        "consistency" not in json.loads(render_json(c, decide(c, parse_policy(None))))["comparison"]
    )
