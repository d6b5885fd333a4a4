"""Totals over a run's records, for the results file and the closing summary line.

A run adds each record to a ``Tally`` as it finishes and lets it go: what the totals and the
summary need is counters, exact sums and one float per record for the latency median, never the
records themselves, so a 50,000-case run's memory does not grow with its outputs.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable

from ci_gate.results.model import Record, Totals

_NOT_RUN_KINDS = frozenset({"budget", "interrupted"})


class ExactSum:
    """A sum of floats rounded once at the end (``math.fsum``), whatever the order of adding:
    records finish in any order, and a run's totals must not depend on which came back first.
    Keeps the few non-overlapping partials of Shewchuk's algorithm, as ``math.fsum`` does."""

    def __init__(self) -> None:
        self._partials: list[float] = []

    def add(self, x: float) -> None:
        kept = 0
        partials = self._partials
        for y in partials:
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low:
                partials[kept] = low
                kept += 1
            x = high
        partials[kept:] = [x]

    @property
    def value(self) -> float:
        return math.fsum(self._partials)


class Tally:
    """Everything the totals and the summary line need, added one record at a time."""

    def __init__(self) -> None:
        self.records = 0
        self.passed = 0
        self.failed = 0
        self.errored = 0
        self.not_run = 0
        self.cached = 0
        self.reused = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost = ExactSum()
        self.cost_spent = ExactSum()
        self.judged = 0  # records whose assertions called a judge or an embedder
        self.judge_calls = 0
        self.judge_cached = 0
        self.judge_input_tokens = 0
        self.judge_output_tokens = 0
        self.judge_cost = ExactSum()
        # Latencies of records that are not cached (the summary's median): 8 bytes a record.
        self.latencies_ms = array("d")

    def add(self, r: Record) -> None:
        self.records += 1
        if r.passed is True:
            self.passed += 1
        elif r.passed is False:
            self.failed += 1
        if r.error is not None:
            if r.error.kind in _NOT_RUN_KINDS:
                self.not_run += 1
            else:
                self.errored += 1
        self.cached += r.cached
        self.reused += r.reused
        self.input_tokens += r.input_tokens or 0
        self.output_tokens += r.output_tokens or 0
        if r.cost_usd:
            self.cost.add(r.cost_usd)
            if not (r.cached or r.reused):
                self.cost_spent.add(r.cost_usd)
        if r.latency_ms is not None and not r.cached:
            self.latencies_ms.append(r.latency_ms)
        j = r.judge
        if j is not None:
            self.judged += 1
            # Calls made in this run; tokens and cost of every verdict, cached ones included.
            self.judge_calls += j.calls - j.cached
            self.judge_cached += j.cached
            self.judge_input_tokens += j.input_tokens
            self.judge_output_tokens += j.output_tokens
            if j.cost_usd:
                self.judge_cost.add(j.cost_usd)

    def totals(self, cases: int, calls: int) -> Totals:
        return Totals(
            cases=cases,
            records=self.records,
            passed=self.passed,
            failed=self.failed,
            errored=self.errored,
            not_run=self.not_run,
            cached=self.cached,
            reused=self.reused,
            calls=calls,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cost_usd=round(self.cost.value, 8),
            cost_usd_spent=round(self.cost_spent.value, 8),
            judge_calls=self.judge_calls,
            judge_input_tokens=self.judge_input_tokens,
            judge_output_tokens=self.judge_output_tokens,
            judge_cost_usd=round(self.judge_cost.value, 8),
        )


def totals(records: Iterable[Record], cases: int, calls: int) -> Totals:
    tally = Tally()
    for r in records:
        tally.add(r)
    return tally.totals(cases, calls)
