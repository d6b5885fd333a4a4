"""Provider ``anthropic``: the Messages API.

System messages become the top-level ``system``; ``max_tokens`` (required by the API) defaults to
1024. Text blocks are concatenated into the output; ``tool_use`` blocks go to
``extra["tool_calls"]`` as ``{"id", "name", "arguments"}``, the shape the openai provider uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from ci_gate.providers.base import ProviderError, ProviderRequest, ProviderResponse
from ci_gate.providers.endpoint import EndpointProvider
from ci_gate.providers.http_client import (
    merge_headers,
    request_json,
)
from ci_gate.providers.openai import (
    chat_messages,
    key_list,
    request_params,
    token_count,
)
from ci_gate.suite.model import Target

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_KEY_ENV = "ANTHROPIC_API_KEY"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024


class AnthropicProvider(EndpointProvider):
    default_base_url = DEFAULT_BASE_URL
    default_key_env = DEFAULT_KEY_ENV
    path = "/v1/messages"

    def body(self, request: ProviderRequest) -> dict[str, Any]:
        messages = chat_messages(request, provider="anthropic")
        system = [m["content"] for m in messages if m["role"] == "system"]
        turns = [m for m in messages if m["role"] != "system"]
        body: dict[str, Any] = {"model": self._endpoint.model, "messages": turns}
        if system:
            body["system"] = "\n\n".join(system)
        params = request_params(self.target, request)
        body.update({k: v for k, v in params.items() if k not in body})
        body.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        return body

    async def call(self, request: ProviderRequest) -> ProviderResponse:
        # The suite may pin another API version through headers; the key always comes from env.
        versioned = merge_headers({"anthropic-version": API_VERSION}, self._endpoint.headers)
        headers = merge_headers(versioned, {"x-api-key": self._endpoint.api_key})
        reply = await request_json(
            self._client,
            "POST",
            self._endpoint.url,
            headers=headers,
            body=self.body(request),
            timeout_s=self.target.timeout_s,
            secrets=(self._endpoint.api_key,),
        )
        return parse_response(reply.body, latency_ms=reply.latency_ms, model=self._endpoint.model)

    async def aclose(self) -> None:
        return None


def parse_response(data: Any, *, latency_ms: float, model: str | None) -> ProviderResponse:
    """A Messages API response body as a ProviderResponse; bad_response when malformed."""
    if not isinstance(data, dict):
        raise _bad("the response is not a JSON object")
    content = data.get("content")
    if not isinstance(content, list):
        raise _bad(f"no content list in the response (keys: {key_list(data)})")
    texts: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif block.get("type") == "tool_use":
            tool_calls.append(
                {"id": block.get("id"), "name": block.get("name"), "arguments": block.get("input")}
            )
    extra: dict[str, Any] = {"tool_calls": tool_calls} if tool_calls else {}
    usage = data.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    stop = data.get("stop_reason")
    resp_model = data.get("model")
    return ProviderResponse(
        output="".join(texts),
        latency_ms=latency_ms,
        input_tokens=token_count(usage.get("input_tokens")),
        output_tokens=token_count(usage.get("output_tokens")),
        model=resp_model if isinstance(resp_model, str) and resp_model else model,
        finish_reason=stop if isinstance(stop, str) else None,
        extra=extra,
    )


def _bad(what: str) -> ProviderError:
    return ProviderError("bad_response", f"unexpected Messages API response: {what}")


def build(
    target: Target, client: httpx.AsyncClient, env: Mapping[str, str], base_dir: Path
) -> AnthropicProvider:
    return AnthropicProvider(target, client, env)
