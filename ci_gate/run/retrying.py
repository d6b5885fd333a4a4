"""One call with the run's retry policy: used for targets, judges and embedders alike."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ci_gate.deadline import within
from ci_gate.providers.base import ProviderError
from ci_gate.run.backoff import retry_delay
from ci_gate.run.ledger import Ledger
from ci_gate.suite.model import Retry

T = TypeVar("T")

# Grace beyond a target's own timeout before the runner gives up on a call that ignores it
# (a python target stuck in a thread, a command that does not exit).
TIMEOUT_GRACE_S = 5.0


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    timeout_s: float,
    retry: Retry,
    ledger: Ledger,
    rng: random.Random,
) -> tuple[T | None, int, ProviderError | None]:
    """(answer, attempts, None) or (None, attempts, last error). Each attempt is counted against
    the run's budget first; ``StopRun`` escapes when the budget is spent or the run stopped."""
    attempt = 0
    timeout = timeout_s + TIMEOUT_GRACE_S
    while True:
        ledger.take_call()
        attempt += 1
        try:
            return await within(call(), timeout), attempt, None
        except ProviderError as exc:
            error = exc
        except asyncio.TimeoutError:
            error = ProviderError("timeout", f"no answer within {timeout:.0f} s")
        except Exception as exc:  # a bug in a provider must not lose the run's other results
            error = ProviderError("app_error", f"{type(exc).__name__}: {exc}")
        if not error.retryable or attempt >= retry.max_attempts:
            return None, attempt, error
        delay = retry_delay(retry, attempt, error.retry_after_s, rng)
        # Wake early when the run is stopped, instead of sleeping through Ctrl-C.
        with contextlib.suppress(asyncio.TimeoutError):
            await within(ledger.stop_event.wait(), delay)
