"""The one place where httpx/aiohttp exceptions and HTTP statuses become ``ProviderError`` kinds.

Messages built here may end up in results files and PR comments, so they are made from parts we
choose (status, the error body's ``message`` field, the exception's class and text) and are always
passed through ``scrub``: request headers are never quoted, and anything that looks like a key,
or equals a secret the caller knows about, is replaced by ``***``.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp
import httpx

from ci_gate.providers.base import ErrorKind, ProviderError
from ci_gate.providers.scrubbing import excerpt


def safe_url(url: httpx.URL | str) -> str:
    """``scheme://host[:port]/path``: query strings and user info can carry credentials."""
    try:
        u = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError, ValueError):
        return "an invalid URL"
    port = f":{u.port}" if u.port else ""
    return f"{u.scheme}://{u.host}{port}{u.path}"


def body_message(body: bytes | str) -> str:
    """The error body's human message: OpenAI/Anthropic ``error.message``, else common fields,
    else the raw text."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return text
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            msg = err.get("message")
            if isinstance(msg, str):
                kind = err.get("type") or err.get("code")
                return f"{kind}: {msg}" if isinstance(kind, str) else msg
        if isinstance(err, str):
            return err
        for key in ("message", "detail", "title"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return text


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, ``Retry-After`` (seconds or HTTP-date) or
    OpenAI's ``x-ratelimit-reset-*`` durations (``1s``, ``6m0s``, ``20ms``); None when absent."""
    h = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in h:
        ms = _number(h["retry-after-ms"])
        if ms is not None:
            return ms / 1000.0
    if "retry-after" in h:
        raw = h["retry-after"].strip()
        seconds = _number(raw)
        if seconds is not None:
            return seconds
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is not None:
            current = time.time() if now is None else now
            return max(0.0, when.timestamp() - current)
    resets = [
        d
        for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")
        if name in h and (d := _duration(h[name])) is not None
    ]
    return max(resets) if resets else None


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def _duration(text: str) -> float | None:
    text = text.strip()
    plain = _number(text)
    if plain is not None:
        return plain
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * scale[u] for n, u in parts)


def status_kind(status: int) -> ErrorKind:
    if status == 429:
        return "rate_limited"
    if status == 408:
        return "timeout"
    if status >= 500:
        return "server_error"
    if 400 <= status < 500:
        return "client_error"
    return "bad_response"


def error_for_status(
    status: int, headers: Mapping[str, str], body: bytes, *, secrets: Iterable[str] = ()
) -> ProviderError:
    """The error for a non-2xx response, with the server's message excerpt and Retry-After."""
    kind = status_kind(status)
    detail = excerpt(body_message(body), secrets) if body else ""
    if 300 <= status < 400:
        where = excerpt(headers.get("location", ""), secrets)
        detail = f"redirect to {where!r} not followed; check the target's URL"
    message = f"HTTP {status}" + (f": {detail}" if detail else "")
    retry_after = parse_retry_after(headers) if kind in ("rate_limited", "server_error") else None
    return ProviderError(kind, message, status=status, retry_after_s=retry_after)


def timeout_error(timeout_s: float) -> ProviderError:
    return ProviderError(
        "timeout", f"no complete response within {timeout_s:g} s (raise timeout_s of the target)"
    )


def error_for_exception(
    exc: BaseException, *, url: httpx.URL | str, timeout_s: float, secrets: Iterable[str] = ()
) -> ProviderError | None:
    """The error for a failed exchange, or None when ``exc`` is not a transport failure.

    The aiohttp transport maps most aiohttp errors to ``httpx.ConnectTimeout`` (refused and
    reset connections included) and lets protocol errors through unmapped, so the original
    aiohttp exception (``__cause__``) decides first; ``request_json``'s direct path raises it
    as it is.
    """
    where = safe_url(url)
    cause = exc.__cause__ if isinstance(exc, httpx.HTTPError) else exc
    if isinstance(exc, asyncio.TimeoutError) or isinstance(cause, asyncio.TimeoutError):
        return timeout_error(timeout_s)
    # The same faults raised by aiohttp itself, on the direct path that skips httpx.
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL) or isinstance(
        cause, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError
    ):
        return ProviderError(
            "config", f"invalid URL {where} ({excerpt(str(exc), secrets)}); check the target's url"
        )
    if isinstance(cause, aiohttp.ClientError | OSError) or isinstance(exc, httpx.TransportError):
        if isinstance(exc, httpx.TimeoutException) and cause is None:
            return timeout_error(timeout_s)
        what = type(cause).__name__ if cause is not None else type(exc).__name__
        # ClientResponseError's repr carries the request headers and its str the full URL (whose
        # query may hold a token): only its message is shown.
        if isinstance(cause, aiohttp.ClientResponseError):
            detail = str(cause.message)
        else:
            detail = str(cause or exc)
        return ProviderError("connection", f"{what} talking to {where}: {excerpt(detail, secrets)}")
    if isinstance(exc, httpx.DecodingError):
        return ProviderError("bad_response", f"undecodable response from {where}")
    if isinstance(exc, httpx.HTTPError):
        return ProviderError("connection", f"{type(exc).__name__} talking to {where}")
    return None


def bad_json(body: bytes, *, where: str, secrets: Iterable[str] = ()) -> ProviderError:
    """The error for a 2xx body that is not JSON (HTML error pages, truncated documents)."""
    shown = excerpt(body.decode("utf-8", "replace"), secrets, limit=80)
    return ProviderError(
        "bad_response", f"response from {where} is not valid JSON ({len(body)} bytes): {shown!r}"
    )


def parse_json(body: bytes, *, url: str, secrets: Iterable[str] = ()) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        # The URL is made safe to show only here: parsing it again costs more than the JSON.
        raise bad_json(body, where=safe_url(url), secrets=secrets) from None
