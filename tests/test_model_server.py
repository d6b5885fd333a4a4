"""The fake model server: API-shaped answers, the fault plan, parallelism, and the standalone
process the benchmarks start."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from ci_gate.providers.base import ProviderError
from ci_gate.providers.http_client import make_client, request_json
from tests.fakes.model_chaos import CHAOS_KINDS, Draw
from tests.fakes.model_server import Fault, ModelServer, ToolCall

REPO = Path(__file__).parents[1]
DATA = REPO.parent / "shared" / "data"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello!"}]}


def post(url: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    with httpx.Client(timeout=10) as client:
        return client.post(url, json=body, headers=headers or {})


def keys(data: dict[str, Any]) -> set[str]:
    return set(data)


def test_openai_answer_has_the_api_shape() -> None:
    example = json.loads((DATA / "openai" / "example-response.default.json").read_text())
    with ModelServer() as server:
        for path in ("/v1/chat/completions", "/chat/completions"):
            data = post(server.url + path, CHAT).json()
            assert keys(data) == keys(example)
            assert keys(data["choices"][0]) == keys(example["choices"][0])
            assert keys(data["choices"][0]["message"]) == keys(example["choices"][0]["message"])
            assert data["choices"][0]["message"]["content"] == "Hello!"
            assert data["model"] == "gpt-4o-mini"
            assert data["usage"] == {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}


def test_anthropic_answer_has_the_api_shape() -> None:
    example = json.loads((DATA / "anthropic" / "message-response.example.json").read_text())
    body = {
        "model": "claude-x",
        "max_tokens": 10,
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}],
            }
        ],
    }
    with ModelServer() as server:
        data = post(server.url + "/v1/messages", body).json()
    assert keys(data) == keys(example)
    assert data["content"] == [{"type": "text", "text": "Hi there"}]
    assert data["stop_reason"] == "end_turn"
    assert data["usage"] == {"input_tokens": 2, "output_tokens": 2}  # ceil(len("Hi there") / 4)


def test_requests_are_recorded_and_unknown_routes_are_404() -> None:
    with ModelServer() as server:
        post(server.url + "/v1/chat/completions", CHAT, {"X-Team": "bots"})
        assert post(server.url + "/v1/completions", CHAT).status_code == 404
        [recorded] = server.requests
    assert recorded.method == "POST"
    assert recorded.path == "/v1/chat/completions"
    assert recorded.headers["X-Team"] == "bots"
    assert recorded.body == CHAT
    assert json.loads(recorded.raw) == CHAT


def test_fail_n_times_then_succeed() -> None:
    with ModelServer() as server:
        server.fail(503, times=2)
        assert server.pending == 2
        statuses = [post(server.url + "/v1/messages", CHAT).status_code for _ in range(4)]
        assert server.pending == 0
    assert statuses == [503, 503, 200, 200]


def test_error_bodies_follow_each_api() -> None:
    with ModelServer() as server:
        server.fail(400, times=2)
        openai = post(server.url + "/v1/chat/completions", CHAT).json()
        anthropic = post(server.url + "/v1/messages", CHAT).json()
    assert openai["error"]["type"] == "invalid_request_error"
    assert anthropic["type"] == "error"
    assert anthropic["error"]["type"] == "invalid_request_error"


def test_rate_limit_with_retry_after() -> None:
    with ModelServer() as server:
        server.rate_limit(times=1, retry_after="3")
        limited = post(server.url + "/v1/messages", CHAT)
        ok = post(server.url + "/v1/messages", CHAT)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "3"
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert ok.status_code == 200


def test_persistent_mode_and_one_shot_faults() -> None:
    with ModelServer() as server:
        server.mode = "missing_usage"
        server.push(Fault("non_json"), Fault("truncated"))
        html = post(server.url + "/chat/completions", CHAT)
        cut = post(server.url + "/chat/completions", CHAT)
        bare = post(server.url + "/chat/completions", CHAT).json()
    assert html.headers["content-type"].startswith("text/html")
    assert cut.status_code == 200
    assert cut.content.startswith(b'{"id"')
    assert not cut.content.endswith(b"}")
    assert "usage" not in bare


def test_echo_headers_puts_the_credentials_in_the_error_body() -> None:
    with ModelServer() as server:
        server.fail(401, echo_headers=True)
        resp = post(server.url + "/v1/chat/completions", CHAT, {"Authorization": "Bearer sk-x1"})
    assert "Bearer sk-x1" in resp.json()["error"]["message"]


def test_canned_answers_and_tool_calls() -> None:
    answers: dict[str, str | ToolCall] = {
        "refund": "30 days.",
        "weather": ToolCall("get_weather", {"city": "SF"}),
    }
    with ModelServer(answers=answers) as server:
        chat: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "refund?"}]}
        text = post(server.url + "/v1/chat/completions", chat).json()
        chat["messages"] = [{"role": "user", "content": "weather?"}]
        tool = post(server.url + "/v1/chat/completions", chat).json()
        anthropic_tool = post(server.url + "/v1/messages", chat).json()
    assert text["choices"][0]["message"]["content"] == "30 days."
    call = tool["choices"][0]["message"]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"city": "SF"}
    assert tool["choices"][0]["finish_reason"] == "tool_calls"
    assert anthropic_tool["content"][0]["input"] == {"city": "SF"}
    assert anthropic_tool["stop_reason"] == "tool_use"


def test_request_arrived_signals_the_nth_request_while_it_is_in_flight() -> None:
    async def scenario(server: ModelServer) -> list[int]:
        third = server.request_arrived(3)
        assert server.request_arrived(0).is_set()
        async with make_client(4) as client:
            calls = [
                asyncio.create_task(client.post(server.url + "/v1/messages", json=CHAT, timeout=30))
                for _ in range(3)
            ]
            # The third request hangs in the server; the event says it got there.
            assert await asyncio.to_thread(third.wait, 10)
            assert not calls[2].done()
            calls[2].cancel()
            done = await asyncio.gather(*calls[:2])
            await asyncio.gather(calls[2], return_exceptions=True)
        return [r.status_code for r in done]

    with ModelServer() as server:
        server.push(Fault("ok", 2), Fault("slow", 1, delay_ms=60_000))
        assert asyncio.run(scenario(server)) == [200, 200]
        assert len(server.requests) == 3


def test_slow_fault_and_service_time() -> None:
    with ModelServer(service_ms=0) as server:
        server.push(Fault("slow", delay_ms=300))
        started = time.perf_counter()
        post(server.url + "/v1/messages", CHAT)
        slow = time.perf_counter() - started
        started = time.perf_counter()
        post(server.url + "/v1/messages", CHAT)
        fast = time.perf_counter() - started
    assert slow >= 0.3
    assert fast < slow


async def _burst(url: str, max_connections: int, n: int) -> list[int]:
    async with make_client(max_connections) as client:
        replies = await asyncio.gather(*(client.post(url, json=CHAT, timeout=10) for _ in range(n)))
    return [r.status_code for r in replies]


def test_client_pool_lets_every_request_run_at_once() -> None:
    with ModelServer(service_ms=300) as server:
        statuses = asyncio.run(_burst(server.url + "/v1/chat/completions", 32, 32))
        assert server.max_in_flight == 32
    assert statuses == [200] * 32
    with ModelServer(service_ms=100) as server:
        asyncio.run(_burst(server.url + "/v1/chat/completions", 4, 12))
        assert server.max_in_flight == 4  # the pool size is the limit, nothing beyond it


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_standalone_process_serves_fast() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.model_server", "--port", "0", "--service-ms", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.removeprefix("listening on ")
        before = _cpu_seconds(proc.pid)

        async def load() -> list[int]:
            sem = asyncio.Semaphore(32)
            async with make_client(32) as client:

                async def one() -> int:
                    async with sem:
                        reply = await client.post(
                            url + "/v1/chat/completions", json=CHAT, timeout=10
                        )
                        return reply.status_code

                return await asyncio.gather(*(one() for _ in range(1000)))

        statuses = asyncio.run(load())
        server_cpu = _cpu_seconds(proc.pid) - before
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert statuses == [200] * 1000
    assert server_cpu < 1.0
    assert proc.returncode == 0  # SIGTERM is a clean stop


async def _call(url: str, timeout_s: float) -> tuple[Any, float]:
    async with make_client(2) as client:
        started = time.perf_counter()
        try:
            reply = await request_json(
                client, "POST", url, headers={}, body=CHAT, timeout_s=timeout_s
            )
        except ProviderError as exc:
            return exc, time.perf_counter() - started
        return reply.body, time.perf_counter() - started


def test_drip_sends_the_whole_body_slowly() -> None:
    with ModelServer() as server:
        server.push(Fault("drip", delay_ms=5, chunk=32))
        body, took = asyncio.run(_call(server.url + "/v1/chat/completions", 10))
        size = len(server.requests[0].raw)  # the answer is longer than the request it echoes
    assert body["choices"][0]["message"]["content"] == "Hello!"
    assert took >= 5 / 1000 * (size // 32)  # one pause per chunk: it really came in pieces


def test_drip_past_the_deadline_times_out_and_stops_the_handler() -> None:
    with ModelServer() as server:
        # ~600 bytes, 8 at a time, 20 ms apart: 1.5 s, each read well within any per-read timeout.
        server.push(Fault("drip", delay_ms=20, chunk=8))
        error, took = asyncio.run(_call(server.url + "/v1/chat/completions", 0.2))
        assert server.handler_stopped(1).wait(5)
    assert isinstance(error, ProviderError) and error.kind == "timeout"
    assert 0.2 <= took < 1.0


def _chaos_draws(seed: int, bodies: list[bytes]) -> list[Draw]:
    with ModelServer() as server:
        server.chaos_timeout_ms = 0  # nothing here waits for a timeout
        plan = server.chaos(rate=0.5, seed=seed, kinds=["500", "503", "missing_usage"])
        with httpx.Client(timeout=10) as client:
            for raw in bodies:
                client.post(server.url + "/v1/messages", content=raw)
    return plan.draws


def test_chaos_is_reproducible_per_body_and_repeat_not_per_arrival_order() -> None:
    bodies = [json.dumps({**CHAT, "n": i}).encode() for i in range(40)] * 2  # each body twice
    first = _chaos_draws(7, bodies)
    again = _chaos_draws(7, bodies[::-1])  # other order: the n-th repeat of a body decides
    other = _chaos_draws(8, bodies)
    assert sorted(first, key=repr) == sorted(again, key=repr)
    assert sorted(first, key=repr) != sorted(other, key=repr)
    assert {d.nth for d in first} == {0, 1}
    kinds = [d.kind for d in first]
    assert 20 <= sum(k is not None for k in kinds) <= 60  # rate 0.5 of 80
    assert {k for k in kinds if k is not None} == {"500", "503", "missing_usage"}


def test_each_chaos_kind_does_what_it_says() -> None:
    seen: dict[str, Any] = {}
    with ModelServer() as server, httpx.Client(timeout=10) as client:
        for kind in CHAOS_KINDS:
            if kind == "timeout":
                continue  # its own test below
            server.chaos(rate=1.0, seed=1, kinds=[kind])
            try:
                resp = client.post(server.url + "/v1/chat/completions", json=CHAT)
                seen[kind] = (resp.status_code, resp.headers.get("retry-after"), resp.content)
            except httpx.TransportError as exc:
                seen[kind] = type(exc).__name__
    assert seen["429_retry_after"][:2] == (429, "0")
    assert seen["429"][:2] == (429, None)
    assert [seen[s][0] for s in ("500", "502", "503")] == [500, 502, 503]
    assert seen["reset"] in ("ReadError", "RemoteProtocolError")
    assert seen["short_body"] == "RemoteProtocolError"
    assert seen["non_json"][0] == 200 and seen["non_json"][2].startswith(b"<html>")
    assert seen["truncated"][0] == 200 and not seen["truncated"][2].endswith(b"}")
    assert "usage" not in json.loads(seen["missing_usage"][2])
    assert json.loads(seen["drip"][2])["usage"]["total_tokens"] == 4


def test_chaos_timeout_outlasts_the_client_and_its_handler_is_cancelled() -> None:
    with ModelServer() as server:
        server.chaos(rate=1.0, seed=0, kinds=["timeout"])
        error, took = asyncio.run(_call(server.url + "/v1/chat/completions", 0.2))
        assert server.handler_stopped(1).wait(5)  # no handler left sleeping its 60 s
    assert isinstance(error, ProviderError) and error.kind == "timeout"
    assert took < 1.0
