"""The gate as JUnit XML, for test reporters: one test per gate check and per regressed case.

Mapping: a check that fails is a ``<failure>``, an ``error`` an ``<error>``, ``inconclusive`` is
``<skipped>`` (undecided, neither pass nor fail) and ``warn`` passes with the warning in
``<system-out>``. One more test, ``verdict``, carries the gate's verdict the same way. A
regressed case is a ``<failure>`` when the gate failed; otherwise the gate judged the flips to
be noise or undecided, so the case passes with the regression in ``<system-out>``: a reporter
then shows red only when the gate does. Every string is stripped of the characters XML
1.0 forbids (ElementTree escapes the rest), so hostile text cannot make the file unreadable.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ci_gate.compare.model import CaseChange, Comparison
from ci_gate.gate.model import Check, GateResult
from ci_gate.report.sanitize import xml_clean

_MESSAGE_LEN = 500
_BODY_LEN = 4000


def _clip(text: str, limit: int) -> str:
    text = xml_clean(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Suite:
    def __init__(self, name: str) -> None:
        self.element = ET.Element("testsuite", name=_clip(name, _MESSAGE_LEN))
        self.counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def case(self, classname: str, name: str) -> ET.Element:
        self.counts["tests"] += 1
        attrs = {"classname": _clip(classname, _MESSAGE_LEN), "name": _clip(name, _MESSAGE_LEN)}
        return ET.SubElement(self.element, "testcase", attrs)

    def outcome(self, case: ET.Element, tag: str, message: str, body: str, kind: str) -> None:
        counter = {"failure": "failures", "error": "errors", "skipped": "skipped"}.get(tag)
        if counter:
            self.counts[counter] += 1
        attrs = {"message": _clip(message, _MESSAGE_LEN)}
        if tag != "skipped":
            attrs["type"] = kind
        child = ET.SubElement(case, tag, attrs)
        if body:
            child.text = _clip(body, _BODY_LEN)


_TAG_BY_STATUS = {"fail": "failure", "error": "error", "inconclusive": "skipped"}


def _check(suite: _Suite, check: Check) -> None:
    name = f"{check.key} ({check.threshold})" if check.threshold else check.key
    case = suite.case("ci-gate.checks", name)
    blocking = "blocking" if check.blocking else "warn only"
    body = f"{check.reason}\n{blocking}" + (
        f"; adjusted p = {check.adjusted_p:.4g}" if check.adjusted_p is not None else ""
    )
    tag = _TAG_BY_STATUS.get(check.status)
    if tag is not None:
        suite.outcome(case, tag, check.reason, body, check.status)
    elif check.status == "warn":
        ET.SubElement(case, "system-out").text = _clip(f"warning: {body}", _BODY_LEN)


def _regressed(suite: _Suite, change: CaseChange, gate_failed: bool) -> None:
    case = suite.case("ci-gate.cases", change.case_id)
    failing = [a for a in change.assertions if a.head_passed is False]
    message = "; ".join(f"{a.name}: {a.head_message}" for a in failing) or "fails now"
    lines = [f"passed on the baseline, fails in this run (tags: {', '.join(change.tags)})"]
    lines += [f"{a.name} ({a.type}, layer {a.layer}): {a.head_message}" for a in failing]
    if change.head_output is not None:
        lines += ["", "output in this run:", change.head_output[:_BODY_LEN]]
    if gate_failed:
        suite.outcome(case, "failure", message, "\n".join(lines), "regressed")
    else:
        text = "\n".join([f"regressed (the gate did not fail): {message}", *lines])
        ET.SubElement(case, "system-out").text = _clip(text, _BODY_LEN)


def render_junit(comparison: Comparison, gate: GateResult) -> str:
    """JUnit XML with one ``<testsuite>`` named "ci-gate <suite>"."""
    c = comparison
    suite = _Suite(f"ci-gate {c.head.suite_name}")
    props = ET.SubElement(suite.element, "properties")
    for name, value in (
        ("verdict", gate.verdict),
        ("mode", gate.mode),
        ("baseline_commit", (c.base.git.commit if c.base.git else None) or ""),
        ("head_commit", (c.head.git.commit if c.head.git else None) or ""),
        ("cases_compared", str(c.comparability.compared)),
    ):
        ET.SubElement(props, "property", name=name, value=_clip(value, _MESSAGE_LEN))

    verdict = suite.case("ci-gate.gate", "verdict")
    body = "\n".join([gate.headline, *gate.reasons])
    verdict_tag = _TAG_BY_STATUS.get(gate.verdict)
    if verdict_tag is not None:
        suite.outcome(verdict, verdict_tag, gate.headline, body, gate.verdict)
    else:
        ET.SubElement(verdict, "system-out").text = _clip(body, _BODY_LEN)

    for check in gate.checks:
        _check(suite, check)
    regressed = sorted((x for x in c.cases if x.status == "regressed"), key=lambda x: -x.severity)
    for change in regressed:
        _regressed(suite, change, gate.verdict == "fail")

    counts = {key: str(n) for key, n in suite.counts.items()}
    for key, text in counts.items():
        suite.element.set(key, text)
    root = ET.Element("testsuites", {"name": "ci-gate", **counts})
    root.append(suite.element)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
