"""Progress of a run: a live bar on a terminal, a one-line message every few seconds in CI logs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

CI_INTERVAL_S = 5.0
TTY_INTERVAL_S = 0.1


class Progress:
    def __init__(
        self,
        total: int,
        stream: TextIO,
        *,
        live: bool,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self.total = total
        self.stream = stream
        self.live = live
        self.enabled = enabled
        self.done = 0
        self.errors = 0
        self.failed = 0
        self.cached = 0
        self._start = clock()
        self._last = self._start
        self._interval = TTY_INTERVAL_S if live else CI_INTERVAL_S

    def update(self, *, error: bool, failed: bool, cached: bool) -> None:
        self.done += 1
        self.errors += error
        self.failed += failed
        self.cached += cached
        now = self._clock()
        if self.enabled and now - self._last >= self._interval:
            self._last = now
            self._emit(now)

    def _line(self, now: float) -> str:
        elapsed = now - self._start
        pct = 100.0 * self.done / self.total if self.total else 100.0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        return (
            f"{self.done}/{self.total} ({pct:.0f}%) failed {self.failed} errors {self.errors} "
            f"cached {self.cached} | {elapsed:.1f}s elapsed, ~{eta:.0f}s left"
        )

    def _emit(self, now: float) -> None:
        if self.live:
            width = 24
            filled = int(width * self.done / self.total) if self.total else width
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {self._line(now)}\033[K")
        else:
            self.stream.write(f"ci-gate: progress {self._line(now)}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.live:
            self._emit(self._clock())
            self.stream.write("\n")
            self.stream.flush()
