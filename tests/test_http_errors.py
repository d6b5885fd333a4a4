"""http_errors: statuses, Retry-After, scrubbing, and transport failures through the real client."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

import aiohttp
import httpx
import pytest

from ci_gate.providers import http_errors, scrubbing
from ci_gate.providers.base import ProviderError
from ci_gate.providers.http_client import make_client, request_json
from tests.fakes.model_server import Fault, ModelServer

DATA = Path(__file__).parents[1].parent / "shared" / "data"
KEY = "sk-proj-TESTKEY0123456789abcdef"


# -- Retry-After --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"x-ratelimit-reset-requests": "6m0s"}, 360.0),
        ({"x-ratelimit-reset-requests": "20ms", "x-ratelimit-reset-tokens": "1.5s"}, 1.5),
        ({"retry-after": "-3"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        ({"x-ratelimit-reset-requests": "1s garbage"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert http_errors.parse_retry_after(headers) == expected


def test_parse_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    when = format_datetime(datetime.fromtimestamp(now + 42, tz=timezone.utc), usegmt=True)
    assert http_errors.parse_retry_after({"Retry-After": when}, now=now) == pytest.approx(42.0)
    past = format_datetime(datetime.fromtimestamp(now - 100, tz=timezone.utc), usegmt=True)
    assert http_errors.parse_retry_after({"Retry-After": past}, now=now) == 0.0


# -- statuses -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, "rate_limited"),
        (500, "server_error"),
        (503, "server_error"),
        (529, "server_error"),
        (408, "timeout"),
        (400, "client_error"),
        (401, "client_error"),
        (404, "client_error"),
        (301, "bad_response"),
    ],
)
def test_status_kinds(status: int, kind: str) -> None:
    err = http_errors.error_for_status(status, {}, b"")
    assert err.kind == kind
    assert err.status == status
    assert err.message.startswith(f"HTTP {status}")


def test_anthropic_429_body_and_retry_after() -> None:
    body = (DATA / "anthropic" / "error-429-rate_limit_error.example.json").read_bytes()
    err = http_errors.error_for_status(429, {"retry-after": "3"}, body)
    assert err.kind == "rate_limited"
    assert err.retryable
    assert err.retry_after_s == 3.0
    assert err.message.startswith("HTTP 429: rate_limit_error: This request would exceed")
    assert len(err.message) <= len("HTTP 429: ") + scrubbing.EXCERPT_CHARS


def test_anthropic_400_body_is_a_client_error_with_the_message() -> None:
    body = (DATA / "anthropic" / "error-400-invalid_request_error.example.json").read_bytes()
    err = http_errors.error_for_status(400, {"retry-after": "3"}, body)
    assert err.kind == "client_error"
    assert not err.retryable
    assert err.retry_after_s is None  # only meaningful for retryable statuses
    assert "invalid_request_error: messages.0.content.1" in err.message


def test_openai_error_body_and_plain_text_bodies() -> None:
    openai = json.dumps({"error": {"message": "Invalid model", "type": "invalid_request_error"}})
    assert (
        "invalid_request_error: Invalid model"
        in http_errors.error_for_status(400, {}, openai.encode()).message
    )
    assert http_errors.error_for_status(502, {}, b"<html>Bad\ngateway</html>").message == (
        "HTTP 502: <html>Bad gateway</html>"
    )
    detail = json.dumps({"detail": "Not authenticated"}).encode()
    assert http_errors.error_for_status(403, {}, detail).message == "HTTP 403: Not authenticated"


def test_redirects_are_reported_as_a_configuration_hint() -> None:
    err = http_errors.error_for_status(307, {"location": "https://other.example/v1"}, b"")
    assert err.kind == "bad_response"
    assert "not followed" in err.message
    assert "https://other.example/v1" in err.message


# -- scrubbing ----------------------------------------------------------------------------------
def test_scrub_hides_keys_known_and_unknown() -> None:
    secret = "my-own-service-token-xyz"
    text = (
        f"bad key {KEY}; header Authorization: Bearer abc.def-ghi;"
        f" x-api-key: sk-ant-api03-zzzzzzzz; token={secret} and again {secret};"
        " gh ghp_abcdefghijklmnop"
    )
    clean = scrubbing.scrub(text, [secret])
    for leaked in (KEY, "abc.def-ghi", "sk-ant", secret, "ghp_abcdefghijklmnop"):
        assert leaked not in clean
    assert clean.startswith("bad key ***")


def test_scrub_leaves_ordinary_text_and_short_secrets_alone() -> None:
    text = 'usage {"prompt_tokens": 19, "max_tokens": 300} took 2 s'
    assert scrubbing.scrub(text, ["2", ""]) == text


def test_excerpt_is_one_short_line() -> None:
    text = "line one\nline two\t" + "x" * 1000
    out = scrubbing.excerpt(text, limit=50)
    assert len(out) == 50
    assert "\n" not in out
    assert out.endswith("...")


def test_error_message_never_contains_the_key_echoed_by_the_server() -> None:
    body = json.dumps(
        {
            "error": {
                "message": f"Incorrect API key provided: {KEY[:3]}{KEY[3:]}",
                "headers": {"authorization": f"Bearer {KEY}"},
            }
        }
    ).encode()
    err = http_errors.error_for_status(401, {}, body, secrets=[KEY])
    assert KEY not in err.message
    assert KEY not in str(err)


def test_safe_url_drops_query_and_userinfo() -> None:
    url = "https://user:pw@api.example.com:8443/v1/chat?key=secret"
    assert http_errors.safe_url(url) == "https://api.example.com:8443/v1/chat"


# -- exceptions ---------------------------------------------------------------------------------
def test_exception_kinds_without_a_server() -> None:
    url = "http://127.0.0.1:1/x"

    def kind(exc: BaseException) -> str | None:
        err = http_errors.error_for_exception(exc, url=url, timeout_s=2)
        return None if err is None else err.kind

    assert kind(httpx.ReadTimeout("slow")) == "timeout"
    assert kind(asyncio.TimeoutError()) == "timeout"
    assert kind(httpx.RemoteProtocolError("bad")) == "connection"
    assert kind(httpx.ReadError("eof")) == "connection"
    assert kind(aiohttp.ServerDisconnectedError()) == "connection"
    assert kind(httpx.UnsupportedProtocol("ftp")) == "config"
    assert kind(ValueError("not ours")) is None

    mapped = httpx.ConnectTimeout("Server disconnected")  # how the aiohttp transport maps it
    mapped.__cause__ = aiohttp.ServerDisconnectedError()
    assert kind(mapped) == "connection"
    timed = httpx.ConnectTimeout("Connection timeout")
    timed.__cause__ = aiohttp.ConnectionTimeoutError()
    assert kind(timed) == "timeout"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def _post(url: str, timeout_s: float) -> ProviderError:
    async with make_client(4) as client:
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        with pytest.raises(ProviderError) as info:
            await request_json(
                client, "POST", url, headers={}, body=body, timeout_s=timeout_s, secrets=[KEY]
            )
    return info.value


def test_refused_connection_is_a_connection_error_not_a_timeout() -> None:
    err = asyncio.run(_post(f"http://127.0.0.1:{_free_port()}/v1/chat/completions", 2.0))
    assert err.kind == "connection"
    assert "ClientConnectorError" in err.message


def test_per_request_timeout_is_honoured_by_the_aiohttp_transport() -> None:
    with ModelServer(service_ms=3000) as server:
        started = time.perf_counter()
        err = asyncio.run(_post(f"{server.url}/v1/chat/completions", 0.3))
        elapsed = time.perf_counter() - started
    assert err.kind == "timeout"
    assert "0.3 s" in err.message
    assert elapsed < 2.0


async def _trickle(writer: asyncio.StreamWriter, stop: asyncio.Event) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
    )
    while not stop.is_set():
        writer.write(b" ")
        await writer.drain()
        await asyncio.sleep(0.05)


def test_timeout_bounds_the_whole_exchange_even_when_bytes_trickle() -> None:
    # Each read gets a byte within the transport's per-read timeout; only a total bound stops it.
    async def scenario() -> tuple[ProviderError, float]:
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            tasks.append(asyncio.current_task())  # type: ignore[arg-type]
            try:
                await _trickle(writer, stop)
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        started = time.perf_counter()
        err = await _post(f"http://127.0.0.1:{port}/", 0.4)
        elapsed = time.perf_counter() - started
        stop.set()
        server.close()
        await server.wait_closed()
        return err, elapsed

    err, elapsed = asyncio.run(scenario())
    assert err.kind == "timeout"
    assert elapsed < 2.0


def test_a_reply_that_is_not_http_is_a_connection_error() -> None:
    # The aiohttp transport lets this aiohttp error through unmapped; we still translate it.
    async def scenario() -> ProviderError:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"NOT HTTP AT ALL\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        err = await _post(f"http://127.0.0.1:{port}/x?key={KEY}", 2.0)
        server.close()
        await server.wait_closed()
        return err

    err = asyncio.run(scenario())
    assert err.kind == "connection"
    assert "ClientResponseError" in err.message
    assert "Expected HTTP" in err.message
    assert "key=" not in err.message  # the URL's query is never shown


@pytest.mark.parametrize(
    ("mode", "kind"),
    [
        ("reset", "connection"),
        ("short_body", "connection"),
        ("truncated", "bad_response"),
        ("non_json", "bad_response"),
    ],
)
def test_broken_replies_through_the_real_client(mode: str, kind: str) -> None:
    with ModelServer() as server:
        server.push(Fault(mode))
        err = asyncio.run(_post(f"{server.url}/v1/chat/completions", 5.0))
    assert err.kind == kind
    assert err.retryable == (kind == "connection")


def test_echoed_credentials_never_reach_the_message_through_the_real_client() -> None:
    async def scenario(url: str) -> ProviderError:
        async with make_client(2) as client:
            with pytest.raises(ProviderError) as info:
                await request_json(
                    client,
                    "POST",
                    url,
                    headers={"authorization": f"Bearer {KEY}", "x-api-key": KEY},
                    body={"a": 1},
                    timeout_s=5,
                    secrets=[KEY],
                )
        return info.value

    with ModelServer() as server:
        server.fail(401, echo_headers=True)
        err = asyncio.run(scenario(f"{server.url}/v1/messages"))
        echoed = server.requests[0].headers
    assert KEY in json.dumps(dict(echoed))  # the server did receive (and echo) it
    assert err.kind == "client_error"
    assert "Incorrect API key provided" in err.message
    assert KEY not in err.message
    assert "TESTKEY" not in err.message
