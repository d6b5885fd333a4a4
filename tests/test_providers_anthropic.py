"""The anthropic provider: request shape, the API's example bodies and recorded exchanges
(429, 429, 200; 200 then 400), replayed through MockTransport and through a real server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ci_gate.errors import ProviderConfigError
from ci_gate.providers.anthropic import AnthropicProvider, parse_response
from ci_gate.providers.base import ProviderError, ProviderRequest, ProviderResponse
from ci_gate.providers.http_client import make_client
from ci_gate.suite.model import Message, Target
from tests.fakes.model_server import ModelServer, ToolCall

DATA = Path(__file__).parents[1].parent / "shared" / "data" / "anthropic"
KEY = "sk-ant-api03-TESTKEY-0123456789"
ENV = {"ANTHROPIC_API_KEY": KEY}


def target(**changes: Any) -> Target:
    fields: dict[str, Any] = {
        "id": "claude",
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "params": {},
        "options": {},
        "timeout_s": 10.0,
    }
    fields.update(changes)
    return Target(**fields)


def request(
    text: str = "Extract: I want to order 2 Green Tea at $5.50 each", **changes: Any
) -> ProviderRequest:
    fields: dict[str, Any] = {
        "case_id": "order-01",
        "sample": 0,
        "vars": {"text": text},
        "messages": (Message("user", text),),
        "params": {},
    }
    fields.update(changes)
    return ProviderRequest(**fields)


def recording(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((DATA / "recordings" / name).read_text("utf-8"))
    return data


def replay_handler(
    exchanges: list[dict[str, Any]], seen: list[httpx.Request]
) -> Callable[[httpx.Request], httpx.Response]:
    replies: Iterator[dict[str, Any]] = iter(x["response"] for x in exchanges)

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        reply = next(replies)
        body = reply["body"]
        content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        headers = {k: v for k, v in reply["headers"].items() if k != "content-length"}
        return httpx.Response(reply["status_code"], headers=headers, content=content)

    return handler


def calls(
    handler: Callable[[httpx.Request], httpx.Response],
    reqs: list[ProviderRequest],
    tgt: Target | None = None,
) -> list[ProviderResponse | ProviderError]:
    async def run() -> list[ProviderResponse | ProviderError]:
        out: list[ProviderResponse | ProviderError] = []
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            provider = AnthropicProvider(tgt or target(), client, ENV)
            for req in reqs:
                try:
                    out.append(await provider.call(req))
                except ProviderError as err:
                    out.append(err)
        return out

    return asyncio.run(run())


def _unused() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))


# -- requests -----------------------------------------------------------------------------------
def test_request_matches_the_api_example_shape() -> None:
    example = json.loads((DATA / "message-request.example.json").read_text("utf-8"))
    body = AnthropicProvider(target(), _unused(), ENV).body(request())
    assert {k: body[k] for k in ("max_tokens", "messages", "model")} == {
        k: example[k] for k in ("max_tokens", "messages", "model")
    }
    assert set(body) == {"max_tokens", "messages", "model"}


def test_system_messages_go_to_the_top_level_and_params_override_max_tokens() -> None:
    req = request(
        "Hi",
        messages=(
            Message("system", "Be brief."),
            Message("system", "Be kind."),
            Message("user", "Hi"),
            Message("assistant", "Hello!"),
            Message("user", "Refund?"),
        ),
    )
    provider = AnthropicProvider(
        target(params={"max_tokens": 200, "temperature": 0}), _unused(), ENV
    )
    body = provider.body(req)
    assert body["system"] == "Be brief.\n\nBe kind."
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["max_tokens"] == 200
    assert body["temperature"] == 0


def test_case_without_a_user_message_is_a_config_error() -> None:
    req = request(messages=(Message("system", "Be brief."),))
    with pytest.raises(ProviderError) as info:
        AnthropicProvider(target(), _unused(), ENV).body(req)
    assert info.value.kind == "config"
    assert "no user message to send to the anthropic target" in info.value.message


def test_headers_sent() -> None:
    seen: list[httpx.Request] = []
    handler = replay_handler(recording("messages-parse-200.c11eefc7.json"), seen)
    tgt = target(options={"base_url": "https://gw.internal/", "headers": {"anthropic-beta": "x"}})
    [resp] = calls(handler, [request()], tgt)
    sent = seen[0]
    assert str(sent.url) == "https://gw.internal/v1/messages"
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["anthropic-beta"] == "x"
    assert "authorization" not in sent.headers
    assert isinstance(resp, ProviderResponse)


# -- responses and recordings -------------------------------------------------------------------
def test_parse_example_response() -> None:
    data = json.loads((DATA / "message-response.example.json").read_text("utf-8"))
    resp = parse_response(data, latency_ms=3.0, model="claude-sonnet-4-5")
    assert json.loads(resp.output) == {"product_name": "Green Tea", "price": 5.5, "quantity": 2}
    assert (resp.input_tokens, resp.output_tokens) == (249, 26)
    assert resp.model == "claude-sonnet-4-5-20250929"
    assert resp.finish_reason == "end_turn"


def test_recorded_429_429_200() -> None:
    seen: list[httpx.Request] = []
    handler = replay_handler(recording("messages-429-429-200.d743d628.json"), seen)
    first, second, third = calls(handler, [request()] * 3)
    for err in (first, second):
        assert isinstance(err, ProviderError)
        assert err.kind == "rate_limited"
        assert err.retryable
        assert err.message.startswith("HTTP 429: rate_limit_error: This request would exceed")
    assert isinstance(third, ProviderResponse)
    assert json.loads(third.output)["total"] == 14.0
    assert third.input_tokens is not None and third.output_tokens is not None
    assert len(seen) == 3


def test_recorded_tool_use_then_400() -> None:
    exchanges = recording("beta-tools-200-400.f59a9391.json")
    seen: list[httpx.Request] = []
    first, second = calls(replay_handler(exchanges, seen), [request("weather?")] * 2)
    assert isinstance(first, ProviderResponse)
    expected_input = exchanges[0]["response"]["body"]["content"][-1]["input"]
    assert first.extra["tool_calls"][0]["name"] == "get_weather"
    assert first.extra["tool_calls"][0]["arguments"] == expected_input
    assert first.finish_reason == "tool_use"
    assert isinstance(second, ProviderError)
    assert second.kind == "client_error"
    assert second.status == 400
    assert "tool_use_id" in second.message


def test_recorded_stream_reply_is_not_json() -> None:
    # We never ask for streaming; a server answering with SSE anyway is a bad response.
    seen: list[httpx.Request] = []
    handler = replay_handler(recording("messages-stream-429-429-200.a8b7dbb8.json"), seen)
    results = calls(handler, [request()] * 3)
    kinds = [r.kind if isinstance(r, ProviderError) else "ok" for r in results]
    assert kinds == ["rate_limited", "rate_limited", "bad_response"]


def test_malformed_response() -> None:
    with pytest.raises(ProviderError) as info:
        parse_response({"type": "error"}, latency_ms=1, model="m")
    assert info.value.kind == "bad_response"
    assert "keys: type" in info.value.message


# -- configuration ------------------------------------------------------------------------------
def test_missing_api_key_message() -> None:
    with pytest.raises(ProviderConfigError) as info:
        AnthropicProvider(target(), _unused(), {"OPENAI_API_KEY": "x"})
    assert str(info.value) == (
        "target claude: environment variable ANTHROPIC_API_KEY is not set "
        "(export ANTHROPIC_API_KEY=... or set api_key_env in targets[claude])"
    )


def test_missing_model_is_a_config_error() -> None:
    with pytest.raises(ProviderConfigError, match="model is required"):
        AnthropicProvider(target(model=None), _unused(), ENV)


def test_cache_identity() -> None:
    identity = AnthropicProvider(target(timeout_s=3), _unused(), ENV).cache_identity()
    assert identity == {
        "provider": "anthropic",
        "base_url": "https://api.anthropic.com",
        "model": "claude-sonnet-4-5",
        "headers": [],
    }


# -- against a real server ----------------------------------------------------------------------
def server_calls(server: ModelServer, reqs: list[ProviderRequest]) -> list[Any]:
    async def run() -> list[Any]:
        out: list[Any] = []
        async with make_client(4) as client:
            provider = AnthropicProvider(target(options={"base_url": server.url}), client, ENV)
            for req in reqs:
                try:
                    out.append(await provider.call(req))
                except ProviderError as err:
                    out.append(err)
        return out

    return asyncio.run(run())


def test_round_trip_with_system_against_the_fake_server() -> None:
    req = request("Refund?", messages=(Message("system", "Be brief."), Message("user", "Refund?")))
    with ModelServer() as server:
        [resp] = server_calls(server, [req])
        recorded = server.requests[0]
    assert isinstance(resp, ProviderResponse)
    assert resp.output == "Refund?"
    assert resp.finish_reason == "end_turn"
    assert resp.input_tokens == 4  # ceil(len("Refund?" + "Be brief.") / 4)
    assert recorded.path == "/v1/messages"
    assert recorded.headers["x-api-key"] == KEY
    assert recorded.body["system"] == "Be brief."
    assert recorded.body["max_tokens"] == 1024


def test_recording_replayed_by_the_fake_server() -> None:
    exchanges = recording("messages-429-429-200.d743d628.json")
    with ModelServer() as server:
        server.replay(
            (x["response"]["status_code"], x["response"]["headers"], x["response"]["body"])
            for x in exchanges
        )
        results = server_calls(server, [request()] * 3)
        assert server.pending == 0
    assert [r.kind for r in results[:2]] == ["rate_limited", "rate_limited"]
    assert json.loads(results[2].output)["items"][0]["product_name"] == "Green Tea"


def test_tool_use_against_the_fake_server() -> None:
    with ModelServer(answers={"weather": ToolCall("get_weather", {"city": "SF"})}) as server:
        [resp] = server_calls(server, [request("weather in SF?")])
    assert resp.output == ""
    assert resp.extra["tool_calls"] == [
        {"id": "toolu_fake1", "name": "get_weather", "arguments": {"city": "SF"}}
    ]


def test_echoed_api_key_never_in_error() -> None:
    with ModelServer() as server:
        server.fail(401, echo_headers=True)
        [err] = server_calls(server, [request()])
    assert isinstance(err, ProviderError)
    assert err.kind == "client_error"
    assert "authentication_error" in err.message
    assert KEY not in err.message
    assert "TESTKEY" not in err.message
