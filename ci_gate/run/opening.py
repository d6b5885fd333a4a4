"""What a run prepares in a thread while its first calls are in flight.

Before its first record a run needs the suite's fingerprint (about 20 ms of CPU for 1,000 cases,
a second for 50,000) and a journal whose header names it; it needs git's word on the checkout (a
few ms a command, more in a big repository) only for the results file. Made up front, they delay
every call; made in a thread, they overlap with the first round of calls, whose answers take far
longer than they do. A run that resumes an earlier journal needs the fingerprint first, to know
which records it keeps, and makes both up front. The commit and the state of the work tree are
read as the run starts.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from ci_gate.results.model import Fingerprint
from ci_gate.run.journal import Journal
from ci_gate.suite.fingerprint import fingerprint
from ci_gate.suite.model import Suite, Target

T = TypeVar("T")

_SWITCH_INTERVAL_S = 0.0005


def in_thread(work: Callable[[], T], name: str) -> Future[T]:
    """``work()`` started in a thread of its own, which ends with it."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ci-gate-{name}")
    future = pool.submit(work)
    pool.shutdown(wait=False)
    return future


def done(value: T) -> Future[T]:
    future: Future[T] = Future()
    future.set_result(value)
    return future


def open_journal_soon(
    suite: Suite, target: Target, path: Path, items: int
) -> Future[tuple[Fingerprint, Journal]]:
    """The fingerprint, and a new journal whose header names it (a fresh run: nothing kept).

    The fingerprint is pure Python: while it holds the interpreter lock, the event loop waits
    for it up to the switch interval at each wake-up (5 ms by default, which would bunch the
    workers' staggered starts and add to the latency of answers arriving meanwhile). A tenth of
    that while it runs keeps the loop within half a millisecond of its timers.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, _SWITCH_INTERVAL_S))

    def work() -> tuple[Fingerprint, Journal]:
        try:
            fp = fingerprint(suite, target)
        finally:
            sys.setswitchinterval(previous)
        return fp, Journal(path, fp.suite, target.id, items)

    return in_thread(work, "journal")


class Opening:
    """The journal being opened: the workers take it at their first record, at once unless a
    run's first answers come back before it is made."""

    def __init__(self, future: Future[tuple[Fingerprint, Journal]]) -> None:
        self._future = future
        self._waiting: asyncio.Future[tuple[Fingerprint, Journal]] | None = None

    async def journal(self) -> Journal:
        if self._future.done():
            return self._future.result()[1]
        if self._waiting is None:
            self._waiting = asyncio.wrap_future(self._future)
        # Shielded: a worker cancelled while it waits (Ctrl-C) must not cancel it for the others.
        return (await asyncio.shield(self._waiting))[1]

    async def result(self) -> tuple[Fingerprint, Journal]:
        """Once the run's calls are over (the thread may still be at work if they stopped early)."""
        if self._future.done():
            return self._future.result()
        return await asyncio.wrap_future(self._future)
