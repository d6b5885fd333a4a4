"""Retrieval assertions: context-recall and context-precision."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_gate.assertions import registry
from ci_gate.assertions.base import AssertionResult, Output
from ci_gate.assertions.retrieval import retrieved
from ci_gate.cli import main
from ci_gate.providers.python_fn import app_response
from ci_gate.suite.model import JSON, AssertionSpec
from tests.assertion_kit import bare_case, spec
from tests.hostile_corpus import HOSTILE, one_megabyte

CASE = bare_case()


def ctx(*items: JSON) -> Output:
    return Output("answer", {"context": list(items)})


def run(s: AssertionSpec, output: Output) -> AssertionResult:
    assert registry.check_spec(s) == [], registry.check_spec(s)
    return registry.get(s.type).fn(s, output, CASE)


def test_recall_defaults_to_every_expected_document() -> None:
    out = ctx({"id": "refunds", "text": "..."}, {"id": "shipping", "score": 0.4})
    assert run(spec("context-recall", ["refunds", "shipping"]), out).passed
    r = run(spec("context-recall", ["refunds", "digital"]), out)
    assert not r.passed and r.score == 0.5
    assert r.message == (
        "recall 0.50 (1 of 2 expected documents retrieved), below min 1: missing 'digital'"
        " (retrieved 'refunds', 'shipping')"
    )
    relaxed = run(spec("context-recall", ["refunds", "digital"], min=0.5), out)
    assert relaxed.passed and relaxed.score == 0.5


def test_precision_counts_each_retrieved_id_once() -> None:
    out = ctx("refunds", "refunds", "shipping", "baggage", 7)
    r = run(spec("context-precision", ["refunds"], min=0.5), out)
    assert not r.passed and r.score == 0.25
    assert r.message == (
        "precision 0.25 (1 of 4 retrieved documents expected), below min 0.5:"
        " not expected 'shipping', 'baggage', '7'"
    )
    ok = run(spec("context-precision", ["refunds", "shipping", "7"], min=0.5), out)
    assert ok.passed and ok.score == 0.75


def test_strings_and_objects_may_be_mixed_and_integer_ids_match_their_text() -> None:
    assert retrieved(ctx("a", {"id": 2}, {"id": "a"})).ids == ("a", "2")
    assert run(spec("context-recall", ["2"]), ctx({"id": 2, "text": "x"})).passed


def test_missing_context_tells_the_team_how_to_return_it() -> None:
    for s in (spec("context-recall", "a"), spec("context-precision", "a", min=0.1)):
        r = run(s, Output("answer"))
        assert not r.passed and r.score == 0.0
        assert r.message.startswith("the target returned no retrieved context: return the")
        assert "context_path" in r.message and "docs/suite.md" in r.message


def test_empty_or_malformed_context_fails_clearly() -> None:
    empty = run(spec("context-precision", "a", min=0.0), ctx())
    assert (
        not empty.passed and empty.message == "the target retrieved no documents (context is empty)"
    )
    assert not run(spec("context-recall", "a", min=0.0), ctx()).passed
    odd = run(spec("context-recall", "a"), Output("", {"context": "a"}))
    assert odd.message.startswith("context is str, expected a list")
    no_id = run(spec("context-recall", "a"), ctx("a", {"text": "no id"}))
    assert no_id.message.startswith("context[1] is an object without an id;")
    flag = run(spec("context-recall", "a"), ctx(True))
    assert flag.message.startswith("context[0] is bool;")


def test_context_from_a_python_target_reaches_the_assertion() -> None:
    returned = {"output": "ok", "context": [{"id": "refunds", "text": "Refunds take 5 days."}]}
    resp = app_response(returned, latency_ms=1.0, model=None, what="app:answer")
    r = run(spec("context-recall", "refunds"), Output(resp.output, resp.extra))
    assert r.passed and r.message == "recall 1.00 (1 of 1 expected documents retrieved)"


@pytest.mark.parametrize(
    ("s", "problem"),
    [
        (spec("context-recall"), "context-recall needs a value"),
        (spec("context-recall", ["a"], min=1.5), "min must be between 0 and 1, got 1.5"),
        (spec("context-recall", ["a"], min=-0.1), "min must be >= 0"),
        (spec("context-recall", ["a"], min="high"), "min must be a number"),
        (spec("context-precision", ["a"]), "context-precision needs min"),
        (spec("context-precision", ["a", "a"], min=0.5), "value lists 'a' more than once"),
        (spec("context-recall", ["a", ""]), "must not contain an empty document id"),
        (spec("context-recall", ["a"], mn=0.5), "unknown key 'mn' for context-recall"),
    ],
)
def test_bad_configurations_are_found_at_load_time(s: AssertionSpec, problem: str) -> None:
    problems = registry.check_spec(s)
    assert any(problem in p for p in problems), problems


def test_layers_are_knowledge() -> None:
    assert registry.get("context-recall").layer == "knowledge"
    assert registry.get("context-precision").layer == "knowledge"


def test_hostile_ids_never_break_a_message() -> None:
    big = one_megabyte()
    outputs = [ctx(h, {"id": h}) for h in HOSTILE] + [ctx(big, {"id": big}), ctx(*HOSTILE)]
    for out in outputs:
        for s in (spec("context-recall", ["x", "y"]), spec("context-precision", "x", min=0.9)):
            r = run(s, out)
            assert not r.passed
            assert r.message.isprintable() and len(r.message) <= 400


SUITE = """\
ci_gate: 1
name: r
version: "1"
targets: [{id: f, provider: fake}]
cases:
  - id: a
    vars: {q: x}
    assert:
      - {type: context-recall, value: [d1]}
      - {type: context-precision, value: [d1]%s}
      - {type: context-recall, value: [d1, d1]}
"""


def test_validate_reports_bad_retrieval_configs_with_line_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE % "", "utf-8")
    assert main(["validate", str(suite)]) == 2
    err = capsys.readouterr().err
    assert "suite.yaml:10: cases[0].assert[1]: missing required key 'min'" in err
    suite.write_text(SUITE % ", min: 0.5", "utf-8")
    assert main(["validate", str(suite)]) == 2
    err = capsys.readouterr().err
    assert "suite.yaml:11: cases[0].assert[2]: value lists 'd1' more than once" in err
    assert "suite.yaml:10" not in err
