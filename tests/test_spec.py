"""The suite's spec: links, coverage, the gate honouring its trade-offs, reports in its words."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from ci_gate.cli import main
from ci_gate.errors import SuiteError
from ci_gate.gate.policy import parse_policy
from ci_gate.report.json_report import report_schema
from ci_gate.results.store import read_results
from ci_gate.suite.coverage import coverage, coverage_lines
from ci_gate.suite.load import load_suite

SPEC = """
spec:
  goal: Answer refund questions truthfully.
  optimise_for: quality.pass_rate
  behaviours:
    - {name: states-the-window, description: Gives the 30-day refund window.}
    - {name: greets, description: Opens with a greeting.}
  failure_modes:
    - name: invents-refund-policy
      description: Promises a refund the policy does not give.
      severity: high
    - {name: leaks-data, description: Shares another customer's data., severity: critical}
  tradeoffs:
    - {name: pay-for-quality, description: Worth it., allow: cost.per_case, up_to: 30%, gains: 3pt}
"""

# Five refund cases guard the failure mode through one assertion each; "window" links by case.
CASES = """
cases:
  - id: window
    vars: {q: "How long do I have to return?"}
    behaviours: [states-the-window]
    assert:
      - {type: contains, value: "30 days"}
""" + "".join(
    f"""
  - id: gift-{i}
    vars: {{q: "Gift card {i} refund?"}}
    assert:
      - {{type: not-contains, name: no-false-promise, value: "full refund",
         failure_modes: [invents-refund-policy]}}
      - {{type: contains, name: polite, value: "Hello", behaviours: [greets]}}
"""
    for i in range(5)
)


def _suite(tmp_path: Path, spec: str = SPEC, cases: str = CASES, extra: str = "") -> Path:
    outputs_base = {"window": "Hello, 30 days."} | {
        f"gift-{i}": "Hello, gift cards cannot be refunded." for i in range(5)
    }
    outputs_head = outputs_base | {f"gift-{i}": "Hello, you get a full refund!" for i in range(3)}
    path = tmp_path / "suite.yaml"
    path.write_text(
        f"""ci_gate: 1
name: refunds
targets:
  - {{id: base, provider: fake, outputs: {json.dumps(outputs_base)}}}
  - {{id: head, provider: fake, outputs: {json.dumps(outputs_head)}}}
prompts:
  - {{id: p, template: "{{{{ q }}}}"}}
{spec}
{cases}
{extra}
""",
        encoding="utf-8",
    )
    return path


def _error(path: Path) -> str:
    with pytest.raises(SuiteError) as caught:
        load_suite(path)
    return str(caught.value)


def test_the_spec_and_its_links_are_loaded(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path))
    assert suite.spec is not None
    assert [f.severity for f in suite.spec.failure_modes] == ["high", "critical"]
    gift = next(c for c in suite.cases if c.id == "gift-0")
    assert gift.links() == (("greets",), ("invents-refund-policy",))
    # The spec's trade-off joins the gate's, with `when` taken from optimise_for.
    tradeoffs = suite.gate.raw["tradeoffs"]
    assert tradeoffs == [
        {
            "name": "pay-for-quality",
            "allow": "cost.per_case",
            "up_to": "30%",
            "gains": "3pt",
            "when": "quality.pass_rate",
        }
    ]
    assert parse_policy(suite.gate.raw).tradeoffs[0].when == "quality.pass_rate"


def test_links_do_not_change_a_case_fingerprint(tmp_path: Path) -> None:
    from ci_gate.suite.fingerprint import fingerprint

    linked = load_suite(_suite(tmp_path))
    bare = tmp_path / "bare"
    bare.mkdir()
    plain = load_suite(
        _suite(
            bare,
            spec="",
            cases=CASES.replace("    behaviours: [states-the-window]\n", "")
            .replace(",\n         failure_modes: [invents-refund-policy]", "")
            .replace(", behaviours: [greets]", ""),
        )
    )
    assert fingerprint(linked, linked.target()).cases == fingerprint(plain, plain.target()).cases


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("[states-the-window]", "[states-the-windw]"),
            "cases[0].behaviours: no behaviour named 'states-the-windw' in the spec "
            "(did you mean 'states-the-window'?)",
        ),
        (
            ("[states-the-window]", "[leaks-data]"),
            "'leaks-data' is under spec.failure_modes; link it with failure_modes: instead",
        ),
        (
            ("[invents-refund-policy]", "[refund-lies]"),
            "no failure mode named 'refund-lies' in the spec (define it under "
            "spec.failure_modes (the spec's failure modes: invents-refund-policy, leaks-data))",
        ),
    ],
)
def test_a_link_to_an_unknown_name_is_an_error_with_a_suggestion(
    tmp_path: Path, edit: tuple[str, str], expected: str
) -> None:
    message = _error(_suite(tmp_path, cases=CASES.replace(*edit)))
    assert expected in message
    assert "suite.yaml:" in message


def test_a_link_without_a_spec_says_where_to_define_it(tmp_path: Path) -> None:
    message = _error(_suite(tmp_path, spec=""))
    assert "links to the behaviour 'states-the-window', but the suite has no spec: section" in (
        message
    )


def test_names_are_unique_across_behaviours_and_failure_modes(tmp_path: Path) -> None:
    spec = SPEC.replace("name: greets,", "name: leaks-data,")
    message = _error(_suite(tmp_path, spec=spec, cases=CASES.replace("[greets]", "[leaks-data]")))
    assert "spec.failure_modes[1].name: the name 'leaks-data' is used twice" in message


def test_a_tradeoff_needs_a_quality_metric(tmp_path: Path) -> None:
    spec = SPEC.replace("optimise_for: quality.pass_rate", "optimise_for: quality.preference")
    message = _error(_suite(tmp_path, spec=spec))
    assert "spec.tradeoffs[0]: the trade-off does not say which quality metric must improve" in (
        message
    )


def test_gate_rules_by_failure_mode_name_must_exist(tmp_path: Path) -> None:
    extra = "gate:\n  quality:\n    failure_modes: {invents-refund-polcy: {max_drop: 0pt}}\n"
    message = _error(_suite(tmp_path, extra=extra))
    assert "gate.quality.failure_modes.invents-refund-polcy: no failure mode named" in message
    assert "did you mean 'invents-refund-policy'?" in message


def test_coverage_names_each_gap(tmp_path: Path) -> None:
    cases = CASES + "  - {id: lonely, vars: {q: hi}, assert: [{type: contains, value: x}]}\n"
    suite = load_suite(_suite(tmp_path, cases=cases))
    lines = coverage_lines(coverage(suite))
    assert lines == [
        "spec coverage: behaviours 2/2 with cases, failure modes 1/2 tested, cases 6/7 linked",
        "warning: failure mode 'leaks-data' (critical) is never tested (add a case with "
        "failure_modes: [leaks-data])",
        "warning: 1 case(s) link to no behaviour or failure mode: lonely",
    ]


def test_validate_prints_coverage_and_strict_fails_on_a_gap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _suite(tmp_path)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "failure modes 1/2 tested" in out
    assert main(["validate", "--strict", str(path)]) == 1
    assert "--strict: the spec does not cover the suite" in capsys.readouterr().out


def test_csv_and_included_files_link_too(tmp_path: Path) -> None:
    (tmp_path / "more.csv").write_text(
        "id,q,behaviours,failure_modes\ncsv-1,hello,greets,leaks-data\ncsv-2,hi,,\n",
        encoding="utf-8",
    )
    cases = CASES + "  - {file: more.csv, behaviours: [states-the-window]}\n"
    suite = load_suite(_suite(tmp_path, cases=cases))
    by_id = {c.id: c for c in suite.cases}
    assert by_id["csv-1"].behaviours == ("greets", "states-the-window")
    assert by_id["csv-1"].failure_modes == ("leaks-data",)
    assert by_id["csv-2"].behaviours == ("states-the-window",)
    assert "q" in by_id["csv-1"].vars and "behaviours" not in by_id["csv-1"].vars


@pytest.fixture
def compared(tmp_path: Path) -> dict[str, Path]:
    suite = _suite(tmp_path)
    out = {name: tmp_path / f"{name}.json" for name in ("base", "head", "md", "json")}
    assert main(["run", str(suite), "--target", "base", "-o", str(out["base"]), "-q"]) == 0
    assert main(["run", str(suite), "--target", "head", "-o", str(out["head"]), "-q"]) == 0
    main(
        [
            "compare",
            str(out["base"]),
            str(out["head"]),
            "--markdown",
            str(out["md"]),
            "--json",
            str(out["json"]),
            "-q",
        ]
    )
    return out


def test_results_keep_the_links_and_the_spec(compared: dict[str, Path]) -> None:
    results = read_results(compared["head"])
    gift = results.cases["gift-0"]
    assert gift.behaviours == () and gift.failure_modes == ()
    assert gift.assertion_links["no-false-promise"].failure_modes == ("invents-refund-policy",)
    assert results.cases["window"].behaviours == ("states-the-window",)
    assert results.run.spec["failure_modes"][0]["severity"] == "high"


def test_the_report_groups_regressions_by_failure_mode(compared: dict[str, Path]) -> None:
    md = compared["md"].read_text(encoding="utf-8")
    section = md.split("### In the spec's words", 1)[1].split("###", 1)[0]
    assert "The team optimises for the pass rate: 100.0% → 50.0%" in section
    assert (
        "**failure mode 'invents-refund-policy' (high)**: 3 cases newly fail "
        "(gift-0, gift-1, gift-2)" in section
    )
    assert "_Promises a refund the policy does not give._" in section
    # The greeting still passes: the behaviour linked to it did not regress.
    assert "greets" not in section
    report = json.loads(compared["json"].read_text(encoding="utf-8"))
    jsonschema.validate(report, report_schema())
    impact = report["comparison"]["spec_impact"]
    assert [(i["item"]["name"], i["regressed"]) for i in impact] == [
        ("invents-refund-policy", ["gift-0", "gift-1", "gift-2"])
    ]
    assert impact[0]["layers"] == ["instructions"]  # not-contains: wording the prompt avoids


def test_a_failure_mode_rule_can_block(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = (
        "gate:\n  min_cases: 5\n  quality:\n    pass_rate: {max_drop: 100pt}\n"
        "    failure_modes: {invents-refund-policy: {max_drop: 0pt, blocking: true}}\n"
    )
    suite = _suite(tmp_path, extra=extra)
    base, head = tmp_path / "b.json", tmp_path / "h.json"
    assert main(["run", str(suite), "--target", "base", "-o", str(base), "-q"]) == 0
    assert main(["run", str(suite), "--target", "head", "-o", str(head), "-q"]) == 0
    code = main(["compare", str(base), str(head), "-q"])
    out = capsys.readouterr().out.splitlines()[-1]
    # Three of five linked cases newly fail: over the allowed 0 points, but five cases cannot
    # tell that from chance, so a blocking rule makes the verdict inconclusive, not a pass.
    assert out.startswith("ci-gate inconclusive: Failure mode invents-refund-policy fell 60.0")
    assert code == 0
    code = main(["compare", str(base), str(head), "-q", "--exit-code", "inconclusive=1"])
    assert code == 1


def test_hostile_spec_text_in_a_results_file_is_escaped(compared: dict[str, Path]) -> None:
    from ci_gate.compare.compare import compare
    from ci_gate.gate.decide import decide
    from ci_gate.gate.policy import parse_policy as policy_of
    from ci_gate.report.markdown import render_markdown

    base, head = read_results(compared["base"]), read_results(compared["head"])
    hostile = {
        **head.run.spec,
        "failure_modes": [
            {
                "name": "invents-refund-policy",
                "description": "<img src=x onerror=alert(1)> @admin #1 | ```",
                "severity": "<b>high</b>",
            }
        ],
    }
    from dataclasses import replace

    head = replace(head, run=replace(head.run, spec=hostile))
    comparison = compare(base, head)
    md = render_markdown(comparison, decide(comparison, policy_of(head.run.gate)))
    section = md.split("### In the spec's words", 1)[1].split("###", 1)[0]
    assert "<img" not in section and "@admin" not in section
    assert "<b>" not in section
    assert "(high)" not in section  # an unknown severity is dropped, not shown


def test_more_flipped_cases_than_groups_is_not_an_internal_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every case in one group: six cases, one unit; three of them flip.
    cases = CASES.replace("  - id: ", "  - group: all\n    id: ")
    suite = _suite(tmp_path, cases=cases)
    base, head = tmp_path / "b.json", tmp_path / "h.json"
    assert main(["run", str(suite), "--target", "base", "-o", str(base), "-q"]) == 0
    assert main(["run", str(suite), "--target", "head", "-o", str(head), "-q"]) == 0
    capsys.readouterr()
    assert main(["compare", str(base), str(head), "-q"]) == 0
    assert capsys.readouterr().out.startswith("ci-gate inconclusive")
