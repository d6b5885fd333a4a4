"""A seeded random fault plan for the fake model server: which requests fail, and how.

Each request is decided from the seed, its raw body and how many times that exact body was seen
before, never from arrival order: a run at concurrency 32 sends its cases in an order that
changes from run to run, but the same suite with the same seed meets the same faults, and a
retry (the same body again) gets a fresh, equally reproducible draw.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

# What a faulted request gets. "429_retry_after" says "Retry-After: 0" so nothing waits;
# "timeout" answers later than any test target waits; "drip" is a slow but complete answer.
CHAOS_KINDS = (
    "429_retry_after",
    "429",
    "500",
    "502",
    "503",
    "timeout",
    "reset",
    "truncated",
    "non_json",
    "missing_usage",
    "short_body",
    "drip",
)


@dataclass(frozen=True)
class Draw:
    """One request's fate: ``body`` is a short hash of its raw body, ``nth`` counts from 0 the
    earlier requests with the same body, ``kind`` is None when it was not faulted."""

    body: str
    nth: int
    kind: str | None


class Chaos:
    def __init__(self, rate: float, seed: int, kinds: Sequence[str] = CHAOS_KINDS) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], not {rate}")
        unknown = sorted(set(kinds) - set(CHAOS_KINDS))
        if unknown or not kinds:
            raise ValueError(f"unknown or no chaos kinds: {unknown}; choose from {CHAOS_KINDS}")
        self.rate = rate
        self.seed = seed
        self.kinds = tuple(kinds)
        self.draws: list[Draw] = []
        self._seen: Counter[bytes] = Counter()
        self._lock = threading.Lock()

    def draw(self, raw: bytes) -> str | None:
        """The fault kind for a request with body ``raw``, or None to answer it normally."""
        with self._lock:
            nth = self._seen[raw]
            self._seen[raw] += 1
        digest = hashlib.sha256(f"{self.seed}\0{nth}\0".encode() + raw).digest()
        u = int.from_bytes(digest[:8], "big") / 2**64
        kind = None
        if u < self.rate:
            kind = self.kinds[int.from_bytes(digest[8:16], "big") % len(self.kinds)]
        body = hashlib.sha256(raw).hexdigest()[:16]
        with self._lock:
            self.draws.append(Draw(body, nth, kind))
        return kind

    def faulted(self) -> Counter[str]:
        """How many requests got each fault kind."""
        with self._lock:
            return Counter(d.kind for d in self.draws if d.kind is not None)
