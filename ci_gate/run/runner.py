"""Run a suite against one target: bounded concurrency, budget, journal, Ctrl-C, results file."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import signal
import ssl
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from ci_gate import __version__
from ci_gate.gitinfo import git_info
from ci_gate.providers.base import ProviderRequest
from ci_gate.providers.http_client import make_client
from ci_gate.providers.registry import build_provider
from ci_gate.results.model import CaseInfo, Record, Results, RunInfo, SpecLinks
from ci_gate.results.store import write_results
from ci_gate.run.cache import ResponseCache, cache_key, default_cache_dir
from ci_gate.run.execute import Executor, Ledger, StopRun, not_run_record
from ci_gate.run.grading import needs_graders, setup_scoring
from ci_gate.run.journal import Journal, journal_path, load_journal
from ci_gate.run.progress import Progress
from ci_gate.run.shard import Shard, select
from ci_gate.run.shard_cost import case_costs
from ci_gate.run.totals import totals
from ci_gate.suite.fingerprint import fingerprint
from ci_gate.suite.model import Case, Suite, Target
from ci_gate.suite.template import render_messages

_WORKER_STAGGER_S = 0.002


@dataclass(frozen=True)
class RunOptions:
    output: Path
    target_id: str | None = None
    use_cache: bool = True
    cache_dir: Path | None = None
    repeats: int | None = None
    concurrency: int | None = None
    max_calls: int | None = None
    max_cost_usd: float | None = None
    resume: bool = True
    progress: bool = True
    tls: Future[ssl.SSLContext] | None = None  # a TLS context being built ahead of the run
    reuse_from: Results | None = None  # a baseline whose identical requests are not made again
    shard: Shard | None = None  # run only this shard's cases (a job of a parallel run)


@dataclass(frozen=True)
class _Item:
    index: int
    case: Case
    request: ProviderRequest


def _items(suite: Suite, cases: Sequence[Case], target: Target, repeats: int) -> Iterator[_Item]:
    index = 0
    for case in cases:
        messages = render_messages(suite, case)
        for sample in range(repeats):
            request = ProviderRequest(case.id, sample, case.vars, messages, target.params)
            yield _Item(index, case, request)
            index += 1


def _reusable(baseline: Results, target: Target) -> dict[str, Record]:
    """The baseline's answered records by request key, when the target's output is decided by
    the request alone (model APIs, the fake, or a target marked ``cache: true``)."""
    if not target.cache:
        return {}
    return {r.cache_key: r for r in baseline.records if r.error is None and r.output is not None}


def _suite_dir(suite: Suite) -> Path:
    return Path(suite.path).resolve().parent


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _live(stream: TextIO, env: Mapping[str, str]) -> bool:
    return stream.isatty() and not env.get("CI")


async def run_suite(
    suite: Suite,
    options: RunOptions,
    env: Mapping[str, str],
    stream: TextIO | None = None,
) -> Results:
    """Run every case and sample; write the results file atomically and return it.

    An interrupted or budget-stopped run still writes a results file that accounts for every case
    and sample (the ones not made carry an error of kind ``interrupted`` or ``budget``), and keeps
    its journal so that running the same command again makes only the calls still missing.
    """
    stream = stream or sys.stderr  # looked up per call: test harnesses swap sys.stderr
    target = suite.target(options.target_id)
    repeats = options.repeats or suite.repeats
    concurrency = options.concurrency or suite.concurrency
    started_at, t0 = _now(), time.monotonic()
    # The fingerprint stays the whole suite's: every shard of a run has the same one, and its
    # per-case hashes keep the suite's case order for `ci-gate merge`.
    fp = fingerprint(suite, target)
    cases = (
        select(suite.cases, options.shard, case_costs(suite, suite.cases, repeats))
        if options.shard is not None
        else list(suite.cases)
    )

    client = make_client(concurrency, options.tls)
    cache = None
    try:
        provider = build_provider(target, client, env, _suite_dir(suite))
        # Judges and embedders are cached by their own targets' rule, even for a target that
        # is not (a python app judged by a model API).
        if options.use_cache and (target.cache or needs_graders(suite, cases)):
            cache = ResponseCache(options.cache_dir or default_cache_dir(env))
        items = list(_items(suite, cases, target, repeats))
        jpath = journal_path(options.output)
        finished = load_journal(jpath, fp.suite, target.id) if options.resume else {}
        records: list[Record | None] = [None] * len(items)
        for item in items:
            earlier = finished.get((item.case.id, item.request.sample))
            if earlier is not None and earlier.cache_key == cache_key(provider, item.request):
                records[item.index] = earlier
        ledger = Ledger(
            max_calls=options.max_calls
            if options.max_calls is not None
            else suite.budget.max_calls,
            max_cost_usd=options.max_cost_usd
            if options.max_cost_usd is not None
            else suite.budget.max_cost_usd,
        )
        reuse = _reusable(options.reuse_from, target) if options.reuse_from else {}
        rng = random.Random()
        scoring, judges = setup_scoring(
            suite,
            cases,
            client=client,
            env=env,
            base_dir=_suite_dir(suite),
            cache=cache,
            ledger=ledger,
            rng=rng,
        )
        executor = Executor(
            provider,
            cache if target.cache else None,
            suite.prices,
            suite.retry,
            ledger,
            rng,
            reuse,
            scoring,
        )
        # Opened once the setup can no longer fail (a bad calibration file, a scorer's path), so
        # that such a mistake leaves no journal behind, nor an open file.
        journal = Journal(jpath, fp.suite, target.id, [r for r in records if r is not None])
        progress = Progress(len(items), stream, live=_live(stream, env), enabled=options.progress)
        gc.freeze()  # suite and setup objects live for the whole run: keep them out of GC passes
        try:
            await _run_items(items, records, executor, journal, progress, concurrency)
        finally:
            progress.close()
            await provider.aclose()
            if scoring is not None:
                await scoring.graders.aclose()
    finally:
        await client.aclose()
        if cache is not None:
            cache.close()

    status, reason = "complete", None
    if ledger.stop is not None:
        status = "interrupted" if ledger.stop.kind == "interrupted" else "budget_exhausted"
        reason = ledger.stop.reason
        stop = ledger.stop
        for item in items:
            if records[item.index] is None:
                key = cache_key(provider, item.request)
                records[item.index] = not_run_record(item.request, key, stop)
    done = [r for r in records if r is not None]
    results = Results(
        run=RunInfo(
            suite_name=suite.name,
            suite_version=suite.version,
            suite_path=suite.path,
            target_id=target.id,
            provider=target.provider,
            model=target.model,
            repeats=repeats,
            fingerprint=fp,
            git=git_info(_suite_dir(suite), env),
            ci_gate_version=__version__,
            started_at=started_at,
            finished_at=_now(),
            duration_s=round(time.monotonic() - t0, 3),
            status=status,
            stop_reason=reason,
            totals=totals(done, len(cases), ledger.calls),
            prices_date=suite.prices.date,
            gate=dict(suite.gate.raw),
            shard=options.shard,
            judges=judges,
            spec=suite.raw.get("spec") or {},
        ),
        cases={c.id: _case_info(c, fp.cases[c.id]) for c in cases},
        records=tuple(done),
    )
    write_results(results, options.output)
    if status == "complete":
        journal.remove()
    else:
        journal.close()
    return results


async def _run_items(
    items: list[_Item],
    records: list[Record | None],
    executor: Executor,
    journal: Journal,
    progress: Progress,
    concurrency: int,
) -> None:
    # One shared iterator: each worker takes the next item when it is free.
    pending = iter([i for i in items if records[i.index] is None])
    ledger = executor.ledger

    async def worker(start_delay: float) -> None:
        if start_delay:
            await asyncio.sleep(start_delay)
        for item in pending:
            if ledger.stop is not None:
                return
            try:
                # Keys are made here, not up front: hashing overlaps with waiting for answers.
                key = cache_key(executor.provider, item.request)
                record = await executor.run_one(item.case, item.request, key)
            except StopRun:
                return
            records[item.index] = record
            if record.error is None:
                journal.append(record)
            progress.update(
                error=record.error is not None,
                failed=record.passed is False,
                cached=record.cached,
            )

    loop = asyncio.get_running_loop()
    # Workers start a moment apart: started together, their calls stay in lock-step and come
    # back in bursts whose processing shows up as latency the service never had.
    tasks = [asyncio.create_task(worker(k * _WORKER_STAGGER_S)) for k in range(max(1, concurrency))]

    def interrupt() -> None:
        if ledger.stop is not None and ledger.stop.kind == "interrupted":
            os._exit(130)  # a second Ctrl-C: the user wants out now
        ledger.halt("interrupted", "the run was interrupted (Ctrl-C or SIGTERM)")
        for t in tasks:
            t.cancel()

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, interrupt)
            installed.append(sig)
    try:
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _case_info(case: Case, fingerprint: str) -> CaseInfo:
    links = {
        a.name: SpecLinks(a.behaviours, a.failure_modes)
        for a in case.assertions
        if a.behaviours or a.failure_modes
    }
    return CaseInfo(
        case.id,
        case.tags,
        case.group,
        case.vars,
        case.expected,
        fingerprint,
        behaviours=case.behaviours,
        failure_modes=case.failure_modes,
        assertion_links=links,
    )
