"""One case sample, start to finish: cache, call with retries, score, price -> a Record."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ci_gate.assertions import registry
from ci_gate.assertions.base import Output
from ci_gate.deadline import within
from ci_gate.pricing.table import cost_usd
from ci_gate.providers.base import Provider, ProviderError, ProviderRequest, ProviderResponse
from ci_gate.results.model import Record, RecordError
from ci_gate.run.backoff import retry_delay
from ci_gate.run.cache import ResponseCache
from ci_gate.suite.model import Case, PriceTable, Retry

# Grace beyond a target's own timeout before the runner gives up on a call that ignores it
# (a python target stuck in a thread, a command that does not exit).
_TIMEOUT_GRACE_S = 5.0
MAX_ERROR_MESSAGE = 500


class StopRun(Exception):
    """The run is stopping (budget spent, or interrupted); the current item is not made."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass
class Ledger:
    """What the run has spent so far, shared by all workers (one event loop: no locks needed)."""

    max_calls: int | None
    max_cost_usd: float | None
    calls: int = 0
    spent_usd: float = 0.0
    stop: StopRun | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    def halt(self, kind: str, reason: str) -> None:
        if self.stop is None:
            self.stop = StopRun(kind, reason)
            self.stop_event.set()

    def take_call(self) -> None:
        """Count one call about to be made, or stop the run if the budget is spent."""
        if self.stop is not None:
            raise self.stop
        if self.max_calls is not None and self.calls >= self.max_calls:
            self.halt("budget", f"the budget of {self.max_calls} calls was reached")
        elif self.max_cost_usd is not None and self.spent_usd >= self.max_cost_usd:
            self.halt(
                "budget",
                f"the budget of ${self.max_cost_usd:.2f} was reached (${self.spent_usd:.4f} spent)",
            )
        if self.stop is not None:
            raise self.stop
        self.calls += 1


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
            return replace(
                self._scored(case, request, key, reused, earlier.cost_usd, False, 0),
                reused=True,
            )
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            return self._scored(case, request, key, cached.response, cached.cost_usd, True, 0)
        answer, attempts, error = await self._call_with_retries(request)
        if answer is None:
            assert error is not None
            return _error_record(request, key, error.kind, error.message, attempts)
        response = answer
        model = response.model or self.provider.target.model
        cost = cost_usd(self.prices, model, response.input_tokens, response.output_tokens)
        if cost is not None:
            self.ledger.spent_usd += cost
        if self.cache is not None:
            self.cache.put(key, response, cost)
        return self._scored(case, request, key, response, cost, False, attempts)

    async def _call_with_retries(
        self, request: ProviderRequest
    ) -> tuple[ProviderResponse | None, int, ProviderError | None]:
        attempt = 0
        timeout = self.provider.target.timeout_s + _TIMEOUT_GRACE_S
        while True:
            self.ledger.take_call()
            attempt += 1
            try:
                response = await within(self.provider.call(request), timeout)
                return response, attempt, None
            except ProviderError as exc:
                error = exc
            except asyncio.TimeoutError:
                error = ProviderError("timeout", f"no answer within {timeout:.0f} s")
            except Exception as exc:  # a bug in a provider must not lose the run's other results
                error = ProviderError("app_error", f"{type(exc).__name__}: {exc}")
            if not error.retryable or attempt >= self.retry.max_attempts:
                return None, attempt, error
            delay = retry_delay(self.retry, attempt, error.retry_after_s, self.rng)
            # Wake early when the run is stopped, instead of sleeping through Ctrl-C.
            with contextlib.suppress(asyncio.TimeoutError):
                await within(self.ledger.stop_event.wait(), delay)

    def _scored(
        self,
        case: Case,
        request: ProviderRequest,
        key: str,
        response: ProviderResponse,
        cost: float | None,
        cached: bool,
        attempts: int,
    ) -> Record:
        outcomes, passed, score = registry.score(
            case.assertions, Output(response.output, response.extra), case
        )
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


def _error_record(
    request: ProviderRequest, key: str, kind: str, message: str, attempts: int
) -> Record:
    if len(message) > MAX_ERROR_MESSAGE:
        message = message[: MAX_ERROR_MESSAGE - 1] + "…"
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
