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
from array import array
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from ci_gate import __version__
from ci_gate.atomic import write_chunks_atomic
from ci_gate.gitinfo import git_info
from ci_gate.providers.base import Provider
from ci_gate.providers.http_client import make_client
from ci_gate.providers.registry import build_provider
from ci_gate.results.encode import compact_json, record_to_dict, results_json_parts
from ci_gate.results.model import CaseInfo, Record, Results, RunInfo, SpecLinks
from ci_gate.results.store import read_results
from ci_gate.run.cache import ResponseCache, cache_key, default_cache_dir
from ci_gate.run.execute import Executor, Ledger, StopRun, not_run_record
from ci_gate.run.grading import needs_graders, setup_scoring
from ci_gate.run.journal import Journal, journal_path, load_journal
from ci_gate.run.opening import Opening, done, in_thread, open_journal_soon
from ci_gate.run.plan import Item, Plan
from ci_gate.run.progress import Progress
from ci_gate.run.shard import Shard, select
from ci_gate.run.shard_cost import case_costs
from ci_gate.run.totals import Tally
from ci_gate.suite.fingerprint import fingerprint
from ci_gate.suite.model import Case, Suite, Target

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
class RunSummary:
    """What ``ci-gate run`` says at the end, without the records (they are in the file)."""

    run: RunInfo
    latencies_ms: array[float]  # of the records not cached, in no particular order
    judged: int  # records whose assertions called a judge or an embedder
    judge_cached: int  # judge and embedder answers taken from the cache


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
    """``run_to_file``, then the results as written (for callers that compare them next)."""
    await run_to_file(suite, options, env, stream)
    return read_results(options.output)


async def run_to_file(
    suite: Suite,
    options: RunOptions,
    env: Mapping[str, str],
    stream: TextIO | None = None,
) -> RunSummary:
    """Run every case and sample; write the results file atomically and say how it went.

    An interrupted or budget-stopped run still writes a results file that accounts for every case
    and sample (the ones not made carry an error of kind ``interrupted`` or ``budget``), and keeps
    its journal so that running the same command again makes only the calls still missing.

    Each record goes to the journal and the tally as it finishes, and the results file is
    streamed from the journal: memory does not grow with the number of records.
    """
    stream = stream or sys.stderr  # looked up per call: test harnesses swap sys.stderr
    target = suite.target(options.target_id)
    repeats = options.repeats or suite.repeats
    concurrency = options.concurrency or suite.concurrency
    started_at, t0 = _now(), time.monotonic()
    git = in_thread(lambda: git_info(_suite_dir(suite), env), "git")
    cases = (
        select(suite.cases, options.shard, case_costs(suite, suite.cases, repeats))
        if options.shard is not None
        else list(suite.cases)
    )
    plan = Plan(suite, cases, target, repeats)

    client = make_client(concurrency, options.tls)
    cache = None
    try:
        provider = build_provider(target, client, env, _suite_dir(suite))
        # Judges and embedders are cached by their own targets' rule, even for a target that
        # is not (a python app judged by a model API).
        if options.use_cache and (target.cache or needs_graders(suite, cases)):
            cache = ResponseCache(options.cache_dir or default_cache_dir(env))
        jpath = journal_path(options.output)
        # The fingerprint stays the whole suite's: every shard of a run has the same one, and its
        # per-case hashes keep the suite's case order for `ci-gate merge`. Only a run that may
        # resume needs it before its first call.
        resuming = options.resume and jpath.exists()
        fp = fingerprint(suite, target) if resuming else None
        kept = (
            _kept(plan, provider, load_journal(jpath, fp.suite, target.id))
            if fp is not None
            else {}
        )
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
        if fp is not None:
            opening = Opening(done((fp, Journal(jpath, fp.suite, target.id, len(plan), kept))))
        else:
            opening = Opening(open_journal_soon(suite, target, jpath, len(plan)))
        tally = Tally()
        for record in kept.values():
            tally.add(record)
        skip = frozenset(kept)
        del kept
        progress = Progress(len(plan), stream, live=_live(stream, env), enabled=options.progress)
        gc.freeze()  # suite and setup objects live for the whole run: keep them out of GC passes
        try:
            await _run_items(plan, skip, opening, tally, executor, progress, concurrency)
        finally:
            progress.close()
            await provider.aclose()
            if scoring is not None:
                await scoring.graders.aclose()
        fp, journal = await opening.result()
    finally:
        await client.aclose()
        if cache is not None:
            cache.close()

    status, reason = "complete", None
    stop = ledger.stop
    if stop is not None:
        status = "interrupted" if stop.kind == "interrupted" else "budget_exhausted"
        reason = stop.reason
        # Counted now, written below: the totals come before the records in the file.
        for index in range(len(plan)):
            if not journal.has(index):
                tally.add(_not_run(plan.item(index), provider, stop))
    run = RunInfo(
        suite_name=suite.name,
        suite_version=suite.version,
        suite_path=suite.path,
        target_id=target.id,
        provider=target.provider,
        model=target.model,
        repeats=repeats,
        fingerprint=fp,
        git=await asyncio.wrap_future(git),
        ci_gate_version=__version__,
        started_at=started_at,
        finished_at=_now(),
        duration_s=round(time.monotonic() - t0, 3),
        status=status,
        stop_reason=reason,
        totals=tally.totals(len(cases), ledger.calls),
        prices_date=suite.prices.date,
        gate=dict(suite.gate.raw),
        shard=options.shard,
        judges=judges,
        spec=suite.raw.get("spec") or {},
    )
    infos = ((c.id, _case_info(c, fp.cases[c.id])) for c in cases)
    try:
        texts = _record_texts(plan, journal, provider, stop)
        write_chunks_atomic(options.output, results_json_parts(run, infos, texts))
    except BaseException:
        journal.close()  # the records are still there: the same command resumes from them
        raise
    if status == "complete":
        journal.remove()
    else:
        journal.close()
    return RunSummary(run, tally.latencies_ms, tally.judged, tally.judge_cached)


def _kept(
    plan: Plan, provider: Provider, finished: Mapping[tuple[str, int], Record]
) -> dict[int, Record]:
    """The earlier journal's records this run keeps, by item: those whose request is the same."""
    kept: dict[int, Record] = {}
    if finished:
        for item in plan:
            earlier = finished.get((item.case.id, item.request.sample))
            if earlier is not None and earlier.cache_key == cache_key(provider, item.request):
                kept[item.index] = earlier
    return kept


def _not_run(item: Item, provider: Provider, stop: StopRun) -> Record:
    return not_run_record(item.request, cache_key(provider, item.request), stop)


def _record_texts(
    plan: Plan, journal: Journal, provider: Provider, stop: StopRun | None
) -> Iterator[str]:
    """Each item's record as JSON text, in the suite's order: from the journal, or made now
    for an item a stopped run did not make."""
    for index in range(len(plan)):
        text = journal.line(index)
        if text is not None:
            yield text
        elif stop is not None:
            yield compact_json(record_to_dict(_not_run(plan.item(index), provider, stop)))


async def _run_items(
    plan: Plan,
    skip: frozenset[int],
    opening: Opening,
    tally: Tally,
    executor: Executor,
    progress: Progress,
    concurrency: int,
) -> None:
    # One shared iterator: each worker takes the next item when it is free.
    pending = (item for item in plan if item.index not in skip)
    ledger = executor.ledger

    async def worker(start_delay: float) -> None:
        if start_delay:
            await asyncio.sleep(start_delay)
        journal: Journal | None = None
        for item in pending:
            if ledger.stop is not None:
                return
            try:
                # Keys are made here, not up front: hashing overlaps with waiting for answers.
                key = cache_key(executor.provider, item.request)
                record = await executor.run_one(item.case, item.request, key)
            except StopRun:
                return
            # Kept on disk, not in memory; an error is journaled too (a resumed run skips it).
            if journal is None:
                journal = await opening.journal()
            journal.append(item.index, record)
            tally.add(record)
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
