"""The JSON report: valid against its schema, stable, complete, and safe to write as UTF-8."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from ci_gate.report.json_report import render_json, report_data, report_schema
from tests.report_fixtures import SCENARIOS, assert_golden, failing, hostile, metric


def _validator() -> jsonschema.Draft202012Validator:
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_validates_against_the_schema(name: str) -> None:
    text = render_json(*SCENARIOS[name]())
    data = json.loads(text)
    errors = [e.message for e in _validator().iter_errors(data)]
    assert errors == []
    text.encode("utf-8")  # writable as UTF-8: no lone surrogates left


def test_schema_rejects_what_it_should() -> None:
    data = json.loads(render_json(*failing()))
    validator = _validator()
    assert validator.is_valid(data)
    for broken in (
        {**data, "verdict": "maybe"},
        {**data, "schema_version": 2},
        {**data, "extra": 1},
        {**data, "gate": {**data["gate"], "checks": [{"key": "x"}]}},
    ):
        assert not validator.is_valid(broken)
    missing = {k: v for k, v in data.items() if k != "comparison"}
    assert not validator.is_valid(missing)


def test_golden_json() -> None:
    assert_golden("report_fail.json", render_json(*failing()))


def test_output_is_stable_and_sorted() -> None:
    text = render_json(*failing())
    assert text == render_json(*failing())
    canonical = json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert text == canonical


def test_everything_is_in_the_report() -> None:
    comparison, gate = failing()
    data = report_data(comparison, gate)
    assert (data["format"], data["schema_version"], data["verdict"]) == (
        "ci-gate-report",
        1,
        "fail",
    )
    body = data["comparison"]
    keys = [
        m["key"]
        for group in ("quality", "slices", "layers", "latency", "cost")
        for m in body[group]
    ]
    expected = [m.key for m in (*comparison.quality, *comparison.slices, *comparison.layers)]
    expected += [m.key for m in (*comparison.latency, *comparison.cost)]
    assert keys == expected
    assert body["errors"]["key"] == "errors.rate"
    assert len(data["gate"]["checks"]) == len(gate.checks)
    assert [c["case_id"] for c in body["cases"]] == [c.case_id for c in comparison.cases]
    assert body["comparability"]["added"] == ["refund-new-01"]
    assert data["summary"] == {
        "regressed": 12, "fixed": 3, "still_failing": 1, "flaky": 0, "errored": 1,
        "added": 1, "removed": 0, "changed": 1, "compared": 199,
    }  # fmt: skip
    # Per-case hashes are left out (they would dominate the file); the rest of the print stays.
    assert "cases" not in body["base"]["fingerprint"]
    assert body["head"]["fingerprint"]["prompts"] == {"support": "sha256:" + "b" * 64}
    assert body["settings"] == {"seed": 20240501, "resamples": 2000, "confidence": 0.95}


def test_non_finite_numbers_become_null_and_odd_values_strings() -> None:
    comparison, gate = failing()
    nan = metric("quality.score", "score", "mean score", (float("nan"), float("inf")))
    odd_vars: dict[object, object] = {"when": object, 1: {2, 1}}
    odd_case = replace(comparison.cases[0], vars=odd_vars, expected=b"x")  # type: ignore[arg-type]
    comparison = replace(comparison, quality=(nan,), cases=(odd_case,))
    data: dict[str, Any] = json.loads(render_json(comparison, gate))
    assert data["comparison"]["quality"][0]["base"] is None
    assert data["comparison"]["quality"][0]["head"] is None
    assert data["comparison"]["cases"][0]["vars"] == {"when": "<class 'object'>", "1": [1, 2]}
    assert data["comparison"]["cases"][0]["expected"] == "b'x'"
    assert _validator().is_valid(data)


def test_hostile_text_is_kept_as_data() -> None:
    comparison, gate = hostile()
    text = render_json(comparison, gate)
    data = json.loads(text)
    assert data["gate"]["headline"] == gate.headline  # data, not markup: nothing escaped
    first = data["comparison"]["cases"][0]
    original = comparison.cases[0].head_output
    assert original is not None
    assert first["head_output"].endswith(original[-500:])  # not cut
    assert "\ufffd" in json.dumps(data["comparison"]["cases"], ensure_ascii=False)
    assert "\ud800" not in text
