"""The shared HTTP client of a run, and the one way providers make a JSON call with it.

httpx's default async transport adds up to ~0.8 s of client-side p99 latency at concurrency 32 on
a 2-core runner, which would be measured as the model's latency; aiohttp's transport behind the
httpx API does not, and ``request_json`` sends through aiohttp directly on the client
``make_client`` makes (see ``run_client``). The client binds to the event loop of its first
request: create it and use it inside one ``asyncio.run``.
"""

from __future__ import annotations

import functools
import json
import re
import ssl
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from ci_gate.deadline import within
from ci_gate.errors import ProviderConfigError
from ci_gate.providers import http_errors
from ci_gate.providers.base import ProviderError
from ci_gate.providers.run_client import RunClient, read_limited

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


# Parsing a URL costs more than the rest of building a request; a run calls a handful of URLs.
_parsed_url = functools.lru_cache(maxsize=1024)(httpx.URL)


def tls_context_soon() -> Future[ssl.SSLContext]:
    """Start building the TLS context (loading the CA bundle takes ~20 ms) in a thread, so that
    it overlaps with loading the suite instead of delaying the first call."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ci-gate-tls")
    future = pool.submit(httpx.create_ssl_context)
    pool.shutdown(wait=False)
    return future


def make_client(max_connections: int, tls: Future[ssl.SSLContext] | None = None) -> RunClient:
    """One client for a whole run, with room for ``max_connections`` concurrent requests.

    No client-level timeout: each provider passes its target's ``timeout_s`` per request.
    Redirects are not followed (a redirected API call is a configuration problem to report).
    Certificates are always verified.
    """
    context = tls.result() if tls is not None else httpx.create_ssl_context()
    return RunClient(max_connections, context)


@dataclass(frozen=True)
class JsonReply:
    """A 2xx JSON answer; ``latency_ms`` covers sending the request and reading the body."""

    status: int
    headers: Mapping[str, str]
    body: Any
    latency_ms: float


def encode_json(value: Any, *, what: str) -> bytes:
    """Compact ASCII JSON: escapes keep lone surrogates from case data encodable."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("ascii")
    except (TypeError, ValueError) as exc:
        raise ProviderError("config", f"cannot send {what} as JSON: {exc}") from None


async def request_json(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    body: Any = None,
    timeout_s: float,
    secrets: Iterable[str] = (),
) -> JsonReply:
    """Send ``body`` as JSON (None: no body) and return the parsed JSON answer.

    Raises ``ProviderError`` for every failure. ``timeout_s`` bounds the whole exchange: the
    transport's own timeouts are per read, so a server trickling bytes would otherwise never
    time out.
    """
    secrets = tuple(secrets)
    _check_headers(headers)
    content = None if body is None else encode_json(body, what="the request body")
    defaults = {"accept": "application/json"}
    if content is not None:
        defaults["content-type"] = "application/json"
    all_headers = merge_headers(defaults, headers)
    started = time.perf_counter()
    try:
        if isinstance(client, RunClient):
            exchange = client.exchange(method, url, all_headers, content, timeout_s)
        else:  # any other httpx client, such as a test's over httpx.MockTransport
            exchange = _exchange(client, method, url, all_headers, content, timeout_s)
        status, resp_headers, raw = await within(exchange, timeout_s)
    except ProviderError:
        raise
    except Exception as exc:
        error = http_errors.error_for_exception(exc, url=url, timeout_s=timeout_s, secrets=secrets)
        if error is None:
            raise
        raise error from None
    latency_ms = (time.perf_counter() - started) * 1000.0
    if not 200 <= status < 300:
        raise http_errors.error_for_status(status, resp_headers, raw, secrets=secrets)
    data = http_errors.parse_json(raw, url=url, secrets=secrets)
    return JsonReply(status, resp_headers, data, latency_ms)


def _check_headers(headers: Mapping[str, str]) -> None:
    """Header values rendered from case data must not inject headers or break the encoding.

    The value is never quoted: it may hold a secret.
    """
    for name, value in headers.items():
        for text in (name, value):
            if not text.isascii() or _HEADER_FORBIDDEN.search(text):
                raise ProviderError(
                    "config",
                    f"header {_printable(name)!r} cannot be sent: it contains a line break, "
                    "a control character or a non-ASCII character",
                )


def _printable(name: str) -> str:
    return _HEADER_FORBIDDEN.sub("?", name)[:60]


async def _exchange(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: Mapping[str, str],
    content: bytes | None,
    timeout_s: float,
) -> tuple[int, dict[str, str], bytes]:
    request = client.build_request(
        method, _parsed_url(url), headers=headers, content=content, timeout=httpx.Timeout(timeout_s)
    )
    response = await client.send(request, stream=True)
    try:
        raw = await read_limited(response.aiter_bytes(), url, response.status_code)
    finally:
        await response.aclose()
    return response.status_code, dict(response.headers), raw


def require_env(env: Mapping[str, str], name: str, *, target_id: str, hint: str) -> str:
    """The value of env var ``name``, or a one-line ProviderConfigError ending with ``hint``."""
    value = env.get(name, "")
    if not value:
        raise ProviderConfigError(
            f"target {target_id}: environment variable {name} is not set ({hint})"
        )
    return value


def api_key(
    options: Mapping[str, Any], env: Mapping[str, str], default: str, *, target_id: str
) -> str:
    """The API key from the env var named by ``api_key_env`` (default ``default``)."""
    name = api_key_var(options, default, target_id=target_id)
    hint = f"export {name}=... or set api_key_env in targets[{target_id}]"
    return require_env(env, name, target_id=target_id, hint=hint)


def api_key_var(options: Mapping[str, Any], default: str, *, target_id: str) -> str:
    """``api_key_env`` checked to be a variable name: a key pasted there must not be echoed."""
    name = options.get("api_key_env") or default
    if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
        raise ProviderConfigError(
            f"target {target_id}: api_key_env must name an environment variable "
            f"(like {default}), not hold the key itself"
        )
    return name


def string_headers(value: Any) -> dict[str, str]:
    """Extra headers from the suite; YAML may give numbers or booleans as values."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def merge_headers(extra: Mapping[str, str], fixed: Mapping[str, str]) -> dict[str, str]:
    """``extra`` headers under ``fixed`` ones, names compared case-insensitively (HTTP's rule)."""
    taken = {name.lower() for name in fixed}
    return {**{k: v for k, v in extra.items() if k.lower() not in taken}, **fixed}


def check_url(url: str, *, target_id: str, option: str) -> str:
    """``url`` if it is an absolute http(s) URL, else a one-line ProviderConfigError."""
    try:
        parsed = httpx.URL(url)
        ok = parsed.scheme in ("http", "https") and bool(parsed.host)
    except (httpx.InvalidURL, TypeError, ValueError):
        ok = False
    if not ok:
        raise ProviderConfigError(
            f"target {target_id}: {option} must be an absolute http:// or https:// URL, "
            f"not {http_errors.safe_url(url)!r}"
        )
    return url
