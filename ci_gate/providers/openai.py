"""Provider ``openai``: any OpenAI-compatible Chat Completions endpoint.

Tool calls are stored in ``extra["tool_calls"]`` as ``{"id", "name", "arguments"}`` with the
arguments parsed from their JSON string when they parse (the same shape the anthropic provider
uses), so that tool assertions do not depend on the vendor.
"""

from __future__ import annotations

import contextlib
import json
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
from ci_gate.providers.http_errors import excerpt
from ci_gate.suite.model import Target

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"


def chat_messages(request: ProviderRequest, *, provider: str) -> list[dict[str, str]]:
    """The request's messages. A case without a prompt cannot be sent to a chat API: sending its
    vars instead would also make prompt-less cases share one cache entry (the cache keys model
    calls on messages)."""
    if not any(m.role != "system" for m in request.messages):
        raise no_prompt(request, provider)
    return [{"role": m.role, "content": m.content} for m in request.messages]


def no_prompt(request: ProviderRequest, provider: str) -> ProviderError:
    return ProviderError(
        "config",
        f"case {request.case_id} has no user message to send to the {provider} target "
        "(give it a prompt: set defaults.prompt or the case's prompt)",
    )


def request_params(target: Target, request: ProviderRequest) -> dict[str, Any]:
    """Sampling params: the target's, overridden by the request's."""
    return {**dict(target.params), **dict(request.params)}


class OpenAIProvider(EndpointProvider):
    default_base_url = DEFAULT_BASE_URL
    default_key_env = DEFAULT_KEY_ENV
    path = "/chat/completions"

    def body(self, request: ProviderRequest) -> dict[str, Any]:
        params = request_params(self.target, request)
        messages = chat_messages(request, provider="openai")
        body: dict[str, Any] = {"model": self._endpoint.model, "messages": messages}
        body.update({k: v for k, v in params.items() if k not in body})
        return body

    async def call(self, request: ProviderRequest) -> ProviderResponse:
        headers = merge_headers(
            self._endpoint.headers, {"authorization": f"Bearer {self._endpoint.api_key}"}
        )
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
    """A Chat Completions response body as a ProviderResponse; bad_response when malformed."""
    if not isinstance(data, dict):
        raise _bad("the response is not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _bad(f"no choices in the response (keys: {key_list(data)})")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise _bad("choices[0].message is missing")
    extra: dict[str, Any] = {}
    tool_calls = _tool_calls(message.get("tool_calls"))
    if tool_calls:
        extra["tool_calls"] = tool_calls
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        extra["refusal"] = refusal
    output = _content_text(message.get("content"))
    if output is None:
        if not tool_calls and not isinstance(refusal, str):
            raise _bad("choices[0].message has neither content nor tool_calls")
        # A refusal without content is still what the model said; refusal assertions read it.
        output = refusal if isinstance(refusal, str) else ""
    usage = data.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    finish = choices[0].get("finish_reason")
    resp_model = data.get("model")
    return ProviderResponse(
        output=output,
        latency_ms=latency_ms,
        input_tokens=token_count(usage.get("prompt_tokens")),
        output_tokens=token_count(usage.get("completion_tokens")),
        model=resp_model if isinstance(resp_model, str) and resp_model else model,
        finish_reason=finish if isinstance(finish, str) else None,
        extra=extra,
    )


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts, as some compatible servers answer
        return "".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return None


def _tool_calls(raw: Any) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    if not isinstance(raw, list):
        return calls
    for item in raw:
        fn = item.get("function") if isinstance(item, dict) else None
        if not isinstance(fn, dict):
            continue
        arguments = fn.get("arguments")
        if isinstance(arguments, str):
            # Unparseable arguments are kept as the model wrote them, for a tool assertion to flag.
            with contextlib.suppress(ValueError):
                arguments = json.loads(arguments)
        calls.append({"id": item.get("id"), "name": fn.get("name"), "arguments": arguments})
    return calls


def token_count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def key_list(data: Mapping[str, Any]) -> str:
    return excerpt(", ".join(str(k)[:40] for k in list(data)[:20])) or "none"


def _bad(what: str) -> ProviderError:
    return ProviderError("bad_response", f"unexpected Chat Completions response: {what}")


def build(
    target: Target, client: httpx.AsyncClient, env: Mapping[str, str], base_dir: Path
) -> OpenAIProvider:
    return OpenAIProvider(target, client, env)
