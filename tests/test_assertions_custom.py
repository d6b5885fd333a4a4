"""The python and command assertions: the team's own scorers, in-process or as a program."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ci_gate.assertions import registry
from ci_gate.assertions.base import AssertionResult, Output, ScorerError
from ci_gate.cli import main
from ci_gate.results.store import read_results
from ci_gate.suite.model import JSON, AssertionSpec, Case, Message
from tests.assertion_kit import bare_case, spec

DATA = Path(__file__).parent / "data"
SCORERS = DATA / "scorers"
DEMO = "ci_gate_demo_scorers"
ANSWER = "We refund within 30 days."


@dataclass
class KitScoring:
    """The ``Scoring`` a runner would give one record; custom scorers call no models."""

    case: Case
    base_dir: Path = SCORERS
    sample: int = 2
    request_text: str = "What is the refund policy?"
    env: Mapping[str, str] = field(default_factory=lambda: {"PATH": os.environ["PATH"]})

    def judge_of(self, spec: AssertionSpec) -> str:
        raise AssertionError("custom scorers have no judge")

    async def complete(
        self, target_id: str, messages: Sequence[Message], *, identity: Mapping[str, Any]
    ) -> str:
        raise AssertionError("custom scorers call no models")

    async def embed(self, target_id: str, texts: Sequence[str]) -> list[list[float]]:
        raise AssertionError("custom scorers call no models")

    def advisory(self, spec: AssertionSpec) -> str | None:
        return None


@pytest.fixture(autouse=True)
def _own_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))


def case_with(**vars_: JSON) -> Case:
    return Case(
        id="refund-01",
        vars=vars_,
        tags=(),
        expected="30 days",
        assertions=(),
        prompt=None,
        group=None,
        source="suite.yaml",
    )


def score(
    a: AssertionSpec,
    text: str = ANSWER,
    *,
    extra: Mapping[str, Any] | None = None,
    case: Case | None = None,
    **scoring: Any,
) -> AssertionResult:
    kind = registry.get(a.type)
    assert kind.afn is not None
    case = case or bare_case()
    return asyncio.run(kind.afn(a, Output(text, extra or {}), case, KitScoring(case, **scoring)))


def error_of(a: AssertionSpec, text: str = ANSWER, **scoring: Any) -> ScorerError:
    with pytest.raises(ScorerError) as info:
        score(a, text, **scoring)
    return info.value


def answering(answer: JSON, **options: JSON) -> AssertionSpec:
    return spec("python", f"{DEMO}:answer_from_config", config={"answer": answer}, **options)


# -- python: return shapes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "passed", "value", "message"),
    [
        (True, True, 1.0, "scorer returned true"),
        (False, False, 0.0, "scorer returned false"),
        (0.75, True, 0.75, "score 0.75 (pass at 0.5)"),
        (0.25, False, 0.25, "score 0.25 (pass at 0.5)"),
        (1, True, 1.0, "score 1 (pass at 0.5)"),
        ({"pass": True}, True, 1.0, "passed"),
        ({"pass": False, "message": "too rude"}, False, 0.0, "failed: 'too rude'"),
        ({"score": 0.6, "message": "ok"}, True, 0.6, "score 0.6 (pass at 0.5): 'ok'"),
        ({"pass": False, "score": 0.9}, False, 0.9, "failed, score 0.9"),
        ({"pass": None, "score": 0.1}, False, 0.1, "score 0.1 (pass at 0.5)"),
    ],
)
def test_python_return_shapes(answer: JSON, passed: bool, value: float, message: str) -> None:
    got = score(answering(answer))
    assert (got.passed, got.score, got.message) == (passed, value, message)


def test_threshold_decides_a_bare_score() -> None:
    assert score(answering(0.75, threshold=0.8)).passed is False
    assert score(answering(0.8, threshold=0.8)).passed is True
    assert score(answering(0.0, threshold=0)).passed is True


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ("yes", "returned the string 'yes', not true/false, a number"),
        (None, "returned null, not"),
        ([1], "returned a list '[1]'"),
        (1.5, "returned 1.5; a score must be a number in [0, 1]"),
        (-0.1, "returned -0.1; a score must be"),
        (float("nan"), "returned nan; a score must be"),
        ({"passed": True}, "an object without pass or score (it has 'passed')"),
        ({"pass": "yes"}, "returned pass: the string 'yes'; pass must be true or false"),
        ({"score": 2}, "returned score: 2; a score must be a number in [0, 1]"),
        ({"score": True}, "returned score: true; a score must be"),
        ({"pass": True, "message": 3}, "returned message: 3; message must be a string"),
    ],
)
def test_bad_returns_are_scorer_errors(answer: JSON, said: str) -> None:
    err = error_of(answering(answer))
    assert err.kind == "scorer"
    assert err.message.startswith(f"python scorer 'python' ({DEMO}:answer_from_config) ")
    assert said in err.message
    assert "\n" not in err.message


def test_the_function_sees_the_output_and_its_context_in_a_worker_thread() -> None:
    case = case_with(q="refund?", nested={"a": [1, 2]})
    extra = {"tool_calls": [{"name": "lookup", "arguments": {"id": 7}}], "context": ["policy"]}
    score(answering(True), extra=extra, case=case, sample=3)
    demo = importlib.import_module(DEMO)
    output, context, thread = demo.SEEN[-1]
    assert output == ANSWER
    assert context == {
        "case_id": "refund-01",
        "sample": 3,
        "vars": {"q": "refund?", "nested": {"a": [1, 2]}, "mutated": True},
        "expected": "30 days",
        "extra": {
            "tool_calls": [{"name": "lookup", "arguments": {"id": 7}}],
            "context": ["policy"],
        },
        "config": {"answer": True},
        "request": "What is the refund policy?",
    }
    assert thread != threading.main_thread().name
    assert "mutated" not in case.vars  # the scorer got a copy


def test_async_functions_and_returned_awaitables() -> None:
    for name in ("async_score", "returns_awaitable"):
        got = score(spec("python", f"{DEMO}:{name}"), "hi\nthere")
        assert (got.passed, got.score) == (True, 0.9)
        assert got.message == "score 0.9 (pass at 0.5): 'async saw hi there'"


def test_a_long_scorer_message_is_quoted_and_clipped() -> None:
    got = score(answering({"pass": True, "message": "x" * 1000}))
    assert got.message.startswith("passed: 'xxx")
    assert len(got.message) < 230
    coloured = score(answering({"pass": False, "message": "red\nline\tfor s3cr3t-value"}))
    assert coloured.message == "failed: 'red line for s3cr3t-value'"
    secret = score(
        answering({"pass": False, "message": "token s3cr3t-value"}),
        env={"PATH": "", "SERVICE_KEY": "s3cr3t-value"},
    )
    assert secret.message == "failed: 'token ***'"


def test_an_exception_is_a_scorer_error_without_secrets() -> None:
    a = spec("python", f"{DEMO}:raises", config="sk-abcdefgh12345678 hunter2-secret")
    err = error_of(a, "bad\nanswer", env={"PATH": "/bin", "MY_TOKEN": "hunter2-secret"})
    assert err.kind == "scorer"
    assert err.message.startswith(f"python scorer 'python' ({DEMO}:raises) raised ValueError: ")
    assert "cannot score 'bad\\\\nanswer'" in err.message
    assert "sk-abcdefgh12345678" not in err.message
    assert "hunter2-secret" not in err.message
    assert "***" in err.message
    assert "\n" not in err.message
    exits = error_of(spec("python", f"{DEMO}:exits"))
    assert "raised SystemExit: '2'" in exits.message


def test_path_is_relative_to_the_suite_folder() -> None:
    got = score(spec("python", f"{DEMO}:mentions_refund", path="scorers"), base_dir=DATA)
    assert got.passed
    assert not score(spec("python", f"{DEMO}:mentions_refund"), "no", base_dir=SCORERS).passed


# -- python: finding the function ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "options", "said"),
    [
        (
            "no_such_scorer_module:fn",
            {},
            "cannot import no_such_scorer_module (ModuleNotFoundError",
        ),
        ("ci_gate_broken_scorers:fn", {}, "the module failed while being imported"),
        (f"{DEMO}:nope", {}, f"{DEMO} has no function nope"),
        (f"{DEMO}:NOT_CALLABLE", {}, f"{DEMO}:NOT_CALLABLE is a int, not a function"),
        (f"{DEMO}:raises", {"path": "missing-dir"}, "path 'missing-dir' is not a folder"),
    ],
)
def test_import_problems_are_config_errors(value: str, options: JSON, said: str) -> None:
    for _ in range(2):  # the second time from the cache, with the same message
        err = error_of(spec("python", value, **options))
        assert err.kind == "config"
        assert err.message.startswith(f"python scorer 'python' ({value}): ")
        assert said in err.message
    missing = error_of(spec("python", "no_such_scorer_module:fn"))
    assert "set path: to the folder that contains it" in missing.message


def test_load_time_checks() -> None:
    assert registry.check_spec(spec("python", f"{DEMO}:raises")) == []
    assert registry.check_spec(spec("python", "just_a_module")) == [
        "value must look like module:function, e.g. scorers:polite, got 'just_a_module'"
    ]
    assert registry.check_spec(spec("python", "a:b", threshold=1.5)) == [
        "threshold must be <= 1 (scores are in [0, 1]), got 1.5"
    ]
    assert registry.check_spec(spec("python", "a:b", confg=1))[0].startswith("unknown key 'confg'")
    assert registry.check_spec(spec("python")) == ["python needs a value (a string)"]
    assert registry.check_spec(spec("command", "python3 'unclosed")) == [
        "value is not a valid command line (No closing quotation); check its quotes or write a list"
    ]
    assert registry.check_spec(spec("command", "  ")) == [
        "value must name a program, e.g. python3 scorers/polite.py"
    ]
    assert registry.check_spec(spec("command", ["x"], timeout_s=0)) == ["timeout_s must be > 0"]
    assert registry.get("python").layer == registry.get("command").layer == "instructions"


def test_a_scorer_error_makes_the_record_an_error_through_the_registry() -> None:
    case = bare_case()
    specs = [spec("contains", "refund"), answering("maybe")]
    with pytest.raises(ScorerError, match="returned the string 'maybe'"):
        asyncio.run(registry.score_async(specs, Output(ANSWER), case, KitScoring(case)))
    outcomes, passed, value = asyncio.run(
        registry.score_async([specs[0], answering(0.5)], Output(ANSWER), case, KitScoring(case))
    )
    assert passed and value == 0.75
    assert [o.layer for o in outcomes] == ["knowledge", "instructions"]


# -- command ------------------------------------------------------------------------------------


def command(mode: str, *, answer: JSON = None, **options: JSON) -> AssertionSpec:
    return spec(
        "command",
        [sys.executable, "command_scorer.py"],
        config={"mode": mode, "answer": answer},
        **options,
    )


def test_command_reads_json_and_answers_on_stdout() -> None:
    got = score(command("keys"), case=case_with(q="refund?"))
    assert got.passed
    assert got.message == ("passed: 'case_id,config,expected,extra,output,request,sample,vars'")
    assert not score(command("keys"), "other", case=case_with(q="refund?")).passed


@pytest.mark.parametrize(
    ("answer", "passed", "value"), [(True, True, 1.0), (0.3, False, 0.3), ({"score": 1}, True, 1.0)]
)
def test_command_return_shapes(answer: JSON, passed: bool, value: float) -> None:
    got = score(command("answer", answer=answer))
    assert (got.passed, got.score) == (passed, value)


def test_command_as_a_string_with_cwd() -> None:
    line = f"{sys.executable} command_scorer.py"
    got = score(
        spec("command", line, cwd="scorers", config={"mode": "answer", "answer": 1}), base_dir=DATA
    )
    assert got.passed


def test_command_failures_are_scorer_errors() -> None:
    failed = error_of(command("fail"))
    assert failed.kind == "scorer"
    assert failed.message.startswith(f"command scorer 'command' ({sys.executable}) exited 3: ")
    assert "'Traceback: boom xxx" in failed.message and "first line" not in failed.message
    assert len(failed.message) < 300
    garbage = error_of(command("garbage"))
    assert "printed invalid JSON on stdout: 'Score: great'" in garbage.message
    assert "printed nothing on stdout" in error_of(command("silent")).message
    bad = error_of(command("answer", answer="fine"))
    assert "returned the string 'fine', not true/false" in bad.message


def test_command_timeout_kills_it() -> None:
    started = time.perf_counter()
    err = error_of(command("sleep", timeout_s=0.3))
    assert time.perf_counter() - started < 5  # it sleeps 30 s unless killed
    assert err.kind == "scorer"
    assert "did not finish within 0.3 s and was killed (raise timeout_s)" in err.message


def test_command_that_cannot_be_found_is_a_config_error() -> None:
    err = error_of(spec("command", "no-such-scorer-program --flag"))
    assert err.kind == "config"
    assert "program 'no-such-scorer-program' not found" in err.message
    cwd = error_of(spec("command", [sys.executable], cwd="nowhere"))
    assert (cwd.kind, "cwd 'nowhere' is not a folder" in cwd.message) == ("config", True)
    relative = error_of(spec("command", "./missing.sh"))
    assert "program './missing.sh' not found" in relative.message


# -- in a run -----------------------------------------------------------------------------------

E2E_SUITE = """\
ci_gate: 1
name: custom
targets:
  - id: bot
    provider: fake
    outputs:
      ok: {output: "Refunds take 30 days.", tool_calls: [{name: refund, arguments: {days: 30}}]}
      crash: boom
cases:
  - id: ok
    vars: {q: refund?}
    assert:
      - {type: python, value: "ci_gate_e2e_scorer:called_refund", path: scorers}
      - {type: command, value: "{python} scorers/echo.py", config: {verdict: 0.9}}
  - id: crash
    vars: {q: crash?}
    assert: [{type: python, value: "ci_gate_e2e_scorer:called_refund", path: scorers}]
"""


def test_a_run_scores_with_both_and_a_crash_is_an_error(tmp_path: Path) -> None:
    scorers = tmp_path / "scorers"
    scorers.mkdir()
    (scorers / "ci_gate_e2e_scorer.py").write_text(
        "def called_refund(output, context):\n"
        "    if output == 'boom':\n"
        "        raise RuntimeError('cannot read ' + output)\n"
        "    calls = context['extra']['tool_calls']\n"
        "    return {'pass': calls[0]['name'] == 'refund', 'message': context['case_id']}\n",
        encoding="utf-8",
    )
    (scorers / "echo.py").write_text(
        "import json, sys\nprint(json.dumps(json.load(sys.stdin)['config']['verdict']))\n",
        encoding="utf-8",
    )
    suite = tmp_path / "suite.yaml"
    suite.write_text(E2E_SUITE.replace("{python}", sys.executable), encoding="utf-8")
    out = tmp_path / "results.json"
    main(["run", str(suite), "-o", str(out), "-q", "--no-cache"])
    records = {r.case_id: r for r in read_results(out).records}
    ok = records["ok"]
    assert ok.passed and ok.error is None
    assert [(a.type, a.score, a.message) for a in ok.assertions] == [
        ("python", 1.0, "passed: 'ok'"),
        ("command", 0.9, "score 0.9 (pass at 0.5)"),
    ]
    crash = records["crash"].error
    assert crash is not None and crash.kind == "scorer"
    assert "raised RuntimeError: 'cannot read boom'" in crash.message
