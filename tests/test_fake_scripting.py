"""Scripting the fake provider: tool calls, retrieved context and answers that vary by sample."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from ci_gate.assertions import registry
from ci_gate.assertions.base import Output
from ci_gate.cli import main
from ci_gate.errors import ProviderConfigError, SuiteError
from ci_gate.providers.base import ProviderRequest, ProviderResponse
from ci_gate.providers.fake import FakeProvider
from ci_gate.results.store import read_results
from ci_gate.suite.load import load_suite
from ci_gate.suite.model import Message, Target
from tests.assertion_kit import bare_case, spec

LOOKUP = {"id": "call_1", "name": "lookup_order", "arguments": {"order_id": 7}}
ORDER_SCHEMA = {"type": "object", "required": ["order_id"]}
SCRIPTED = {
    "output": "Your order ships today.",
    "tool_calls": [LOOKUP, {"name": "notify", "arguments": '{"to": "me"'}],
    "context": ["shipping-policy", {"id": 12, "text": "Orders ship in 1 day."}],
}


def fake(**options: Any) -> FakeProvider:
    return FakeProvider(Target(id="bot", provider="fake", model=None, params={}, options=options))


def call(
    provider: FakeProvider, case_id: str = "c1", sample: int = 0, prompt: str = "hello"
) -> ProviderResponse:
    request = ProviderRequest(case_id, sample, {}, (Message("user", prompt),), {})
    return asyncio.run(provider.call(request))


def test_an_output_spec_gives_text_and_extra_as_a_python_target_would() -> None:
    got = call(fake(outputs={"c1": SCRIPTED}))
    assert got.output == "Your order ships today."
    assert got.extra == {"tool_calls": SCRIPTED["tool_calls"], "context": SCRIPTED["context"]}
    assert json.loads(json.dumps(got.extra)) == got.extra  # the cache stores it as JSON
    # The calls count as output tokens, as a model is billed for writing them.
    assert got.output_tokens is not None and got.output_tokens > len(got.output) // 4 + 5


def test_the_assertions_read_the_scripted_parts() -> None:
    got = call(fake(outputs={"c1": SCRIPTED}))
    specs = [
        spec("tool-called", "lookup_order"),
        spec("tool-args", tool="lookup_order", schema=ORDER_SCHEMA),
        spec("tool-order", ["lookup_order", "notify"], exact=True),
        spec("context-recall", ["shipping-policy", "12"]),
    ]
    outcomes, passed, _ = registry.score(specs, Output(got.output, got.extra), bare_case())
    assert passed, [o.message for o in outcomes]
    broken = registry.score(
        [spec("tool-args", tool="notify", schema={"type": "object"})],
        Output(got.output, got.extra),
        bare_case(),
    )
    # The scripted invalid JSON arguments reach the assertion as written.
    assert "arguments are not JSON" in broken[0][0].message


def test_a_list_is_picked_from_by_sample() -> None:
    provider = fake(
        outputs={"c1": ["first", {"output": "second", "tool_calls": [LOOKUP]}, 3]},
        rules=[{"match": "refund", "output": ["yes", "no"]}],
        default_output=["a", "b"],
    )
    texts = [call(provider, sample=s).output for s in range(5)]
    assert texts == ["first", "second", "3", "first", "second"]
    assert call(provider, sample=1).extra == {"tool_calls": [LOOKUP]}
    assert call(provider, sample=0).extra == {}
    ruled = [call(provider, "c2", s, "a refund?").output for s in range(3)]
    assert ruled == ["yes", "no", "yes"]
    assert [call(provider, "c3", s).output for s in range(2)] == ["a", "b"]


def test_other_json_values_are_written_out_as_json_text() -> None:
    provider = fake(outputs={"n": 42, "obj": {"answer": "x", "n": 1}, "t": True})
    assert call(provider, "n").output == "42"
    assert call(provider, "obj").output == '{"answer": "x", "n": 1}'
    assert call(provider, "obj").extra == {}
    assert call(provider, "t").output == "true"
    assert call(fake(), prompt="echo me").output == "echo me"
    assert call(fake(default_output={"output": "", "context": ["d"]})).extra == {"context": ["d"]}


def test_each_response_gets_its_own_extra() -> None:
    provider = fake(outputs={"c1": SCRIPTED})
    first = call(provider)
    first.extra["tool_calls"][0]["name"] = "changed"
    assert call(provider).extra["tool_calls"][0]["name"] == "lookup_order"


def test_cache_identity_covers_the_script() -> None:
    one = fake(outputs={"c1": ["a", "b"]}).cache_identity()
    other = fake(outputs={"c1": ["a", "c"]}).cache_identity()
    assert one != other
    json.dumps(one)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"outputs": {"c1": []}}, "outputs.c1: an empty list of outputs"),
        ({"outputs": {"c1": ["a", ["b"]]}}, "outputs.c1[1]: a list inside a list of outputs"),
        ({"outputs": {"c1": None}}, "outputs.c1: no output given"),
        ({"outputs": {"c1": {"tool_calls": []}}}, "outputs.c1: tool_calls without output"),
        ({"outputs": {"c1": {"output": 1}}}, "outputs.c1.output: output must be a string"),
        (
            {"outputs": {"c1": {"output": "x", "tool_call": []}}},
            "outputs.c1.tool_call: unknown key 'tool_call' (keys: output, tool_calls, context)",
        ),
        (
            {"outputs": {"c1": ["a", {"output": "x", "tool_calls": [{"arguments": {}}]}]}},
            "outputs.c1[1].tool_calls[0].name: a tool call needs a name",
        ),
        (
            {"outputs": {"c1": {"output": "x", "tool_calls": [{"name": "f", "arguments": 3}]}}},
            "tool_calls[0].arguments: arguments must be a mapping or a JSON string, got a number",
        ),
        (
            {"outputs": {"c1": {"output": "x", "tool_calls": {"name": "f"}}}},
            "outputs.c1.tool_calls: tool_calls must be a list, got a mapping",
        ),
        (
            {"outputs": {"c1": {"output": "x", "context": [{"score": 1}]}}},
            "outputs.c1.context[0]: a document needs an id or a text",
        ),
        (
            {"outputs": {"c1": {"output": "x", "context": [{"id": True}]}}},
            "outputs.c1.context[0].id: id must be a string or an integer",
        ),
        (
            {"rules": [{"match": "x", "output": {"output": "y", "context": "doc"}}]},
            "rules[0].output.context: context must be a list, got a string",
        ),
        ({"default_output": [None]}, "default_output[0]: no output given"),
    ],
)
def test_bad_scripts_are_config_errors_naming_the_key(options: Any, message: str) -> None:
    with pytest.raises(ProviderConfigError) as info:
        fake(**options)
    assert str(info.value).startswith("target bot: ")
    assert message in str(info.value)


# -- in a suite ---------------------------------------------------------------------------------

SUITE = """\
ci_gate: 1
name: scripted
targets:
  - id: bot
    provider: fake
    outputs:
      order-1:
        - output: Your order ships today.
          tool_calls: [{name: lookup_order, arguments: {order_id: 7}}]
          context: [shipping-policy]
        - output: I do not know.
  - id: judge
    provider: fake
    outputs:
      order-1: [{reason: clear, score: 5}, {reason: vague, score: 1}]
judge: {target: judge}
default_target: bot
repeats: 4
cases:
  - id: order-1
    vars: {question: Where is my order?}
    assert:
      - {type: tool-called, value: lookup_order}
      - {type: context-recall, value: [shipping-policy]}
      - {type: llm-rubric, value: Answers the question, blocking: false}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_scripted_suite_runs_and_repeats_differ(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    code = main(["run", str(write(tmp_path, SUITE)), "-o", str(out), "-q", "--no-cache"])
    results = read_results(out)
    assert results.run.totals.errored == 0
    by_sample = sorted(results.records, key=lambda r: r.sample)
    assert [r.passed for r in by_sample] == [True, False, True, False]
    assert code == 0
    rubric = [next(a for a in r.assertions if a.type == "llm-rubric") for r in by_sample]
    assert [a.passed for a in rubric] == [True, False, True, False]  # the judge disagrees


@pytest.mark.parametrize(
    ("script", "where", "said"),
    [
        ("{tool_calls: [{name: f}]}", "targets[0].outputs.order-1", "missing required key"),
        ("{output: x, tool_calls: [{nme: f}]}", "tool_calls[0].nme", "unknown key 'nme'"),
        ("[]", "targets[0].outputs.order-1", "needs at least 1 item"),
        ("[a, null]", "targets[0].outputs.order-1[1]", "invalid value null"),
        ("{output: x, context: [{score: 1}]}", "context[0]", "a document needs an id or a text"),
    ],
)
def test_the_schema_reports_bad_scripts_at_their_line(
    tmp_path: Path, script: str, where: str, said: str
) -> None:
    text = SUITE.replace(
        SUITE[SUITE.index("      order-1:\n        - output") : SUITE.index("  - id: judge")],
        f"      order-1: {script}\n",
    )
    with pytest.raises(SuiteError) as info:
        load_suite(write(tmp_path, text))
    shown = str(info.value)
    assert "suite.yaml:7: targets[0].outputs.order-1" in shown
    assert where in shown
    assert said in shown


def test_a_valid_script_loads_with_its_options_as_written(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path, SUITE))
    bot = next(t for t in suite.targets if t.id == "bot")
    assert bot.options["outputs"]["order-1"][1] == {"output": "I do not know."}
