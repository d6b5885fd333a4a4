"""A real HTTP server speaking OpenAI Chat Completions and Anthropic Messages, for tests and
benchmarks.

In tests::

    with ModelServer(service_ms=0) as server:
        server.rate_limit(times=2, retry_after="1")   # the next 2 requests get 429
        ... call f"{server.url}/v1/chat/completions" ...
        assert server.requests[0].body["model"] == "gpt-4o-mini"

Routes: ``POST /v1/chat/completions``, ``POST /chat/completions`` (OpenAI) and
``POST /v1/messages`` (Anthropic). The answer echoes the last user message unless ``answers``
maps a substring of it to a canned reply (a string, or a ``ToolCall``). One-shot faults queued
with ``fail``/``rate_limit``/``push``/``replay`` apply to the next requests in order (``ok``
passes requests through, to aim a fault at a later one); ``mode`` applies to every request when
no fault is queued. Faults: ``status`` (error with an API-shaped body, optionally echoing the
request headers), ``slow``, ``non_json``, ``missing_usage``, ``truncated`` (a complete HTTP reply
whose JSON is cut), ``short_body`` (fewer bytes than the Content-Length, then the connection
closes), ``reset`` (TCP reset), ``canned`` (a recorded reply), ``drip`` (headers at once, then
the body ``chunk`` bytes at a time, ``delay_ms`` apart). ``chaos(rate, seed)`` faults requests at
random but reproducibly (see ``tests.fakes.model_chaos``) when no one-shot fault is queued.
``request_arrived(n)`` gives an event set when the n-th request arrives, to act while it is in
flight without sleeping; ``handler_stopped(n)`` one set when n handlers were cancelled because
their client went away (a client that timed out).

``POST /v1/embeddings`` (OpenAI) answers with ``ci_gate.providers.fake_embed`` vectors, listed
in reverse ``index`` order as a server may; the faults apply to it too.

As a process, for benchmarks::

    python -m tests.fakes.model_server --port 0 --service-ms 100 [--answer NEEDLE=REPLY ...]

prints ``listening on http://127.0.0.1:PORT`` and serves until killed. No per-request logging or
validation: 1,000 requests at concurrency 32 cost well under a second of server time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import signal
import socket
import struct
import threading
import zlib
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ci_gate.providers.fake_embed import fake_embedding
from tests.fakes.model_chaos import Chaos
from tests.fakes.threaded_server import ThreadedServer

MODES = ("ok", "non_json", "missing_usage", "truncated", "short_body", "reset", "drip")
_DROPPED_HEADERS = frozenset(
    {"content-length", "connection", "transfer-encoding", "content-encoding"}
)
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: Mapping[str, Any]


@dataclass
class Fault:
    """What the next ``times`` requests get instead of a normal answer."""

    kind: str
    times: int = 1
    status: int = 500
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None  # None: an API-shaped error body (for kind "status")
    echo_headers: bool = False
    delay_ms: float = 0.0  # "slow": before answering; "drip": between chunks
    chunk: int = 16  # "drip": bytes per write


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: Any  # parsed JSON, or None when the body was not JSON
    raw: bytes


class ModelServer(ThreadedServer):
    thread_name = "model-server"

    def __init__(
        self,
        service_ms: float = 0.0,
        *,
        jitter_ms: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        answers: Mapping[str, str | ToolCall] | None = None,
        record: bool = True,
    ) -> None:
        self.service_ms = service_ms
        self.jitter_ms = jitter_ms
        self.mode = "ok"
        self.answers: dict[str, str | ToolCall] = dict(answers or {})
        self.requests: list[RecordedRequest] = []
        # Most requests being served at once: shows whether a client really sends in parallel.
        self.max_in_flight = 0
        self._in_flight = 0
        self._record = record
        super().__init__(host, port)
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._arrived = 0
        self._waiters: list[tuple[int, threading.Event]] = []
        self.stopped = 0  # handlers cancelled, or cut off mid-reply, because the client left
        self._stop_waiters: list[tuple[int, threading.Event]] = []
        self.chaos_plan: Chaos | None = None
        # A "timeout" chaos fault answers after this long; the client is meant to give up first.
        self.chaos_timeout_ms = 60_000.0

    # -- fault plan -----------------------------------------------------------------------
    def push(self, *faults: Fault) -> None:
        for fault in faults:
            if fault.kind not in (*MODES, "status", "slow", "canned"):
                raise ValueError(f"unknown fault kind {fault.kind!r}")
        with self._lock:
            self._faults.extend(faults)

    def fail(
        self,
        status: int = 500,
        times: int = 1,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        echo_headers: bool = False,
    ) -> None:
        self.push(Fault("status", times, status, dict(headers or {}), body, echo_headers))

    def rate_limit(self, times: int = 1, retry_after: str | None = "1") -> None:
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        self.push(Fault("status", times, 429, headers))

    def replay(self, exchanges: Iterable[tuple[int, Mapping[str, str], Any]]) -> None:
        """Serve recorded (status, headers, body) replies, one per request, in order."""
        self.push(*(Fault("canned", 1, s, dict(h), b) for s, h, b in exchanges))

    def chaos(self, rate: float = 0.2, seed: int = 0, kinds: Sequence[str] | None = None) -> Chaos:
        """Fault each request with probability ``rate``, the kind drawn from ``kinds``
        (default: all of ``CHAOS_KINDS``); returns the plan, whose ``draws`` say what happened."""
        plan = Chaos(rate, seed) if kinds is None else Chaos(rate, seed, kinds)
        self.chaos_plan = plan
        return plan

    def request_arrived(self, n: int) -> threading.Event:
        """An event set once the server has received its ``n``-th request (counting from start),
        for tests that must act while a request is in flight, without sleeping."""
        return self._event(n, "_arrived", self._waiters)

    def handler_stopped(self, n: int) -> threading.Event:
        """An event set once ``n`` handlers have stopped because their client went away."""
        return self._event(n, "stopped", self._stop_waiters)

    def _event(
        self, n: int, counter: str, waiters: list[tuple[int, threading.Event]]
    ) -> threading.Event:
        event = threading.Event()
        with self._lock:
            if getattr(self, counter) >= n:
                event.set()
            else:
                waiters.append((n, event))
        return event

    def _note_arrival(self) -> None:
        with self._lock:
            self._arrived += 1
            due = [w for w in self._waiters if w[0] <= self._arrived]
            self._waiters = [w for w in self._waiters if w[0] > self._arrived]
        for _, event in due:
            event.set()

    def _note_stop(self) -> None:
        with self._lock:
            self.stopped += 1
            due = [w for w in self._stop_waiters if w[0] <= self.stopped]
            self._stop_waiters = [w for w in self._stop_waiters if w[0] > self.stopped]
        for _, event in due:
            event.set()

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(f.times for f in self._faults)

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self._faults.popleft()
            return fault

    # -- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> ModelServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def make_app(self) -> web.Application:
        app = web.Application()
        for path in ("/v1/chat/completions", "/chat/completions", "/v1/messages", "/v1/embeddings"):
            app.router.add_post(path, self._handle)
        return app

    def runner_options(self) -> dict[str, Any]:
        # handler_cancellation: a client that gave up (timeout) stops its handler, as in real
        # servers.
        return {**super().runner_options(), "handler_cancellation": True}

    # -- requests ---------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            return await self._respond(request)
        except (asyncio.CancelledError, ConnectionResetError):
            # The client gave up (its deadline passed) while this reply was slow or dripping.
            self._note_stop()
            raise
        finally:
            self._in_flight -= 1

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self._note_arrival()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if self._record:
            self.requests.append(
                RecordedRequest(request.method, request.path, dict(request.headers), body, raw)
            )
        fault = self._next_fault()
        if fault is None and self.chaos_plan is not None:
            fault = self._chaos_fault(self.chaos_plan.draw(raw))
        kind = fault.kind if fault is not None else self.mode
        delay_ms = fault.delay_ms if fault is not None and kind == "slow" else self._delay_ms(raw)
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000.0)
        openai = request.path.endswith(("/chat/completions", "/embeddings"))
        if kind == "status" and fault is not None:
            return self._error_reply(fault, request, openai)
        if kind == "canned" and fault is not None:
            return _json_reply(fault.body, fault.status, fault.headers)
        if kind == "reset":
            return _reset(request)
        if kind == "non_json":
            return web.Response(
                text="<html><body>502 Bad Gateway</body></html>", content_type="text/html"
            )
        if request.path.endswith("/embeddings"):
            data = _embeddings_answer(body if isinstance(body, dict) else {})
        else:
            data = self._answer(body if isinstance(body, dict) else {}, openai)
        if kind == "missing_usage":
            data.pop("usage", None)
        payload = json.dumps(data).encode()
        if kind == "truncated":
            return web.Response(body=payload[: len(payload) // 2], content_type="application/json")
        if kind == "short_body":
            return await _short_body(request, payload)
        if kind == "drip":
            chunk, pause_ms = (fault.chunk, fault.delay_ms) if fault is not None else (16, 1.0)
            return await _drip(request, payload, chunk, pause_ms / 1000.0)
        return web.Response(body=payload, content_type="application/json")

    def _chaos_fault(self, kind: str | None) -> Fault | None:
        if kind is None:
            return None
        if kind == "429_retry_after":
            return Fault("status", status=429, headers={"retry-after": "0"})
        if kind.isdigit():
            return Fault("status", status=int(kind))
        if kind == "timeout":
            return Fault("slow", delay_ms=self.chaos_timeout_ms)
        if kind == "drip":
            # Slow enough to arrive in many reads, quick enough to finish within a test deadline.
            return Fault("drip", delay_ms=1.0, chunk=64)
        return Fault(kind)

    def _delay_ms(self, raw: bytes) -> float:
        if not self.jitter_ms:
            return self.service_ms
        # Deterministic per request body, so a benchmark sees the same distribution each run.
        u = zlib.crc32(raw) / 2**32
        return max(0.0, self.service_ms + self.jitter_ms * (2.0 * u - 1.0))

    def _reply_for(self, text: str) -> str | ToolCall:
        for needle, reply in self.answers.items():
            if needle in text:
                return reply
        return text

    def _answer(self, body: Mapping[str, Any], openai: bool) -> dict[str, Any]:
        raw_messages = body.get("messages")
        messages: list[Any] = raw_messages if isinstance(raw_messages, list) else []
        texts = list(_texts(messages))
        last_user = next(
            (
                _text(m.get("content"))
                for m in reversed(messages)
                if isinstance(m, dict) and m.get("role") == "user"
            ),
            "",
        )
        reply = self._reply_for(last_user)
        reply_text = reply if isinstance(reply, str) else json.dumps(dict(reply.arguments))
        system = body.get("system")
        prompt_chars = sum(map(len, texts)) + (len(system) if isinstance(system, str) else 0)
        usage_in, usage_out = (
            max(1, math.ceil(prompt_chars / 4)),
            max(1, math.ceil(len(reply_text) / 4)),
        )
        raw_model = body.get("model")
        model = raw_model if isinstance(raw_model, str) else "fake"
        n = next(self._ids)
        if openai:
            return _openai_answer(n, model, reply, usage_in, usage_out)
        return _anthropic_answer(n, model, reply, usage_in, usage_out)

    def _error_reply(self, fault: Fault, request: web.Request, openai: bool) -> web.Response:
        body = fault.body
        if body is None:
            message = f"fake error {fault.status}"
            if fault.echo_headers:
                # Like servers that quote the credentials they rejected back to the caller.
                auth = request.headers.get("authorization") or request.headers.get("x-api-key", "")
                echoed = json.dumps(dict(request.headers))
                message = f"Incorrect API key provided: {auth}. Headers: {echoed}"
            etype = _ERROR_TYPES.get(
                fault.status, "api_error" if fault.status >= 500 else "invalid_request_error"
            )
            if openai:
                body = {"error": {"message": message, "type": etype, "param": None, "code": None}}
            else:
                body = {
                    "type": "error",
                    "error": {"type": etype, "message": message},
                    "request_id": "req_fake",
                }
        return _json_reply(body, fault.status, fault.headers)


def _json_reply(body: Any, status: int, headers: Mapping[str, str]) -> web.Response:
    kept = {k: v for k, v in headers.items() if k.lower() not in _DROPPED_HEADERS}
    if isinstance(body, str | bytes):
        data = body.encode() if isinstance(body, str) else body
        kept.setdefault("content-type", "text/plain")
    else:
        data = json.dumps(body).encode()
        kept["content-type"] = "application/json"
    return web.Response(body=data, status=status, headers=kept)


def _reset(request: web.Request) -> web.Response:
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger 0: closing sends RST instead of FIN, as a crashed proxy would.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    raise web.HTTPInternalServerError()  # never reaches the client: the socket is gone


async def _short_body(request: web.Request, payload: bytes) -> web.StreamResponse:
    response = web.StreamResponse(headers={"content-type": "application/json"})
    response.content_length = len(payload)
    await response.prepare(request)
    await response.write(payload[: len(payload) // 2])
    if request.transport is not None:
        request.transport.close()
    return response


async def _drip(
    request: web.Request, payload: bytes, chunk: int, pause_s: float
) -> web.StreamResponse:
    # Headers and Content-Length at once, then the body in pieces: a client whose only deadline
    # is per read never times out on this; one with a deadline for the whole exchange must.
    response = web.StreamResponse(headers={"content-type": "application/json"})
    response.content_length = len(payload)
    await response.prepare(request)
    for start in range(0, len(payload), max(1, chunk)):
        await response.write(payload[start : start + max(1, chunk)])
        await asyncio.sleep(pause_s)
    await response.write_eof()
    return response


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p.get("text", "")
            for p in content
            if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def _texts(messages: Sequence[Any]) -> Iterator[str]:
    for m in messages:
        if isinstance(m, dict):
            yield _text(m.get("content"))


def _openai_answer(
    n: int, model: str, reply: str | ToolCall, usage_in: int, usage_out: int
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "annotations": [],
    }
    if isinstance(reply, str):
        message["content"] = reply
        finish = "stop"
    else:
        message["tool_calls"] = [
            {
                "id": f"call_fake{n}",
                "type": "function",
                "function": {"name": reply.name, "arguments": json.dumps(dict(reply.arguments))},
            }
        ]
        finish = "tool_calls"
    return {
        "id": f"chatcmpl-fake{n}",
        "object": "chat.completion",
        "created": 1741569952,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": usage_in,
            "completion_tokens": usage_out,
            "total_tokens": usage_in + usage_out,
        },
        "service_tier": "default",
    }


def _embeddings_answer(body: Mapping[str, Any]) -> dict[str, Any]:
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else [str(t) for t in raw or ()]
    items = [
        {"object": "embedding", "index": i, "embedding": fake_embedding(t)}
        for i, t in enumerate(texts)
    ]
    tokens = sum(max(1, math.ceil(len(t) / 4)) for t in texts)
    return {
        "object": "list",
        "data": items[::-1],
        "model": body.get("model") or "fake",
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _anthropic_answer(
    n: int, model: str, reply: str | ToolCall, usage_in: int, usage_out: int
) -> dict[str, Any]:
    if isinstance(reply, str):
        content: list[dict[str, Any]] = [{"type": "text", "text": reply}]
        stop = "end_turn"
    else:
        content = [
            {
                "type": "tool_use",
                "id": f"toolu_fake{n}",
                "name": reply.name,
                "input": dict(reply.arguments),
            }
        ]
        stop = "tool_use"
    return {
        "model": model,
        "id": f"msg_fake{n}",
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": usage_in, "output_tokens": usage_out},
    }


async def _serve_until_signalled(server: ModelServer) -> None:
    await server.serve()
    print(f"listening on {server.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI/Anthropic model server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--service-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument(
        "--answer",
        action="append",
        default=[],
        metavar="NEEDLE=REPLY",
        help="reply REPLY to a last user message containing NEEDLE (e.g. a judge's JSON)",
    )
    args = parser.parse_args(argv)
    answers = dict(a.split("=", 1) for a in args.answer)
    server = ModelServer(
        args.service_ms,
        jitter_ms=args.jitter_ms,
        host=args.host,
        port=args.port,
        answers=answers,
        record=False,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_until_signalled(server))


if __name__ == "__main__":
    main()
