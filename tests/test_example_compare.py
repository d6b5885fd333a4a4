"""The bundled example end to end: run a baseline, run a change, compare them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_gate.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "support-bot" / "suite.yaml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("example")
    paths = {name: d / f"{name}.json" for name in ("base", "again", "terse")}
    assert main(["run", str(EXAMPLE), "-o", str(paths["base"]), "-q"]) == 0
    assert main(["run", str(EXAMPLE), "-o", str(paths["again"]), "-q"]) == 0
    terse = ["run", str(EXAMPLE), "--target", "app-terse", "-o", str(paths["terse"]), "-q"]
    assert main(terse) == 0
    return paths


def test_no_change_passes(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["compare", str(runs["base"]), str(runs["again"])]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## ✅ Pass")


def test_a_degraded_change_fails_with_a_report_a_developer_can_act_on(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    junit, js = tmp_path / "r.xml", tmp_path / "r.json"
    argv = [
        "compare",
        str(runs["base"]),
        str(runs["terse"]),
        "--junit",
        str(junit),
        "--json",
        str(js),
    ]
    assert main(argv) == 1
    report = capsys.readouterr().out
    assert report.startswith("## ❌ Fail")
    assert "Pass rate fell" in report and "newly fail" in report
    assert "target" in report  # what changed between the runs
    assert "mentions-customs" in report  # a failing assertion is named
    assert "<details>" in report  # newly failing cases with their outputs, collapsed
    assert json.loads(js.read_text("utf-8"))["verdict"] == "fail"
    assert "<testsuite" in junit.read_text("utf-8")
    # A release is gated the same way, more strictly.
    assert main([*argv[:3], "--mode", "release", "--quiet"]) == 1
