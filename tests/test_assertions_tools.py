"""Tool-call assertions: tool-called, tool-not-called, tool-args, tool-order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ci_gate.assertions import registry
from ci_gate.assertions.base import AssertionResult, Output
from ci_gate.assertions.tools import tool_calls
from ci_gate.providers.anthropic import AnthropicProvider
from ci_gate.providers.anthropic import parse_response as parse_anthropic
from ci_gate.providers.base import ProviderRequest, ProviderResponse
from ci_gate.providers.http_client import make_client
from ci_gate.providers.openai import OpenAIProvider
from ci_gate.providers.openai import parse_response as parse_openai
from ci_gate.suite.model import JSON, AssertionSpec, Message, Target
from tests.assertion_kit import bare_case, spec
from tests.fakes.model_server import ModelServer, ToolCall
from tests.hostile_corpus import HOSTILE, one_megabyte

DATA = Path(__file__).parents[1].parent / "shared" / "data"
KEYS = {"OPENAI_API_KEY": "sk-test-tools-0123456789", "ANTHROPIC_API_KEY": "sk-ant-test-tools-0123"}

WEATHER_SCHEMA: dict[str, JSON] = {
    "type": "object",
    "required": ["location", "units"],
    "properties": {"location": {"type": "string"}, "units": {"enum": ["c", "f"]}},
    "additionalProperties": False,
}


CASE = bare_case()


def calls(*items: tuple[str, JSON]) -> Output:
    return Output(
        "",
        {
            "tool_calls": [
                {"id": f"c{i}", "name": n, "arguments": a} for i, (n, a) in enumerate(items)
            ]
        },
    )


def run(s: AssertionSpec, output: Output) -> AssertionResult:
    assert registry.check_spec(s) == [], registry.check_spec(s)
    return registry.get(s.type).fn(s, output, CASE)


# --- real provider responses ---------------------------------------------------------------------


def _request(text: str) -> ProviderRequest:
    return ProviderRequest("c1", 0, {}, (Message("user", text),), {})


def _call(server: ModelServer, vendor: str, text: str) -> ProviderResponse:
    async def go() -> ProviderResponse:
        async with make_client(2) as client:
            if vendor == "openai":
                target = Target("t", "openai", "gpt-4o-mini", {}, {"base_url": f"{server.url}/v1"})
                return await OpenAIProvider(target, client, KEYS).call(_request(text))
            target = Target(
                "t", "anthropic", "claude-haiku-4-5", {"max_tokens": 100}, {"base_url": server.url}
            )
            return await AnthropicProvider(target, client, KEYS).call(_request(text))

    return asyncio.run(go())


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
def test_tool_calls_from_the_real_providers_against_the_fake_server(vendor: str) -> None:
    answers: dict[str, str | ToolCall] = {
        "weather": ToolCall("get_weather", {"location": "Paris", "units": "k"}),
    }
    with ModelServer(answers=answers) as server:
        resp = _call(server, vendor, "What's the weather in Paris?")
        plain = _call(server, vendor, "Hello there")
    out = Output(resp.output, resp.extra)
    assert run(spec("tool-called", "get_weather"), out).passed
    assert run(spec("tool-called", "get_weather", times=1), out).passed
    bad = run(spec("tool-args", tool="get_weather", schema=WEATHER_SCHEMA), out)
    assert not bad.passed and bad.score == 0.0
    assert "call 1: $.units: 'k' is not one of ['c', 'f']" in bad.message
    none = run(spec("tool-called", "get_weather"), Output(plain.output, plain.extra))
    assert not none.passed
    assert none.message == "no tool calls were made; it answered 'Hello there'"


def test_openai_response_with_parallel_calls_and_unparseable_arguments() -> None:
    body = json.loads((DATA / "openai" / "example-response.functions.json").read_text("utf-8"))
    message = body["choices"][0]["message"]
    good = message["tool_calls"][0]
    broken = {
        "id": "call_x",
        "type": "function",
        "function": {"name": "get_current_weather", "arguments": '{"location": "Boston'},
    }
    message["tool_calls"] = [good, broken]
    resp = parse_openai(body, latency_ms=1.0, model="gpt-4o-mini")
    out = Output(resp.output, resp.extra)
    schema = {"type": "object", "required": ["location"]}
    r = run(spec("tool-args", tool="get_current_weather", schema=schema), out)
    assert not r.passed and r.score == 0.5
    assert r.message == (
        "1 of 2 call(s) of 'get_current_weather' have invalid arguments;"
        ' call 2: arguments are not JSON: \'{"location": "Boston\''
    )
    assert run(spec("tool-called", "get_current_weather", times=2), out).passed


def test_anthropic_recorded_tool_use_validates_against_its_own_input_schema() -> None:
    recording = DATA / "anthropic" / "recordings" / "beta-tools-200-400.f59a9391.json"
    exchange = json.loads(recording.read_text("utf-8"))[0]
    schema = exchange["request"]["body"]["tools"][0]["input_schema"]
    resp = parse_anthropic(exchange["response"]["body"], latency_ms=1.0, model=None)
    out = Output(resp.output, resp.extra)
    r = run(spec("tool-args", tool="get_weather", schema=schema), out)
    assert r.passed and r.message == "1 call(s) of 'get_weather': arguments valid"


# --- tool-called / tool-not-called ---------------------------------------------------------------


def test_tool_called_scores_the_fraction_called_and_lists_the_calls() -> None:
    out = calls(("search", {}), ("lookup", {}))
    assert run(spec("tool-called", ["search", "lookup"]), out).score == 1.0
    r = run(spec("tool-called", ["search", "refund", "cancel", "lookup"]), out)
    assert not r.passed and r.score == 0.5
    assert r.message == "not called: 'refund', 'cancel' (calls made: 'search', 'lookup')"


def test_tool_called_times_is_an_exact_count() -> None:
    out = calls(("search", {}), ("search", {}), ("lookup", {}))
    assert run(spec("tool-called", "search", times=2), out).passed
    r = run(spec("tool-called", ["search", "lookup"], times=2), out)
    assert not r.passed and r.score == 0.5
    assert "expected exactly 2 call(s) of each; called 'lookup' 1x" in r.message


def test_tool_not_called() -> None:
    out = calls(("search", {}), ("delete_account", {}), ("delete_account", {}))
    r = run(spec("tool-not-called", ["delete_account", "refund"]), out)
    assert not r.passed and r.score == 0.5
    assert r.message == "called forbidden 'delete_account' (2x)"
    ok = run(spec("tool-not-called", "refund"), Output("just text"))
    assert ok.passed and ok.message == "did not call 'refund'"


def test_vendor_shapes_from_python_targets_are_read_too() -> None:
    out = Output(
        "",
        {
            "tool_calls": [
                {"type": "function", "function": {"name": "a", "arguments": '{"x": 1}'}},
                {"type": "tool_use", "name": "b", "input": {"y": 2}},
                {"name": "c", "arguments": None},
                "garbage",
            ]
        },
    )
    found = tool_calls(out)
    assert [(c.name, c.arguments, c.parsed) for c in found] == [
        ("a", {"x": 1}, True),
        ("b", {"y": 2}, True),
        ("c", {}, True),
        (None, "garbage", False),
    ]
    r = run(spec("tool-order", ["a", "b", "c", "d"]), out)
    assert "(a call without a name)" in r.message and r.score == 0.75


# --- tool-args -----------------------------------------------------------------------------------


def test_tool_args_scores_the_fraction_of_valid_calls() -> None:
    schema = {"type": "object", "required": ["q"], "properties": {"q": {"type": "string"}}}
    out = calls(("search", {"q": "a"}), ("search", {"q": 3}), ("search", '{"q": "b"}'), ("x", 1))
    r = run(spec("tool-args", tool="search", schema=schema), out)
    assert not r.passed and r.score == pytest.approx(2 / 3)
    assert r.message == (
        "1 of 3 call(s) of 'search' have invalid arguments; call 2: $.q: 3 is not of type 'string'"
    )


def test_tool_args_fails_when_the_tool_was_not_called() -> None:
    r = run(spec("tool-args", tool="refund", schema={}), calls(("search", {})))
    assert not r.passed and r.message == "'refund' was not called (calls made: 'search')"


# --- tool-order ----------------------------------------------------------------------------------


def test_tool_order_is_a_subsequence_by_default() -> None:
    out = calls(("lookup", {}), ("log", {}), ("refund", {}))
    assert run(spec("tool-order", ["lookup", "refund"]), out).passed
    r = run(spec("tool-order", ["refund", "lookup"]), out)
    assert not r.passed and r.score == 0.5
    assert r.message == (
        "expected 'refund' → 'lookup' in order; 'lookup' was not called after 'refund'"
        " (calls made: 'lookup' → 'log' → 'refund')"
    )
    missing = run(spec("tool-order", ["notify", "lookup"]), out)
    assert "'notify' was not called" in missing.message and missing.score == 0.5


def test_tool_order_exact() -> None:
    out = calls(("lookup", {}), ("log", {}), ("refund", {}))
    assert run(spec("tool-order", ["lookup", "log", "refund"], exact=True), out).passed
    r = run(spec("tool-order", ["lookup", "refund"], exact=True), out)
    assert not r.passed and r.score == pytest.approx(2 / 3)
    assert "(call 2 is 'log', expected 'refund')" in r.message
    short = run(spec("tool-order", ["lookup", "log"], exact=True), out)
    assert "(3 call(s), expected 2)" in short.message


def test_no_calls_at_all_is_said_plainly() -> None:
    for s in (spec("tool-order", ["a"]), spec("tool-args", tool="a", schema={})):
        r = run(s, Output(""))
        assert not r.passed and r.score == 0.0 and r.message == "no tool calls were made"


# --- load-time checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("s", "problem"),
    [
        (spec("tool-called"), "tool-called needs a value"),
        (spec("tool-called", ["a", "a"]), "value lists 'a' more than once (use times: 2"),
        (spec("tool-called", "a", times=0), "times must be >= 1"),
        (spec("tool-called", "a", times=True), "times must be an integer"),
        (spec("tool-called", 5), "value must be a string or a list of strings"),
        (spec("tool-not-called", ""), "must not contain an empty tool name"),
        (spec("tool-args", schema={}), "tool-args needs tool"),
        (spec("tool-args", tool="a"), "tool-args needs schema"),
        (spec("tool-args", tool="a", schema={"type": "objec"}), "invalid JSON Schema at $.type"),
        (spec("tool-args", tool="a", schema={"$ref": "#/x"}), "points to nothing"),
        (spec("tool-args", "x", tool="a", schema={}), "tool-args takes no value"),
        (spec("tool-order", "a"), "value must be a list of tool names"),
        (spec("tool-order", ["a"], exct=True), "unknown key 'exct' for tool-order (did you mean"),
    ],
)
def test_bad_configurations_are_found_at_load_time(s: AssertionSpec, problem: str) -> None:
    problems = registry.check_spec(s)
    assert any(problem in p for p in problems), problems
    assert all("\n" not in p for p in problems)


def test_layers_are_tools() -> None:
    for name in ("tool-called", "tool-not-called", "tool-args", "tool-order"):
        assert registry.get(name).layer == "tools"


# --- hostile names and arguments -----------------------------------------------------------------


def _hostile_outputs() -> list[Output]:
    outs = [calls((h, {"q": h}), (h, h)) for h in HOSTILE]
    big = one_megabyte()
    outs.append(calls((big, {"q": big}), ("search", big)))
    outs.append(Output("", {"tool_calls": "not a list"}))
    outs.append(Output("", {"tool_calls": [{"name": {"nested": True}, "arguments": [1]}, None]}))
    return outs


def test_hostile_names_and_arguments_never_break_a_message() -> None:
    specs = [
        spec("tool-called", ["search", "refund"]),
        spec("tool-called", "search", times=3),
        spec("tool-not-called", ["search", *HOSTILE[:3]]),
        spec("tool-args", tool="search", schema={"properties": {"q": {"maxLength": 3}}}),
        spec("tool-order", ["search", "x"], exact=True),
        spec("tool-order", ["search", "x"]),
    ]
    for out in _hostile_outputs():
        for s in specs:
            r = run(s, out)
            assert 0.0 <= r.score <= 1.0
            assert r.message.isprintable(), r.message
            assert len(r.message) <= 400


def test_a_hostile_tool_name_is_quoted_not_interpreted() -> None:
    name = "::error::x\n<!-- ci-gate:sticky -->"
    r = run(spec("tool-not-called", name), calls((name, {})))
    assert r.message == "called forbidden '::error::x\\n<!-- ci-gate:sticky -->' (1x)"
