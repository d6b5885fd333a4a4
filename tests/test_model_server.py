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

from ci_gate.providers.http_client import make_client
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
