"""How long to wait before retrying a failed call."""

from __future__ import annotations

import random

from ci_gate.suite.model import Retry

# A server asking for a longer pause than this is treated as an outage, not a rate limit.
MAX_RETRY_AFTER_S = 120.0


def retry_delay(
    policy: Retry, attempt: int, retry_after_s: float | None, rng: random.Random
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    Exponential backoff with full jitter spreads retries from many workers apart; a server's
    ``Retry-After`` is honoured as a floor, with a little jitter so that the workers it throttled
    do not all return in the same instant.
    """
    ceiling = min(policy.max_backoff_s, policy.backoff_s * 2 ** (attempt - 1))
    delay = rng.uniform(0.0, ceiling)
    if retry_after_s is not None and retry_after_s > 0:
        floor = min(retry_after_s, MAX_RETRY_AFTER_S)
        delay = floor + rng.uniform(0.0, min(1.0, floor * 0.1))
    return delay
