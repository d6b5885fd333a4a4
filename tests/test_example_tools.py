"""The tools-and-retrieval example end to end: a good agent passes, a regressed one fails on the
tool and retrieval assertions that catch its mistakes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ci_gate.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tools-and-retrieval" / "suite.yaml"


def _run(tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / "results.json"
    assert main(["run", str(EXAMPLE), "-o", str(out), "-q", "--no-cache", *extra]) == 0
    data: dict[str, Any] = json.loads(out.read_text("utf-8"))
    return data


def _failed(results: dict[str, Any]) -> dict[str, tuple[float, str]]:
    return {
        f"{r['case_id']}/{a['name']}": (a["score"], a["message"])
        for r in results["records"]
        for a in r["assertions"]
        if not a["pass"]
    }


def test_the_example_validates(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLE)]) == 0
    assert "5 cases, 17 assertions" in capsys.readouterr().out


def test_the_good_agent_passes_every_assertion(tmp_path: Path) -> None:
    results = _run(tmp_path)
    assert [r["pass"] for r in results["records"]] == [True] * 5
    layers = {a["type"]: a["layer"] for r in results["records"] for a in r["assertions"]}
    assert layers["tool-args"] == "tools" and layers["context-recall"] == "knowledge"


def test_the_regressed_agent_is_caught_by_tool_and_retrieval_assertions(tmp_path: Path) -> None:
    failed = _failed(_run(tmp_path, "--target", "agent-regressed"))
    assert set(failed) == {
        "weather-paris/weather-args",
        "refund-order/look-up-before-refunding",
        "baggage/context-precision",
    }
    assert "('town' was unexpected)" in failed["weather-paris/weather-args"][1]
    assert failed["refund-order/look-up-before-refunding"][0] == 0.5
    assert failed["baggage/context-precision"][0] == 0.25
