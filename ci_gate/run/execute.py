"""One case sample, start to finish: cache, call with retries, score, price -> a Record."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ci_gate.assertions import registry
from ci_gate.assertions.base import Output, ScorerError
from ci_gate.pricing.table import cost_usd
from ci_gate.providers.base import Provider, ProviderRequest, ProviderResponse
from ci_gate.providers.fake import request_text
from ci_gate.results.model import Record, RecordError
from ci_gate.run.cache import ResponseCache
from ci_gate.run.ledger import Ledger, StopRun
from ci_gate.run.retrying import call_with_retries
from ci_gate.run.scoring import SampleScoring, ScoringSetup
from ci_gate.suite.model import Case, PriceTable, Retry
from ci_gate.wellformed import wellformed, wellformed_json

__all__ = ["Executor", "Ledger", "StopRun", "not_run_record"]

MAX_ERROR_MESSAGE = 500


@dataclass(frozen=True)
class Executor:
    provider: Provider
    cache: ResponseCache | None
    prices: PriceTable
    retry: Retry
    ledger: Ledger
    rng: random.Random
    # Responses of an earlier run (the baseline) by cache key: an identical request is not made
    # again. Only for targets whose output the key fully decides (the same rule as the cache).
    reuse: Mapping[str, Record] = field(default_factory=dict)
    # Judges and embedders, for cases whose assertions call them.
    scoring: ScoringSetup | None = None

    async def run_one(self, case: Case, request: ProviderRequest, key: str) -> Record:
        earlier = self.reuse.get(key)
        if earlier is not None and earlier.output is not None and earlier.error is None:
            reused = ProviderResponse(
                output=earlier.output,
                latency_ms=earlier.latency_ms or 0.0,
                input_tokens=earlier.input_tokens,
                output_tokens=earlier.output_tokens,
                model=earlier.model,
                extra=earlier.extra,
            )
            scored = await self._scored(case, request, key, reused, earlier.cost_usd, False, 0)
            return replace(scored, reused=True)
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            return await self._scored(case, request, key, cached.response, cached.cost_usd, True, 0)
        provider = self.provider
        answer, attempts, error = await call_with_retries(
            lambda: provider.call(request),
            timeout_s=provider.target.timeout_s,
            retry=self.retry,
            ledger=self.ledger,
            rng=self.rng,
        )
        if answer is None:
            assert error is not None
            return _error_record(request, key, error.kind, error.message, attempts)
        response = _wellformed(answer)
        model = response.model or self.provider.target.model
        cost = cost_usd(self.prices, model, response.input_tokens, response.output_tokens)
        if cost is not None:
            self.ledger.spent_usd += cost
        if self.cache is not None:
            self.cache.put(key, response, cost)
        return await self._scored(case, request, key, response, cost, False, attempts)

    async def _scored(
        self,
        case: Case,
        request: ProviderRequest,
        key: str,
        response: ProviderResponse,
        cost: float | None,
        cached: bool,
        attempts: int,
    ) -> Record:
        output = Output(response.output, response.extra)
        if not registry.needs_scoring(case.assertions):
            scored = registry.score(case.assertions, output, case)
            return self._record(request, key, response, cost, cached, attempts, scored)
        assert self.scoring is not None, "the runner sets up graders for suites that need them"
        scoring = SampleScoring(self.scoring, case, request.sample, request_text(request))
        try:
            scored = await registry.score_async(case.assertions, output, case, scoring)
        except ScorerError as exc:
            failed = self._record(request, key, response, cost, cached, attempts, None)
            message = _clip(exc.message)
            return replace(failed, error=RecordError(exc.kind, message), judge=scoring.usage())
        record = self._record(request, key, response, cost, cached, attempts, scored)
        return replace(record, judge=scoring.usage())

    def _record(
        self,
        request: ProviderRequest,
        key: str,
        response: ProviderResponse,
        cost: float | None,
        cached: bool,
        attempts: int,
        scored: registry.Scored | None,
    ) -> Record:
        """The record of an answered call; ``scored`` None when it could not be graded (the
        caller sets the error): the output is kept, but nothing counts as passed or failed."""
        outcomes, passed, score = scored if scored is not None else ((), None, None)
        return Record(
            case_id=request.case_id,
            sample=request.sample,
            output=response.output,
            passed=passed,
            score=score,
            assertions=outcomes,
            latency_ms=round(response.latency_ms, 3),
            input_tokens=response.input_tokens,
            output_tokens=response.output_tokens,
            cost_usd=cost,
            cached=cached,
            attempts=attempts,
            cache_key=key,
            model=response.model or self.provider.target.model,
            extra=dict(response.extra),
        )


def _wellformed(response: ProviderResponse) -> ProviderResponse:
    """The answer as every later step can hold it: lone surrogates in what the target sent
    (a JSON escape, a Python string) replaced, so no hash, judge request or file write fails."""
    return replace(
        response,
        output=wellformed(response.output),
        model=_maybe_wellformed(response.model),
        finish_reason=_maybe_wellformed(response.finish_reason),
        extra=wellformed_json(response.extra) if response.extra else response.extra,
    )


def _maybe_wellformed(text: str | None) -> str | None:
    return None if text is None else wellformed(text)


def _clip(message: str) -> str:
    message = wellformed(message)
    return message if len(message) <= MAX_ERROR_MESSAGE else message[: MAX_ERROR_MESSAGE - 1] + "…"


def _error_record(
    request: ProviderRequest, key: str, kind: str, message: str, attempts: int
) -> Record:
    message = _clip(message)
    return Record(
        case_id=request.case_id,
        sample=request.sample,
        output=None,
        passed=None,
        score=None,
        assertions=(),
        latency_ms=None,
        input_tokens=None,
        output_tokens=None,
        cost_usd=None,
        cached=False,
        attempts=attempts,
        cache_key=key,
        error=RecordError(kind, message),
    )


def not_run_record(request: ProviderRequest, key: str, stop: StopRun) -> Record:
    return _error_record(request, key, stop.kind, f"not run: {stop.reason}", 0)
