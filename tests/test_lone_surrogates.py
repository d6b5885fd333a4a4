"""A lone surrogate (a "\\ud800" escape in a model's JSON, a YAML escape, a Python string) can hold
no place in a UTF-8 file: runs replace it where the target's answer enters, and the files are
still written when one comes from the suite itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_gate.baseline.store import decode_results, encode_results
from ci_gate.cli import main
from ci_gate.results.model import AssertionOutcome
from ci_gate.results.store import read_results, write_results
from ci_gate.run.journal import Journal
from ci_gate.wellformed import wellformed, wellformed_json
from tests.factories import record, results

APP = """
def answer(vars):
    return {"output": "refund \\ud800 in 30 days", "context": [{"id": "d\\udc00", "text": "x"}]}
"""

SUITE = """
ci_gate: 1
name: surrogates
targets:
  - {id: app, provider: python, function: "app:answer", path: .}
  - {id: judge, provider: fake, default_output: {reason: fine, score: 5}}
judge: {target: judge}
cases:
  - id: a
    vars: {q: refunds}
    assert:
      - {type: llm-rubric, value: Says when the refund comes}
      - {type: similar, value: refund in 30 days, threshold: 0.5}
      - {type: contains, value: refund}
"""


def test_wellformed_replaces_lone_surrogates_and_joins_pairs() -> None:
    assert wellformed("a\ud800b") == "a\ufffdb"
    assert wellformed("a\ud800b", replacement="") == "ab"
    assert wellformed("\ud83d\ude00") == "\U0001f600"
    assert wellformed("plain") == "plain"
    assert wellformed_json({"k\udc00": ["x\ud800", 1, None]}) == {"k\ufffd": ["x\ufffd", 1, None]}


def test_a_run_whose_target_answers_lone_surrogates_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    (tmp_path / "suite.yaml").write_text(SUITE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code = main(["run", "suite.yaml", "-o", "r.json", "--cache-dir", "cache", "-q"])
    assert code == 0
    (tmp_path / "r.json").read_bytes().decode("utf-8")  # valid UTF-8 throughout
    (record_,) = read_results(tmp_path / "r.json").records
    assert record_.output == "refund \ufffd in 30 days"
    assert record_.extra["context"][0]["id"] == "d\ufffd"
    assert record_.passed and record_.judge is not None and record_.judge.calls == 1


def test_a_lone_surrogate_from_a_scorer_message_is_kept_as_an_escape(tmp_path: Path) -> None:
    outcome = AssertionOutcome(
        name="mine",
        type="python",
        passed=True,
        score=1.0,
        weight=1.0,
        blocking=True,
        layer="instructions",
        tag=None,
        message="odd \udc00 message",
    )
    path = tmp_path / "r.json"
    odd = results([record("a", assertions=(outcome,)), record("b", output="ünï")])
    write_results(odd, path)
    raw = path.read_bytes()
    raw.decode("utf-8")
    assert b"\\udc00" in raw
    assert "ünï".encode() in raw  # only the record with the surrogate is escaped
    # A baseline is the same bytes, and a journal line the same record.
    assert encode_results(odd) == raw
    assert decode_results(raw, "baseline").records[0].assertions[0].message == "odd \udc00 message"
    journal = Journal(tmp_path / "r.json.journal", "sha256:x", "app", 2, {0: odd.records[0]})
    journal.append(1, odd.records[0])
    journal.close()
    assert all(line.isascii() for line in (tmp_path / "r.json.journal").read_text().splitlines())
    assert read_results(path).records[0].assertions[0].message == "odd \udc00 message"


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ('{"id": "a", "vars": {"q": "lone \\ud800 escape"}}', "vars.q"),
        ('{"id": "a", "assert": [{"type": "contains", "value": "x\\udfff"}]}', "assert[0].value"),
        ('{"id": "a", "vars": {"k\\udc00": "v"}}', "vars"),
    ],
)
def test_a_case_file_with_a_lone_surrogate_escape_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, where: str
) -> None:
    (tmp_path / "suite.yaml").write_text(
        "ci_gate: 1\nname: s\ntargets: [{id: t, provider: fake}]\ncases: [{file: c.jsonl}]\n",
        encoding="utf-8",
    )
    (tmp_path / "c.jsonl").write_text('{"id": "ok"}\n' + line + "\n", encoding="utf-8")
    assert main(["validate", str(tmp_path / "suite.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert "c.jsonl:2" in err and where in err and "surrogate" in err, err
    assert "Traceback" not in err


def test_a_valid_surrogate_pair_escape_is_a_character(tmp_path: Path) -> None:
    (tmp_path / "suite.yaml").write_text(
        "ci_gate: 1\nname: s\ntargets: [{id: t, provider: fake}]\ncases: [{file: c.jsonl}]\n",
        encoding="utf-8",
    )
    (tmp_path / "c.jsonl").write_text('{"id": "a", "vars": {"q": "\\ud83d\\ude00"}}\n', "utf-8")
    assert main(["validate", str(tmp_path / "suite.yaml")]) == 0
