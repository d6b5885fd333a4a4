"""``ci-gate compare BASE HEAD``: exit codes per verdict, policy choice, files written."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from ci_gate.cli import main
from ci_gate.results.model import Results
from ci_gate.results.store import write_results
from tests.factories import record, results

GATE = {"quality": {"pass_rate": {"max_drop": "2pt"}}}


def _write(tmp_path: Path, name: str, res: Results) -> str:
    path = tmp_path / name
    write_results(res, path)
    return str(path)


def _runs(tmp_path: Path, regressed: int, **head_run: Any) -> tuple[str, str]:
    base = [record(f"c{i:03d}") for i in range(100)]
    head = [record(f"c{i:03d}", passed=i >= regressed) for i in range(100)]
    head_results = results(head, gate=head_run.pop("gate", GATE))
    if head_run:
        head_results = dataclasses.replace(
            head_results, run=dataclasses.replace(head_results.run, **head_run)
        )
    return (
        _write(tmp_path, "base.json", results(base, gate=GATE)),
        _write(tmp_path, "head.json", head_results),
    )


def test_pass_exits_0_and_quiet_prints_only_the_headline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = _runs(tmp_path, 0)
    assert main(["compare", base, head, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ci-gate pass: No blocking check failed: pass rate 100.0%")
    assert out.count("\n") == 1


def test_fail_exits_1_and_writes_the_requested_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = _runs(tmp_path, 15)
    md, js, xml = tmp_path / "r.md", tmp_path / "r.json", tmp_path / "r.xml"
    code = main(
        ["compare", base, head, "-q", "--markdown", str(md), "--json", str(js), "--junit", str(xml)]
    )
    assert code == 1
    assert capsys.readouterr().out.startswith("ci-gate fail: Pass rate fell 15.0 points")
    assert md.read_text(encoding="utf-8").strip()
    assert isinstance(json.loads(js.read_text(encoding="utf-8")), dict)
    assert xml.read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_without_quiet_the_markdown_report_goes_to_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = _runs(tmp_path, 15)
    assert main(["compare", base, head]) == 1
    out = capsys.readouterr().out
    assert len(out.splitlines()) > 5 and "15.0" in out


def test_not_comparable_is_an_error_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = _runs(tmp_path, 0, suite_name="another-suite")
    assert main(["compare", base, head, "-q"]) == 1
    assert capsys.readouterr().out.startswith("ci-gate error: The runs cannot be compared")
    assert main(["compare", base, head, "-q", "--exit-code", "error=4"]) == 4


def test_the_base_policy_is_used_by_default_and_head_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loose = {"quality": {"pass_rate": {"max_drop": "50pt"}}}
    base, head = _runs(tmp_path, 15, gate=loose)
    assert main(["compare", base, head, "-q"]) == 1  # the PR cannot loosen its own gate
    assert main(["compare", base, head, "-q", "--policy", "head"]) == 0
    capsys.readouterr()


def test_a_policy_file_and_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, head = _runs(tmp_path, 15)
    policy = tmp_path / "suite.yaml"
    policy.write_text("gate:\n  quality:\n    pass_rate: {max_drop: 30pt}\n", encoding="utf-8")
    assert main(["compare", base, head, "-q", "--policy", str(policy)]) == 0
    args = ["compare", base, head, "-q", "--set", "quality.pass_rate.max_drop=30pt"]
    assert main(args) == 0
    assert main([*args, "--set", "quality.pass_rate.min=90%"]) == 1
    capsys.readouterr()


def test_inconclusive_exits_0_in_pr_mode_and_1_in_release_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base_records = [record(f"c{i:03d}") for i in range(10)]
    head_records = [record(f"c{i:03d}") for i in range(10)]
    base = _write(tmp_path, "b.json", results(base_records))
    head = _write(tmp_path, "h.json", results(head_records))
    assert main(["compare", base, head, "-q"]) == 0  # 10 cases: inconclusive
    assert capsys.readouterr().out.startswith("ci-gate inconclusive: Only 10 cases were compared")
    assert main(["compare", base, head, "-q", "--exit-code", "inconclusive=1"]) == 1
    # Release: ten identical cases show non-inferiority (a zero-wide interval).
    assert main(["compare", base, head, "-q", "--mode", "release"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "alpha"], "--set 'alpha': expected KEY=VALUE"),
        (["--set", "alpha=0.9"], "gate.alpha: must be in (0, 0.5), got 0.9 (set on the command"),
        (["--exit-code", "maybe=1"], "--exit-code maybe=1: the verdict must be one of"),
        (["--exit-code", "fail=300"], "--exit-code fail=300: the code must be 0..255"),
        (["--policy", "nowhere.yaml"], "--policy 'nowhere.yaml': expected base, head or an"),
        (["--resamples", "10"], "--resamples must be at least 100, got 10"),
        (["--mode", "nightly"], "invalid choice: 'nightly'"),
    ],
)
def test_usage_and_policy_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    base, head = _runs(tmp_path, 0)
    assert main(["compare", base, head, "-q", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_missing_results_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, _ = _runs(tmp_path, 0)
    assert main(["compare", base, str(tmp_path / "missing.json")]) == 2
    assert "no such results file" in capsys.readouterr().err


def test_a_policy_file_without_a_gate_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = _runs(tmp_path, 0)
    policy = tmp_path / "p.yaml"
    policy.write_text("name: x\n", encoding="utf-8")
    assert main(["compare", base, head, "--policy", str(policy)]) == 2
    assert "no gate: section" in capsys.readouterr().err


def test_seed_and_resamples_are_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, head = _runs(tmp_path, 5)
    js = tmp_path / "r.json"
    main(["compare", base, head, "-q", "--seed", "42", "--resamples", "300", "--json", str(js)])
    settings = json.loads(js.read_text(encoding="utf-8"))["comparison"]["settings"]
    assert (settings["seed"], settings["resamples"], settings["confidence"]) == (42, 300, 0.95)
    main(["compare", base, head, "-q", "--set", "alpha=0.1", "--json", str(js)])
    settings = json.loads(js.read_text(encoding="utf-8"))["comparison"]["settings"]
    assert settings["confidence"] == pytest.approx(0.9)  # intervals at 1 - alpha
    capsys.readouterr()
