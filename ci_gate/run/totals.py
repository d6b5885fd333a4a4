"""Totals over a run's records, for the results file and the closing summary line."""

from __future__ import annotations

from collections.abc import Sequence

from ci_gate.results.model import Record, Totals

_NOT_RUN_KINDS = frozenset({"budget", "interrupted"})


def totals(records: Sequence[Record], cases: int, calls: int) -> Totals:
    not_run = sum(1 for r in records if r.error is not None and r.error.kind in _NOT_RUN_KINDS)
    errored = sum(1 for r in records if r.error is not None) - not_run
    judged = [r.judge for r in records if r.judge is not None]
    return Totals(
        cases=cases,
        records=len(records),
        passed=sum(1 for r in records if r.passed is True),
        failed=sum(1 for r in records if r.passed is False),
        errored=errored,
        not_run=not_run,
        cached=sum(1 for r in records if r.cached),
        reused=sum(1 for r in records if r.reused),
        calls=calls,
        input_tokens=sum(r.input_tokens or 0 for r in records),
        output_tokens=sum(r.output_tokens or 0 for r in records),
        cost_usd=round(sum(r.cost_usd or 0.0 for r in records), 8),
        cost_usd_spent=round(
            sum(r.cost_usd or 0.0 for r in records if not (r.cached or r.reused)), 8
        ),
        # Calls made in this run; tokens and cost of every verdict, cached ones included.
        judge_calls=sum(j.calls - j.cached for j in judged),
        judge_input_tokens=sum(j.input_tokens for j in judged),
        judge_output_tokens=sum(j.output_tokens for j in judged),
        judge_cost_usd=round(sum(j.cost_usd or 0.0 for j in judged), 8),
    )
