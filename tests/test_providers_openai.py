"""The openai provider: requests that validate against the API schema, responses parsed from the
API's own examples, and failures against a real server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import jsonschema  # type: ignore[import-untyped]
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ci_gate.errors import ProviderConfigError
from ci_gate.providers.base import ProviderError, ProviderRequest, ProviderResponse
from ci_gate.providers.http_client import make_client
from ci_gate.providers.openai import OpenAIProvider, parse_response
from ci_gate.suite.model import Message, Target
from tests.fakes.model_server import Fault, ModelServer, ToolCall

DATA = Path(__file__).parents[1].parent / "shared" / "data" / "openai"
KEY = "sk-test-0123456789abcdefXYZ"
ENV = {"OPENAI_API_KEY": KEY}


def _validator() -> jsonschema.Draft202012Validator:
    doc = json.loads((DATA / "chat-completions.openapi.subset.json").read_text("utf-8"))
    resource = Resource.from_contents(doc, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:openai", resource)
    schema = {"$ref": "urn:openai#/components/schemas/CreateChatCompletionRequest"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


VALIDATOR = _validator()


def target(**changes: Any) -> Target:
    fields: dict[str, Any] = {
        "id": "gpt",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "params": {"temperature": 0, "max_tokens": 300, "seed": 1},
        "options": {},
        "timeout_s": 10.0,
    }
    fields.update(changes)
    return Target(**fields)


def request(text: str = "Can I get a refund?", **changes: Any) -> ProviderRequest:
    fields: dict[str, Any] = {
        "case_id": "refund-01",
        "sample": 0,
        "vars": {"question": text},
        "messages": (Message("system", "You are a support bot."), Message("user", text)),
        "params": {},
    }
    fields.update(changes)
    return ProviderRequest(**fields)


def mock_call(
    handler: Callable[[httpx.Request], httpx.Response],
    tgt: Target | None = None,
    req: ProviderRequest | None = None,
) -> ProviderResponse:
    async def run() -> ProviderResponse:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            provider = OpenAIProvider(tgt or target(), client, ENV)
            return await provider.call(req or request())

    return asyncio.run(run())


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text("utf-8"))
    return data


# -- requests -----------------------------------------------------------------------------------
def test_request_url_headers_and_body() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json=example("example-response.default.json"))

    tgt = target(options={"base_url": "https://llm.internal/v1/", "headers": {"X-Team": "bots"}})
    mock_call(handler, tgt, request(params={"temperature": 0.5}))
    sent = seen[0]
    assert str(sent.url) == "https://llm.internal/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["x-team"] == "bots"
    assert sent.headers["content-type"] == "application/json"
    body = json.loads(sent.content)
    assert body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a support bot."},
            {"role": "user", "content": "Can I get a refund?"},
        ],
        "temperature": 0.5,  # the request's params override the target's
        "max_tokens": 300,
        "seed": 1,
    }
    assert list(VALIDATOR.iter_errors(body)) == []


def test_schema_validator_rejects_what_the_api_rejects() -> None:
    # Guards the guard: the validator must actually bite.
    assert list(VALIDATOR.iter_errors({"model": "m", "messages": []}))
    assert list(VALIDATOR.iter_errors({"model": "m", "messages": [{"role": "x", "content": "y"}]}))


def test_params_cannot_replace_model_or_messages() -> None:
    provider = OpenAIProvider(target(params={"model": "evil", "messages": []}), _unused(), ENV)
    body = provider.body(request())
    assert body["model"] == "gpt-4o-mini"
    assert len(body["messages"]) == 2


def test_case_without_a_prompt_is_a_config_error() -> None:
    provider = OpenAIProvider(target(), _unused(), ENV)
    for messages in ((), (Message("system", "Be brief."),)):
        with pytest.raises(ProviderError) as info:
            provider.body(request(messages=messages))
        assert info.value.kind == "config"
        assert "case refund-01 has no user message" in info.value.message
        assert "defaults.prompt" in info.value.message


def test_user_headers_cannot_override_the_authorization() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json=example("example-response.default.json"))

    mock_call(handler, target(options={"headers": {"Authorization": "Bearer other"}}))
    assert seen[0].headers.get_list("authorization") == [f"Bearer {KEY}"]


# -- responses ----------------------------------------------------------------------------------
def test_parse_default_example_response() -> None:
    resp = parse_response(example("example-response.default.json"), latency_ms=12.5, model="x")
    assert resp.output == "Hello! How can I assist you today?"
    assert (resp.input_tokens, resp.output_tokens) == (19, 10)
    assert resp.model == "gpt-5.4"
    assert resp.finish_reason == "stop"
    assert resp.latency_ms == 12.5
    assert dict(resp.extra) == {}


def test_parse_tool_call_example_response() -> None:
    resp = parse_response(example("example-response.functions.json"), latency_ms=1, model="x")
    assert resp.output == ""
    assert resp.finish_reason == "tool_calls"
    assert resp.extra["tool_calls"] == [
        {
            "id": "call_abc123",
            "name": "get_current_weather",
            "arguments": {"location": "Boston, MA"},
        }
    ]


@pytest.mark.parametrize(
    "name", ["example-response.image-input.json", "example-response.logprobs.json"]
)
def test_parse_other_example_responses(name: str) -> None:
    data = example(name)
    resp = parse_response(data, latency_ms=1, model="x")
    assert resp.output == data["choices"][0]["message"]["content"]
    assert resp.input_tokens == data["usage"]["prompt_tokens"]


def test_refusal_without_content_is_the_output() -> None:
    data = example("example-response.default.json")
    data["choices"][0]["message"].update(content=None, refusal="I can't help with that.")
    resp = parse_response(data, latency_ms=1, model="x")
    assert resp.output == "I can't help with that."
    assert resp.extra["refusal"] == "I can't help with that."


def test_unparseable_tool_arguments_are_kept_verbatim() -> None:
    data = example("example-response.functions.json")
    data["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = "{not json"
    resp = parse_response(data, latency_ms=1, model="x")
    assert resp.extra["tool_calls"][0]["arguments"] == "{not json"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([], "not a JSON object"),
        ({"error": "x"}, "no choices in the response (keys: error)"),
        ({"choices": []}, "no choices"),
        ({"choices": [{"message": "hi"}]}, "message is missing"),
        ({"choices": [{"message": {"role": "assistant"}}]}, "neither content nor tool_calls"),
    ],
)
def test_malformed_responses_are_bad_responses(data: Any, fragment: str) -> None:
    with pytest.raises(ProviderError) as info:
        parse_response(data, latency_ms=1, model="x")
    assert info.value.kind == "bad_response"
    assert fragment in info.value.message


def test_missing_usage_gives_unknown_tokens_and_model_falls_back() -> None:
    data = example("example-response.default.json")
    del data["usage"]
    del data["model"]
    resp = parse_response(data, latency_ms=1, model="gpt-4o-mini")
    assert (resp.input_tokens, resp.output_tokens) == (None, None)
    assert resp.model == "gpt-4o-mini"


# -- configuration ------------------------------------------------------------------------------
def _unused() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))


def test_missing_api_key_names_target_variable_and_fix() -> None:
    with pytest.raises(ProviderConfigError) as info:
        OpenAIProvider(target(), _unused(), {})
    assert str(info.value) == (
        "target gpt: environment variable OPENAI_API_KEY is not set "
        "(export OPENAI_API_KEY=... or set api_key_env in targets[gpt])"
    )
    assert info.value.exit_code == 2


def test_custom_api_key_env_and_empty_value() -> None:
    tgt = target(options={"api_key_env": "TEAM_OPENAI_KEY"})
    with pytest.raises(ProviderConfigError, match="TEAM_OPENAI_KEY is not set"):
        OpenAIProvider(tgt, _unused(), {"TEAM_OPENAI_KEY": "", "OPENAI_API_KEY": KEY})
    OpenAIProvider(tgt, _unused(), {"TEAM_OPENAI_KEY": KEY})


def test_a_key_pasted_into_api_key_env_is_not_echoed() -> None:
    with pytest.raises(ProviderConfigError) as info:
        OpenAIProvider(target(options={"api_key_env": KEY}), _unused(), ENV)
    assert KEY not in str(info.value)
    assert "must name an environment variable" in str(info.value)


def test_base_url_must_be_http() -> None:
    with pytest.raises(ProviderConfigError, match="base_url must be an absolute http"):
        OpenAIProvider(target(options={"base_url": "api.openai.com/v1"}), _unused(), ENV)


def test_cache_identity_has_no_secrets_or_timeouts() -> None:
    tgt = target(options={"headers": {"X-Team": "secret-team-value"}}, timeout_s=5)
    identity = OpenAIProvider(tgt, _unused(), ENV).cache_identity()
    assert identity == {
        "provider": "openai",
        "base_url": "https://api.openai.com/v1",
        "model": "gpt-4o-mini",
        "headers": ["X-Team"],
    }
    assert KEY not in json.dumps(identity)


# -- against a real server ----------------------------------------------------------------------
def server_call(
    server: ModelServer, req: ProviderRequest | None = None, **changes: Any
) -> ProviderResponse:
    async def run() -> ProviderResponse:
        async with make_client(4) as client:
            tgt = target(options={"base_url": f"{server.url}/v1"}, **changes)
            return await OpenAIProvider(tgt, client, ENV).call(req or request())

    return asyncio.run(run())


def server_error(server: ModelServer, **changes: Any) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        server_call(server, **changes)
    return info.value


def test_round_trip_against_the_fake_server() -> None:
    with ModelServer() as server:
        resp = server_call(server)
        recorded = server.requests[0]
    assert resp.output == "Can I get a refund?"
    assert resp.model == "gpt-4o-mini"
    assert resp.input_tokens == 11 and resp.output_tokens == 5
    assert resp.finish_reason == "stop"
    assert resp.latency_ms > 0
    assert recorded.path == "/v1/chat/completions"
    assert recorded.headers["Authorization"] == f"Bearer {KEY}"
    assert list(VALIDATOR.iter_errors(recorded.body)) == []


def test_tool_call_against_the_fake_server() -> None:
    answers: Mapping[str, str | ToolCall] = {"weather": ToolCall("get_weather", {"city": "SF"})}
    with ModelServer(answers=answers) as server:
        resp = server_call(server, request("What's the weather in SF?"))
    assert resp.output == ""
    assert resp.extra["tool_calls"] == [
        {"id": "call_fake1", "name": "get_weather", "arguments": {"city": "SF"}}
    ]


def test_timeout_is_honoured_against_a_slow_server() -> None:
    with ModelServer(service_ms=3000) as server:
        started = time.perf_counter()
        err = server_error(server, timeout_s=0.25)
        elapsed = time.perf_counter() - started
    assert err.kind == "timeout"
    assert err.retryable
    assert elapsed < 2.0


def test_rate_limit_then_success() -> None:
    with ModelServer() as server:
        server.rate_limit(times=2, retry_after="2")
        first, second = server_error(server), server_error(server)
        ok = server_call(server)
    assert [first.kind, second.kind] == ["rate_limited", "rate_limited"]
    assert first.retry_after_s == 2.0
    assert first.status == 429
    assert ok.output == "Can I get a refund?"


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault("status", status=503), "server_error"),
        (Fault("status", status=400), "client_error"),
        (Fault("non_json"), "bad_response"),
        (Fault("truncated"), "bad_response"),
        (Fault("reset"), "connection"),
    ],
)
def test_failures_against_the_fake_server(fault: Fault, kind: str) -> None:
    with ModelServer() as server:
        server.push(fault)
        assert server_error(server).kind == kind


def test_missing_usage_against_the_fake_server() -> None:
    with ModelServer() as server:
        server.mode = "missing_usage"
        resp = server_call(server)
    assert resp.output == "Can I get a refund?"
    assert resp.input_tokens is None


def test_api_key_echoed_by_the_server_never_appears_in_the_error() -> None:
    with ModelServer() as server:
        server.fail(401, echo_headers=True)
        err = server_error(server)
    assert err.kind == "client_error"
    assert "Incorrect API key provided" in err.message
    assert KEY not in err.message
    assert KEY not in str(err)
    assert KEY[8:20] not in err.message
