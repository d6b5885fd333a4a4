"""The bundled scorers example end to end: every scorer offline, calibration deciding which
judged assertions block, the pairwise preference in the comparison, the gate and the reports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from ci_gate.cli import main
from ci_gate.compare.compare import compare
from ci_gate.gate.decide import decide
from ci_gate.gate.policy import parse_policy
from ci_gate.judge.pairwise import judge_pairs
from ci_gate.report.json_report import report_data, report_schema
from ci_gate.report.markdown import render_markdown
from ci_gate.results.model import Results
from ci_gate.results.store import read_results
from ci_gate.suite.load import load_suite

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scorers"
ASSERTION_TYPES = {
    "llm-rubric",
    "context-faithfulness",
    "similar",
    "python",
    "command",
    "tool-called",
    "tool-args",
    "context-recall",
    "context-precision",
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Results, Results]:
    folder = tmp_path_factory.mktemp("scorers") / "scorers"
    shutil.copytree(EXAMPLE, folder)
    suite = folder / "suite.yaml"
    base, head = folder / "base.json", folder / "head.json"
    env_args = ["--cache-dir", str(folder / "cache"), "-q"]
    assert main(["run", str(suite), "-o", str(base), *env_args]) == 0
    assert main(["run", str(suite), "--target", "bot-regressed", "-o", str(head), *env_args]) == 0
    return suite, read_results(base), read_results(head)


def test_every_scorer_kind_runs_offline(runs: tuple[Path, Results, Results]) -> None:
    _, base, _ = runs
    seen = {a.type for r in base.records for a in r.assertions}
    assert seen >= ASSERTION_TYPES
    assert all(r.passed for r in base.records)
    assert base.run.totals.judge_calls > 0 and base.run.totals.errored == 0


def test_the_calibrated_rubric_blocks_and_the_uncalibrated_judge_advises(
    runs: tuple[Path, Results, Results],
) -> None:
    _, _, head = runs
    status = {j.assertion: j.advisory for j in head.run.judges}
    assert status["apologises-and-times-refund"] is None
    assert "no calibration of this assertion" in (status["grounded-in-policy"] or "")
    outcomes = {(r.case_id, a.name): a for r in head.records for a in r.assertions}
    rubric = outcomes[("refund-days", "apologises-and-times-refund")]
    grounded = outcomes[("shipping-cost", "grounded-in-policy")]
    assert rubric.blocking and not rubric.passed and rubric.advisory is None
    assert not grounded.blocking and not grounded.passed and grounded.advisory


def test_the_comparison_reports_preference_consistency_and_judges(
    runs: tuple[Path, Results, Results],
) -> None:
    suite, base, head = runs
    prefs = judge_pairs(load_suite(suite), base, head, {}, use_cache=False)
    assert prefs.count("loss") == 4 and prefs.count("win") == 0 and prefs.count("tie") == 2
    comparison = compare(base, head, resamples=500, preferences=prefs)
    metric = comparison.metric("quality.preference")
    assert metric is not None and metric.head == pytest.approx(-4 / 6)
    assert comparison.metric("quality.consistency") is not None
    policy = parse_policy(base.run.gate)
    gate = decide(comparison, policy)
    checks = {c.key: c for c in gate.checks}
    assert checks["quality.preference"].blocking  # written in the suite's gate section
    markdown = render_markdown(comparison, gate)
    assert "### Judges" in markdown and "base preferred: 66.7%" in markdown
    assert "### Consistency across groups" in markdown
    data = report_data(comparison, gate)
    jsonschema.Draft202012Validator(report_schema()).validate(json.loads(json.dumps(data)))
    assert data["comparison"]["preference"]["losses"]["count"] == 4


def test_compare_cli_with_pairwise(
    runs: tuple[Path, Results, Results], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite, _, _ = runs
    folder = suite.parent
    out = tmp_path / "report.json"
    code = main(
        [
            "compare",
            str(folder / "base.json"),
            str(folder / "head.json"),
            "--pairwise",
            str(suite),
            "--no-cache",
            "--json",
            str(out),
            "-q",
        ]
    )
    assert code == 0  # inconclusive: six cases cannot show significance
    data = json.loads(out.read_text("utf-8"))
    assert data["verdict"] == "inconclusive"
    assert data["comparison"]["preference"]["judged"] == 6
    assert "inconclusive" in capsys.readouterr().out


def test_compare_pairwise_needs_a_pairwise_section(
    runs: tuple[Path, Results, Results], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite, _, _ = runs
    plain = tmp_path / "plain.yaml"
    text = suite.read_text("utf-8").replace("pairwise:\n  rubric:", "x_pairwise:\n  rubric:")
    plain.write_text(text.replace("x_pairwise:\n  rubric: The better", "# "), encoding="utf-8")
    folder = suite.parent
    code = main(
        ["compare", str(folder / "base.json"), str(folder / "head.json"), "--pairwise", str(plain)]
    )
    err = capsys.readouterr().err
    assert code == 2 and "has no pairwise: section" in err


def test_an_uncalibrated_judge_cannot_block_its_assertion_rule(
    runs: tuple[Path, Results, Results],
) -> None:
    _, base, head = runs
    comparison = compare(base, head, resamples=200)
    section = {"quality": {"assertions": {"grounded-in-policy": {"max_drop": "1pt"}}}}
    gate = decide(comparison, parse_policy(section))
    checks = [c for c in gate.checks if c.key == "assertion.grounded-in-policy"]
    assert any(c.status == "info" and "only warns" in c.reason for c in checks)
    assert all(not c.blocking for c in checks)


def test_the_run_line_counts_judges_apart(
    runs: tuple[Path, Results, Results], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite, _, _ = runs
    cache = ["--cache-dir", str(suite.parent / "cache")]  # the fixture's runs filled it
    assert main(["run", str(suite), "-o", str(tmp_path / "again.json"), *cache]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "judges and embedders: 0 calls (" in line and " cached), $" in line
    assert "1 judged assertion(s) advisory" in line
