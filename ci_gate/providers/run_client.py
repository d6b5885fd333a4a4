"""The run's HTTP client: httpx's API for whoever holds it, and a direct aiohttp path for calls.

Providers, tests and judges hold an ``httpx.AsyncClient``; ``RunClient`` is one, sending through
httpx-aiohttp's transport. ``request_json`` (every model call) skips httpx's request and
response objects on it and sends through the same aiohttp session directly: those objects cost
about 0.2 ms of CPU a call, spent on the run's one event-loop thread while the other workers'
answers wait, so that it showed up as model latency. The direct path sends what the httpx path
sends (the client's default headers under the caller's, the same timeouts, no redirects, no
decompression by aiohttp) and decodes a compressed answer with httpx's own decoders, so both
paths give the same bytes and the same errors.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator, Mapping

import aiohttp
import httpx
import yarl
from httpx_aiohttp import AiohttpTransport

from ci_gate.providers import http_errors
from ci_gate.providers.base import ProviderError

# A response larger than this is not a model answer; refuse it instead of filling memory.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024


class _Session:
    """The one aiohttp session of a client, made at its first request: aiohttp binds it to the
    running event loop."""

    def __init__(self, context: ssl.SSLContext, limit: int, keepalive_s: float | None) -> None:
        self._context = context
        self._limit = limit
        self._keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._limit, keepalive_timeout=self._keepalive_s, ssl=self._context
            )
            # httpx decodes what the httpx path receives; the direct path does the same.
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class _Transport(AiohttpTransport):
    """httpx-aiohttp's transport on the client's session, which closing it closes too (a client
    used only through the direct path has never handed the session to the transport)."""

    def __init__(self, session: _Session, context: ssl.SSLContext, limits: httpx.Limits) -> None:
        super().__init__(verify=context, limits=limits, client=session.get)
        self._shared = session

    async def aclose(self) -> None:
        await super().aclose()
        await self._shared.close()


class RunClient(httpx.AsyncClient):
    """An httpx client whose ``exchange`` sends through its aiohttp session directly.

    Its default headers are read once, when it is made: ``exchange`` does not see later changes
    to ``client.headers`` (ci-gate makes none).
    """

    def __init__(self, max_connections: int, context: ssl.SSLContext) -> None:
        size = max(1, max_connections)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        self._session = _Session(context, size, limits.keepalive_expiry)
        super().__init__(
            transport=_Transport(self._session, context, limits),
            timeout=None,
            follow_redirects=False,
        )
        self._defaults = dict(self.headers.items())  # lower-case names

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        timeout_s: float,
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names, repeated ones joined as httpx joins them) and the
        decoded body; aiohttp's and httpx's exceptions go up untranslated."""
        taken = {name.lower() for name in headers}
        sent = {**{k: v for k, v in self._defaults.items() if k not in taken}, **headers}
        async with self._session.get().request(
            method,
            _aiohttp_url(url),
            headers=sent,
            data=content,
            allow_redirects=False,
            timeout=_timeouts(timeout_s),
        ) as response:
            status = response.status
            received: dict[str, str] = {}
            for name, value in response.headers.items():
                key = name.lower()
                received[key] = f"{received[key]}, {value}" if key in received else value
            length = response.content_length
            if length is not None and length <= MAX_RESPONSE_BYTES:
                raw = await response.read()
            else:  # read as the httpx path reads it: a server may end before what it announced
                raw = await read_limited(response.content.iter_any(), url, status)
        if "content-encoding" in received:
            encoded = httpx.Response(status, headers=received, stream=httpx.ByteStream(raw))
            raw = await read_limited(encoded.aiter_bytes(), url, status)
        return status, received, raw


async def read_limited(chunks: AsyncIterator[bytes], url: str, status: int) -> bytes:
    """The body from ``chunks``, refused once it is larger than MAX_RESPONSE_BYTES."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise too_large(url, status)
        parts.append(chunk)
    return b"".join(parts)


def too_large(url: str, status: int) -> ProviderError:
    return ProviderError(
        "bad_response",
        f"response from {http_errors.safe_url(url)} is larger than "
        f"{MAX_RESPONSE_BYTES // (1024 * 1024)} MiB",
        status=status,
    )


@functools.lru_cache(maxsize=1024)
def _aiohttp_url(url: str) -> yarl.URL:
    # Parsed and normalised by httpx, as the httpx path sends it (an invalid URL raises
    # httpx.InvalidURL there too); a run calls a handful of URLs.
    return yarl.URL(str(httpx.URL(url)), encoded=True)


@functools.lru_cache(maxsize=64)
def _timeouts(timeout_s: float) -> aiohttp.ClientTimeout:
    # What httpx-aiohttp's transport makes of httpx.Timeout(timeout_s): no total, which the
    # caller's deadline bounds.
    return aiohttp.ClientTimeout(sock_connect=timeout_s, sock_read=timeout_s, connect=timeout_s)
