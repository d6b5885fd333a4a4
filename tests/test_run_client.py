"""The run's client: request_json's direct aiohttp path sends and receives what httpx's path does.

Each test makes the same call both ways: through ``make_client`` (the direct path) and through a
plain httpx client over httpx-aiohttp's transport (the httpx path, as any other httpx client).
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from httpx_aiohttp import AiohttpTransport

from ci_gate.providers.base import ProviderError
from ci_gate.providers.http_client import JsonReply, make_client, request_json
from ci_gate.providers.run_client import MAX_RESPONSE_BYTES, RunClient
from tests.fakes.model_server import ModelServer

BODY = {"model": "m", "messages": [{"role": "user", "content": "héllo"}], "temperature": 0}
ANSWER = {"choices": [{"message": {"content": "fine"}}]}
Reply = Callable[[asyncio.StreamWriter], Awaitable[None]]


def _clients() -> list[httpx.AsyncClient]:
    return [make_client(2), httpx.AsyncClient(transport=AiohttpTransport())]


async def _call(client: httpx.AsyncClient, url: str, **extra: Any) -> JsonReply:
    headers = {"authorization": "Bearer k", "User-Agent": "team-agent/1"}
    async with client:
        return await request_json(
            client, "POST", url, headers=headers, body=BODY, timeout_s=10, **extra
        )


async def _error(client: httpx.AsyncClient, url: str) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        await _call(client, url)
    return info.value


@asynccontextmanager
async def _raw_server(reply: Reply) -> AsyncIterator[str]:
    """A server that reads one request's head and answers with ``reply``'s bytes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (int(line.split(b":")[1]) for line in head.split(b"\r\n") if
                 line.lower().startswith(b"content-length:")),
                0,
            )  # fmt: skip
            await reader.readexactly(length)
            await reply(writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/chat/completions"
    finally:
        server.close()
        await server.wait_closed()


def _answer(body: bytes, *headers: str) -> Reply:
    async def reply(writer: asyncio.StreamWriter) -> None:
        lines = ["HTTP/1.1 200 OK", f"Content-Length: {len(body)}", *headers, "", ""]
        writer.write("\r\n".join(lines).encode() + body)
        await writer.drain()

    return reply


def test_both_paths_send_the_same_request() -> None:
    with ModelServer() as server:
        replies = [asyncio.run(_call(c, f"{server.url}/v1/chat/completions")) for c in _clients()]
        direct, plain = server.requests
    assert isinstance(_clients()[0], RunClient)
    assert direct.headers == plain.headers
    assert direct.headers["User-Agent"] == "team-agent/1"  # the caller's, over the default
    assert direct.raw == plain.raw and json.loads(direct.raw) == BODY
    assert replies[0].body["choices"] == replies[1].body["choices"]  # the ids count requests
    assert replies[0].status == 200 and replies[0].headers.keys() == replies[1].headers.keys()


def test_compressed_answers_and_repeated_headers_are_read_alike() -> None:
    packed = gzip.compress(json.dumps(ANSWER).encode())
    reply = _answer(packed, "Content-Encoding: gzip", "X-Trace: a", "x-trace: b")

    async def scenario() -> list[JsonReply]:
        async with _raw_server(reply) as url:
            return [await _call(c, url) for c in _clients()]

    direct, plain = asyncio.run(scenario())
    assert direct.body == plain.body == ANSWER
    assert direct.headers == plain.headers
    assert direct.headers["x-trace"] == "a, b"


def test_an_undecodable_answer_is_the_same_error() -> None:
    reply = _answer(b"not gzip at all", "Content-Encoding: gzip")

    async def scenario() -> list[ProviderError]:
        async with _raw_server(reply) as url:
            return [await _error(c, url) for c in _clients()]

    direct, plain = asyncio.run(scenario())
    assert (direct.kind, direct.message) == (plain.kind, plain.message)
    assert direct.kind == "bad_response" and "undecodable" in direct.message


@pytest.mark.parametrize(
    ("how", "kind"),
    [("announced", "bad_response"), ("chunked", "bad_response"), ("cut short", "connection")],
)
def test_an_answer_too_large_is_refused_alike(how: str, kind: str) -> None:
    piece = b"x" * (1024 * 1024)
    pieces = MAX_RESPONSE_BYTES // len(piece) + 1

    async def reply(writer: asyncio.StreamWriter) -> None:
        if how == "chunked":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (pieces * len(piece)))
        if how == "cut short":  # the announced length alone is not a reason to refuse it
            writer.write(piece)
            await writer.drain()
            return
        for _ in range(pieces):  # the client hangs up once it has seen too much
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if how == "chunked" else piece)
            await writer.drain()

    async def scenario() -> list[ProviderError]:
        async with _raw_server(reply) as url:
            return [await _error(c, url) for c in _clients()]

    direct, plain = asyncio.run(scenario())
    assert (direct.kind, direct.message) == (plain.kind, plain.message)
    assert direct.kind == kind
    if kind == "bad_response":
        assert "larger than 32 MiB" in direct.message


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "http://[::1/x"])
def test_a_url_no_client_can_call_is_a_configuration_error_on_both_paths(url: str) -> None:
    direct, plain = (asyncio.run(_error(c, url)) for c in _clients())
    assert direct.kind == plain.kind == "config"
    assert direct.message == plain.message


def test_both_paths_share_one_pool_of_the_clients_size() -> None:
    async def scenario(url: str) -> list[int]:
        async with make_client(1) as client:
            direct = request_json(client, "POST", url, headers={}, body=BODY, timeout_s=10)
            replies = await asyncio.gather(direct, client.post(url, json=BODY, timeout=10))
        return [replies[0].status, replies[1].status_code]

    with ModelServer(service_ms=100) as server:
        assert asyncio.run(scenario(f"{server.url}/v1/chat/completions")) == [200, 200]
        assert server.max_in_flight == 1  # one connection for both: the pool is shared


def test_a_client_used_only_by_request_json_closes_its_session() -> None:
    async def scenario(url: str) -> None:
        client = make_client(2)
        await request_json(client, "POST", url, headers={}, body=BODY, timeout_s=10)
        await client.aclose()
        async with make_client(2) as other:
            await request_json(other, "POST", url, headers={}, body=BODY, timeout_s=10)

    with ModelServer() as server, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(scenario(f"{server.url}/v1/chat/completions"))
        gc.collect()  # an unclosed aiohttp session warns when it is collected
    assert [str(w.message) for w in caught] == []
