"""The provider protocol: one request in, one response (or a ProviderError) out.

A provider never retries and never caches: the runner does both, the same way for all of them.
It raises ``ProviderError`` with a ``kind`` for every failure, so that the runner can decide
whether to retry and can record the failure as an error, never as a failed assertion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx

from ci_gate.suite.model import Message, Target

ErrorKind = Literal[
    "rate_limited",  # 429
    "server_error",  # 5xx
    "timeout",  # no answer within the target's timeout
    "connection",  # refused, reset, DNS
    "bad_response",  # not JSON, missing fields, truncated
    "client_error",  # other 4xx: bad request, auth; not retried
    "app_error",  # the team's own code (python/command target) raised or exited non-zero
    "config",  # the target cannot work as configured (e.g. missing API key)
    "budget",  # not made: the run's budget was spent
    "interrupted",  # not made: the run was stopped
]

RETRYABLE: frozenset[str] = frozenset({"rate_limited", "server_error", "timeout", "connection"})


class ProviderError(Exception):
    """A failed call. ``retry_after_s`` carries the server's ``Retry-After`` when it sent one."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


@dataclass(frozen=True)
class ProviderRequest:
    """Everything a provider needs for one call; also what the cache key is built from.

    ``messages`` is the rendered prompt (empty when the suite has no prompt for the case);
    ``prompt`` is the text of the last user message, for targets that take plain text.
    """

    case_id: str
    sample: int
    vars: Mapping[str, Any]
    messages: tuple[Message, ...]
    params: Mapping[str, Any]

    @property
    def prompt(self) -> str | None:
        for m in reversed(self.messages):
            if m.role == "user":
                return m.content
        return None

    def to_json(self) -> dict[str, Any]:
        """The JSON handed to ``python``/``command`` targets and ``http`` body templates."""
        return {
            "case_id": self.case_id,
            "sample": self.sample,
            "vars": dict(self.vars),
            "messages": [{"role": m.role, "content": m.content} for m in self.messages],
            "prompt": self.prompt,
            "params": dict(self.params),
        }


@dataclass(frozen=True)
class ProviderResponse:
    """A successful call. ``latency_ms`` is the time the service took, measured around the call
    itself (not time spent waiting for a concurrency slot). Tokens are None when unreported.
    ``extra`` carries structured parts other scorers use: ``tool_calls``, ``context``.
    """

    output: str
    latency_ms: float
    input_tokens: int | None = None
    output_tokens: int | None = None
    model: str | None = None
    finish_reason: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    """A configured target, ready to make calls. Built by the registry from a ``Target``."""

    target: Target

    def cache_identity(self) -> Mapping[str, Any]:
        """What, besides the request, decides the output: model, endpoint, command, function.

        Never secrets, timeouts or concurrency.
        """
        ...

    async def call(self, request: ProviderRequest) -> ProviderResponse:
        """Make one call. Raises ``ProviderError`` on any failure."""
        ...

    async def aclose(self) -> None:
        """Release what the provider holds (subprocess pools, etc.). The shared HTTP client is
        closed by its owner, not here."""
        ...


@dataclass(frozen=True)
class Embeddings:
    """The answer of an embeddings call: one vector per input text, in input order."""

    vectors: list[list[float]]
    latency_ms: float
    input_tokens: int | None = None
    model: str | None = None


class EmbeddingProvider(Protocol):
    """A provider that can also embed texts (openai-compatible ``/embeddings``, the fake)."""

    target: Target

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """Embed ``texts`` in one call. Raises ``ProviderError`` on any failure."""
        ...


class ProviderFactory(Protocol):
    """Builds a provider; ``base_dir`` is the suite file's directory, for relative paths."""

    def __call__(
        self, target: Target, client: httpx.AsyncClient, env: Mapping[str, str], base_dir: Path
    ) -> Provider: ...
