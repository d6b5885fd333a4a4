from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from ci_gate.errors import ResultsFileError
from ci_gate.results.codec import results_to_dict
from ci_gate.results.encode import results_json
from ci_gate.results.store import read_results, write_results
from tests.factories import record, results

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "ci_gate" / "results" / "schema.json").read_text("utf-8")
)


def sample_results():
    return results(
        [
            record("a", 0, passed=True),
            record("a", 1, passed=False, cached=True),
            record("b", 0, error=("rate_limited", "429 Too Many Requests")),
            record("c", 0, output="ünïcode ✓ \u202e", extra={"context": ["doc-1"]}),
        ],
        tags={"a": ("x",), "b": ("x", "y")},
        groups={"a": "g1"},
    )


def test_round_trip_is_exact(tmp_path: Path) -> None:
    res = sample_results()
    path = tmp_path / "r.json"
    write_results(res, path)
    assert read_results(path) == res


@pytest.mark.parametrize("ascii_only", [False, True])
def test_the_file_is_written_record_by_record_as_one_compact_json_document(
    tmp_path: Path, ascii_only: bool
) -> None:
    res = sample_results()
    whole = json.dumps(results_to_dict(res), ensure_ascii=ascii_only, separators=(",", ":"))
    chunks = list(results_json(res, ascii_only=ascii_only))
    assert "".join(chunks) == whole + "\n"
    assert len(chunks) > len(res.records)  # streamed, not built whole
    empty = results([])
    assert json.loads("".join(results_json(empty))) == results_to_dict(empty)


def test_written_file_matches_the_shipped_schema(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_results(sample_results(), path)
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(path.read_text("utf-8")))


def test_error_record_is_not_a_failure() -> None:
    d = results_to_dict(sample_results())
    errored = [r for r in d["records"] if r["error"]]
    assert errored and all(r["pass"] is None and r["assertions"] == [] for r in errored)
    assert d["run"]["totals"]["errored"] == 1
    assert d["run"]["totals"]["failed"] == 1


def _write(tmp_path: Path, text: str | bytes) -> Path:
    p = tmp_path / "bad.json"
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(format="other"), "format: expected 'ci-gate-results'"),
        (lambda d: d.update(schema_version=2), "schema_version: this file has version 2"),
        (lambda d: d["records"][1].update(latency_ms="fast"), "records[1].latency_ms: expected"),
        (lambda d: d["records"][0].pop("case_id"), "records[0].case_id: missing"),
        (lambda d: d["run"]["totals"].update(cases=None), "run.totals.cases: expected an integer"),
        (
            lambda d: d["records"][2].update({"pass": False}),
            "records[2].pass: a record with an error",
        ),
        (lambda d: d["cases"]["a"].update(tags=[1]), "cases.a.tags: expected a list of strings"),
        (lambda d: d.update(records={}), "records: expected a list"),
    ],
)
def test_bad_content_is_named_by_key_path(tmp_path: Path, mutate, expected: str) -> None:
    d = results_to_dict(sample_results())
    mutate(d)
    p = _write(tmp_path, json.dumps(d))
    with pytest.raises(ResultsFileError) as info:
        read_results(p)
    msg = str(info.value)
    assert expected in msg
    assert str(p) in msg and "\n" not in msg


def test_truncated_file_says_it_was_cut_off(tmp_path: Path) -> None:
    good = json.dumps(results_to_dict(sample_results()))
    p = _write(tmp_path, good[: len(good) // 2])
    with pytest.raises(ResultsFileError, match="cut off"):
        read_results(p)


def test_not_utf8_and_missing_and_not_an_object(tmp_path: Path) -> None:
    with pytest.raises(ResultsFileError, match="not UTF-8 text"):
        read_results(_write(tmp_path, b'{"format": "\xff"}'))
    with pytest.raises(ResultsFileError, match="no such results file"):
        read_results(tmp_path / "missing.json")
    with pytest.raises(ResultsFileError, match="expected an object, got a list"):
        read_results(_write(tmp_path, "[1, 2]"))
    with pytest.raises(ResultsFileError, match=r"nested too deeply|expected an object"):
        read_results(_write(tmp_path, "[" * 100000 + "]" * 100000))
