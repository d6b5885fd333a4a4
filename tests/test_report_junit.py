"""JUnit XML: one test per gate check and per regressed case, readable whatever the text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from ci_gate.report.junit import render_junit
from tests.report_fixtures import (
    FORGED_HEADLINE,
    SCENARIOS,
    assert_golden,
    erroring,
    failing,
    hostile,
    inconclusive,
    passing,
)


def _parse(xml: str) -> ET.Element:
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(xml.encode("utf-8"))


def _outcomes(suite: ET.Element) -> dict[str, list[str]]:
    """Test name -> tags of its children (failure, error, skipped, system-out)."""
    return {tc.get("name", ""): [child.tag for child in tc] for tc in suite.iter("testcase")}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_counts_agree_with_the_testcases(name: str) -> None:
    root = _parse(render_junit(*SCENARIOS[name]()))
    suite = root.find("testsuite")
    assert suite is not None
    cases = list(suite.iter("testcase"))
    counted = {tag: sum(1 for tc in cases if tc.find(tag) is not None) for tag in
               ("failure", "error", "skipped")}  # fmt: skip
    assert suite.get("tests") == root.get("tests") == str(len(cases))
    assert suite.get("failures") == str(counted["failure"])
    assert suite.get("errors") == str(counted["error"])
    assert suite.get("skipped") == str(counted["skipped"])


def test_golden_junit() -> None:
    assert_golden("report_fail.xml", render_junit(*failing()))


def test_a_failed_gate_fails_its_check_and_each_regressed_case() -> None:
    comparison, gate = failing()
    suite = _parse(render_junit(comparison, gate)).find("testsuite")
    assert suite is not None
    assert suite.get("name") == "ci-gate support-bot"
    outcomes = _outcomes(suite)
    assert outcomes["verdict"] == ["failure"]
    assert outcomes["quality.pass_rate (max drop 2pt)"] == ["failure"]
    assert outcomes["quality.pass_rate (min 80%)"] == []
    assert outcomes["tag.refunds"] == ["system-out"]  # a warning passes, with the warning shown
    regressed = [tc for tc in suite.iter("testcase") if tc.get("classname") == "ci-gate.cases"]
    assert [tc.get("name") for tc in regressed][:3] == ["refund-03", "refund-07", "refund-11"]
    assert len(regressed) == 12
    failure = regressed[0].find("failure")
    assert failure is not None
    assert failure.get("message") == (
        "reply-is-json: output is not JSON: Expecting value; mentions-policy: expected "
        "'within 14 days'"
    )
    assert "Sure! I have refunded 42.50 EUR" in (failure.text or "")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == "fail"
    assert (props["baseline_commit"] or "").startswith("9f3c2a1")


def test_when_the_gate_does_not_fail_nothing_is_red() -> None:
    comparison, gate = failing()
    passed = replace(gate, verdict="pass", checks=(), exit_code=0)
    suite = _parse(render_junit(comparison, passed)).find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    out = suite.find("testcase[@name='refund-03']/system-out")
    assert out is not None and (out.text or "").startswith("regressed (the gate did not fail)")
    assert _parse(render_junit(*passing())).get("failures") == "0"


def test_error_and_inconclusive_verdicts() -> None:
    errored = _outcomes(_parse(render_junit(*erroring())))
    assert errored["verdict"] == ["error"]
    assert errored["errors.rate (max 2%)"] == ["error"]
    assert errored["comparability"] == ["error"]
    undecided = _outcomes(_parse(render_junit(*inconclusive())))
    assert undecided["verdict"] == ["skipped"]
    assert undecided["quality.pass_rate (margin 2pt)"] == ["skipped"]


def test_hostile_text_stays_well_formed_xml() -> None:
    comparison, gate = hostile()
    xml = render_junit(comparison, gate)
    root = _parse(xml)
    verdict = root.find(".//testcase[@name='verdict']/failure")
    assert verdict is not None
    assert verdict.get("message") == FORGED_HEADLINE  # kept as text, escaped by the writer
    assert "<!--" not in xml  # escaped to &lt;!--, so no comment exists in the document
    names = [tc.get("name", "") for tc in root.iter("testcase")]
    assert any("@octocat" in n for n in names)
    assert all("\x00" not in n and "\x1b" not in n for n in names)
    assert len(xml) < 200_000  # the 1 MB output is clipped
