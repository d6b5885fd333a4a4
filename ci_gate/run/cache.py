"""The response cache: what a call returned, keyed by exactly what decides the output.

The key covers the target's identity (provider, model, endpoint or code entry point), the rendered
messages, the sampling parameters, the sample index and the cache format version; never timeouts,
concurrency, retries or secrets. A hit carries the latency, tokens and cost recorded when the call
was made, so a cached run still reports what the call costs and how long it takes.

This is the only module that imports diskcache and translates its errors.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diskcache

from ci_gate.errors import ConfigError
from ci_gate.providers.base import Provider, ProviderRequest, ProviderResponse

CACHE_FORMAT_VERSION = 1
DEFAULT_CACHE_DIR = ".ci-gate/cache"
# Model APIs see only messages and parameters; the team's own code sees the whole request.
_MESSAGE_ONLY_PROVIDERS = frozenset({"openai", "anthropic"})


def default_cache_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("CI_GATE_CACHE_DIR") or DEFAULT_CACHE_DIR)


def cache_key(provider: Provider, request: ProviderRequest) -> str:
    if provider.target.provider in _MESSAGE_ONLY_PROVIDERS:
        payload: Any = {
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "params": dict(request.params),
            "sample": request.sample,
        }
    else:
        payload = request.to_json()
    material = {
        "v": CACHE_FORMAT_VERSION,
        "target": dict(provider.cache_identity()),
        "request": payload,
    }
    blob = json.dumps(
        material, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return "sha256:" + hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class CachedCall:
    response: ProviderResponse
    cost_usd: float | None


class ResponseCache:
    """A diskcache-backed store shared safely between concurrent runs (SQLite underneath)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        try:
            self._cache = diskcache.Cache(str(self.directory), timeout=30, size_limit=2**32)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"cannot open the response cache at {self.directory}: {exc} "
                "(choose another with --cache-dir, or run with --no-cache)"
            ) from None

    def get(self, key: str) -> CachedCall | None:
        try:
            raw = self._cache.get(key)
        except (OSError, sqlite3.Error, diskcache.Timeout):
            return None  # a cache that cannot be read is a miss, never a failed run
        if not isinstance(raw, dict) or raw.get("v") != CACHE_FORMAT_VERSION:
            return None
        try:
            return CachedCall(
                response=ProviderResponse(
                    output=raw["output"],
                    latency_ms=float(raw["latency_ms"]),
                    input_tokens=raw["input_tokens"],
                    output_tokens=raw["output_tokens"],
                    model=raw["model"],
                    finish_reason=raw["finish_reason"],
                    extra=raw["extra"],
                ),
                cost_usd=raw["cost_usd"],
            )
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, key: str, response: ProviderResponse, cost_usd: float | None) -> None:
        value = {
            "v": CACHE_FORMAT_VERSION,
            "output": response.output,
            "latency_ms": response.latency_ms,
            "input_tokens": response.input_tokens,
            "output_tokens": response.output_tokens,
            "model": response.model,
            "finish_reason": response.finish_reason,
            "extra": dict(response.extra),
            "cost_usd": cost_usd,
        }
        # Failing to cache loses only a future saving, never this run's result.
        with contextlib.suppress(OSError, sqlite3.Error, diskcache.Timeout):
            self._cache.set(key, value)

    def close(self) -> None:
        with contextlib.suppress(OSError, sqlite3.Error):
            self._cache.close()
