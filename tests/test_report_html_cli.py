"""``ci-gate report BASE HEAD --html FILE`` and ``ci-gate compare --html``: exit codes, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_gate.cli import main
from ci_gate.results.store import write_results
from tests.browser.pages import embedded, runs


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("runs")
    base, head = runs()
    write_results(base, folder / "base.json")
    write_results(head, folder / "head.json")
    return str(folder / "base.json"), str(folder / "head.json")


def test_report_exits_0_on_a_failing_gate_and_writes_every_report(
    files: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = files
    out = {name: tmp_path / f"r.{name}" for name in ("html", "markdown", "json", "junit")}
    args = ["report", base, head] + [a for n, p in out.items() for a in (f"--{n}", str(p))]
    assert main(args) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("ci-gate fail: Pass rate fell")
    assert printed[1:] == [f"wrote {out[n]}" for n in ("html", "markdown", "json", "junit")]
    data = embedded(out["html"])
    assert data["format"] == "ci-gate-viewer"
    assert json.loads(out["json"].read_text("utf-8"))["verdict"] == "fail"
    assert "Pass rate fell" in out["markdown"].read_text("utf-8")
    assert out["junit"].read_text("utf-8").startswith("<?xml")


def test_report_takes_history_files_for_the_trend(
    files: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = files
    html = tmp_path / "r.html"
    assert main(["report", base, head, "--html", str(html), "--history", base, base, "-q"]) == 0
    assert capsys.readouterr().out == ""
    trend = embedded(html)["trend"]
    assert isinstance(trend, dict)
    assert [p["current"] for p in trend["points"]] == [False, False, True]


def test_compare_html_keeps_the_gate_exit_code(files: tuple[str, str], tmp_path: Path) -> None:
    base, head = files
    html = tmp_path / "c.html"
    assert main(["compare", base, head, "-q", "--html", str(html)]) == 1
    trend = embedded(html)["trend"]
    assert isinstance(trend, dict)
    assert trend["points"] == [] and "--history" in trend["note"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "ci-gate report: no report to write; give --html FILE"),
        (["--html", "{tmp}"], "--html {tmp}: is a directory"),
        (["--html", "{tmp}/r.html", "--history", "{tmp}/missing.json"], "missing.json: no such"),
        (["--html", "{tmp}/r.html", "--resamples", "5"], "--resamples must be at least 100"),
        (["--html", "{tmp}/r.html", "--set", "nokey"], "--set 'nokey': expected KEY=VALUE"),
        (["--html", "{tmp}/r.html", "--exit-code", "fail=3"], "unrecognized arguments"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    files: tuple[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    base, head = files
    args = ["report", base, head, *(a.format(tmp=tmp_path) for a in extra)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert message.format(tmp=tmp_path) in err
    assert "Traceback" not in err and not (tmp_path / "r.html").exists()


def test_a_bad_results_file_is_one_line_and_exit_2(
    files: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "ci-gate-results", "schema_version": 1, "run": ', "utf-8")
    assert main(["report", files[0], str(bad), "--html", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(bad) in err and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()
