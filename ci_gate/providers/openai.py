"""Provider ``openai``: any OpenAI-compatible Chat Completions endpoint (and its embeddings).

Tool calls are stored in ``extra["tool_calls"]`` as ``{"id", "name", "arguments"}`` with the
arguments parsed from their JSON string when they parse (the same shape the anthropic provider
uses), so that tool assertions do not depend on the vendor.

``embed`` posts to ``{base_url}/embeddings`` with the target's ``model`` (an embeddings model is
a target of its own, e.g. ``{id: embedder, provider: openai, model: text-embedding-3-small}``);
the target's ``params`` are not sent there.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from ci_gate.providers.base import Embeddings, ProviderError, ProviderRequest, ProviderResponse
from ci_gate.providers.endpoint import EndpointProvider
from ci_gate.providers.http_client import (
    JsonReply,
    merge_headers,
    request_json,
)
from ci_gate.providers.scrubbing import excerpt
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

    async def _post(self, url: str, body: dict[str, Any]) -> JsonReply:
        headers = merge_headers(
            self._endpoint.headers, {"authorization": f"Bearer {self._endpoint.api_key}"}
        )
        return await request_json(
            self._client,
            "POST",
            url,
            headers=headers,
            body=body,
            timeout_s=self.target.timeout_s,
            secrets=(self._endpoint.api_key,),
        )

    async def call(self, request: ProviderRequest) -> ProviderResponse:
        reply = await self._post(self._endpoint.url, self.body(request))
        return parse_response(reply.body, latency_ms=reply.latency_ms, model=self._endpoint.model)

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        body = {"model": self._endpoint.model, "input": list(texts)}
        reply = await self._post(f"{self._endpoint.base_url}/embeddings", body)
        return parse_embeddings(
            reply.body, len(texts), latency_ms=reply.latency_ms, model=self._endpoint.model
        )

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


def parse_embeddings(data: Any, count: int, *, latency_ms: float, model: str | None) -> Embeddings:
    """An embeddings response body: ``data[i].embedding`` in ``index`` order, one per input."""
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list) or len(items) != count:
        got = f"{len(items)} items" if isinstance(items, list) else "no data list"
        raise _bad_embeddings(f"expected {count} embeddings, got {got}")
    by_index: dict[int, list[float]] = {}
    for item in items:
        item = item if isinstance(item, dict) else {}
        index, vector = token_count(item.get("index")), item.get("embedding")
        if index is None or index >= count or index in by_index:
            raise _bad_embeddings("an item has a missing, repeated or out-of-range index")
        if not isinstance(vector, list) or not vector or not all(_is_number(x) for x in vector):
            raise _bad_embeddings(f"data item {index} has no embedding (a list of finite numbers)")
        by_index[index] = [float(x) for x in vector]
    usage, resp_model = data.get("usage"), data.get("model")
    return Embeddings(
        vectors=[by_index[i] for i in range(count)],
        latency_ms=latency_ms,
        input_tokens=token_count(usage.get("prompt_tokens")) if isinstance(usage, dict) else None,
        model=resp_model if isinstance(resp_model, str) and resp_model else model,
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _bad_embeddings(what: str) -> ProviderError:
    return ProviderError("bad_response", f"unexpected embeddings response: {what}")


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
