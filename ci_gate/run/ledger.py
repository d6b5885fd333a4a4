"""What a run has spent so far, and how it stops: shared by the target's and the graders' calls."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


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
