"""The suite's graders: the targets that judge or embed outputs, called for assertions.

Built once per run for the targets the suite's assertions name (so that a judge without its API
key stops the run before any call, like the target itself). Calls go through the run's response
cache, budget and retry policy; a call that still fails raises ``ScorerError``, which makes the
record an error: a broken judge says nothing about the output it was asked to grade.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ci_gate.assertions.base import ScorerError
from ci_gate.pricing.table import cost_usd
from ci_gate.providers.base import (
    EmbeddingProvider,
    Embeddings,
    Provider,
    ProviderRequest,
    ProviderResponse,
)
from ci_gate.run.cache import CACHE_FORMAT_VERSION, ResponseCache, cache_key
from ci_gate.run.ledger import Ledger
from ci_gate.run.retrying import call_with_retries
from ci_gate.suite.model import Message, PriceTable, Retry

# The role of the single message that stands for a prompt's identity in a cache key.
_IDENTITY_ROLE = "ci-gate-identity"


@dataclass(frozen=True)
class GraderCall:
    """One grader call as it was made or read from the cache."""

    response: ProviderResponse
    cost_usd: float | None
    cached: bool


@dataclass(frozen=True)
class EmbeddingCall:
    embeddings: Embeddings
    cost_usd: float | None
    cached: bool


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


class Graders:
    def __init__(
        self,
        providers: Mapping[str, Provider],
        *,
        cache: ResponseCache | None,
        prices: PriceTable,
        retry: Retry,
        ledger: Ledger,
        rng: random.Random,
    ) -> None:
        self.providers = providers
        self.cache = cache
        self.prices = prices
        self.retry = retry
        self.ledger = ledger
        self.rng = rng

    def _provider(self, target_id: str) -> Provider:
        provider = self.providers.get(target_id)
        if provider is None:  # the suite checks judge references at load time
            raise ScorerError("config", f"no grader target {target_id!r} was set up for this run")
        return provider

    def _cache_of(self, provider: Provider) -> ResponseCache | None:
        return self.cache if provider.target.cache else None

    async def complete(
        self,
        target_id: str,
        case_id: str,
        sample: int,
        messages: Sequence[Message],
        identity: Mapping[str, Any],
    ) -> GraderCall:
        """Ask ``target_id``; the cache key is built from ``identity`` instead of ``messages``."""
        provider = self._provider(target_id)
        target = provider.target
        request = ProviderRequest(case_id, sample, {}, tuple(messages), target.params)
        key_request = replace(request, messages=(Message(_IDENTITY_ROLE, _canonical(identity)),))
        key = cache_key(provider, key_request)
        cache = self._cache_of(provider)
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            return GraderCall(hit.response, hit.cost_usd, True)
        answer, _, error = await call_with_retries(
            lambda: provider.call(request),
            timeout_s=target.timeout_s,
            retry=self.retry,
            ledger=self.ledger,
            rng=self.rng,
        )
        if answer is None:
            assert error is not None
            raise ScorerError("judge", f"judge {target_id!r} failed: {error.kind}: {error.message}")
        model = answer.model or target.model
        cost = cost_usd(self.prices, model, answer.input_tokens, answer.output_tokens)
        if cost is not None:
            self.ledger.spent_usd += cost
        if cache is not None:
            cache.put(key, answer, cost)
        return GraderCall(answer, cost, False)

    async def embed(self, target_id: str, texts: Sequence[str]) -> EmbeddingCall:
        provider = self._provider(target_id)
        embed = getattr(provider, "embed", None)
        if embed is None:
            raise ScorerError(
                "config",
                f"target {target_id!r} ({provider.target.provider}) cannot embed text; use an"
                " openai (or openai-compatible) or fake target as the embedder",
            )
        embedder: EmbeddingProvider = provider  # type: ignore[assignment]
        material = {
            "v": CACHE_FORMAT_VERSION,
            "target": dict(provider.cache_identity()),
            "embed": list(texts),
        }
        blob = _canonical(material).encode("utf-8", "surrogatepass")
        key = "sha256:" + hashlib.sha256(blob).hexdigest()
        cache = self._cache_of(provider)
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            vectors = hit.response.extra.get("vectors")
            if isinstance(vectors, list) and len(vectors) == len(texts):
                got = Embeddings(
                    vectors, hit.response.latency_ms, hit.response.input_tokens, hit.response.model
                )
                return EmbeddingCall(got, hit.cost_usd, True)
        answer, _, error = await call_with_retries(
            lambda: embedder.embed(texts),
            timeout_s=provider.target.timeout_s,
            retry=self.retry,
            ledger=self.ledger,
            rng=self.rng,
        )
        if answer is None:
            assert error is not None
            raise ScorerError(
                "embedder", f"embedder {target_id!r} failed: {error.kind}: {error.message}"
            )
        if len(answer.vectors) != len(texts):
            raise ScorerError(
                "embedder",
                f"embedder {target_id!r} returned {len(answer.vectors)} vectors for"
                f" {len(texts)} texts",
            )
        cost = cost_usd(self.prices, answer.model or provider.target.model, answer.input_tokens, 0)
        if cost is not None:
            self.ledger.spent_usd += cost
        if cache is not None:
            stored = ProviderResponse(
                output="",
                latency_ms=answer.latency_ms,
                input_tokens=answer.input_tokens,
                output_tokens=0,
                model=answer.model,
                extra={"vectors": answer.vectors},
            )
            cache.put(key, stored, cost)
        return EmbeddingCall(answer, cost, False)

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()
