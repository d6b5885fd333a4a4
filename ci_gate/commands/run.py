"""``ci-gate run``: run a suite and write its results file."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path

from ci_gate.commands.output_path import check_output
from ci_gate.errors import EXIT_FAIL, UsageError
from ci_gate.providers.http_client import tls_context_soon
from ci_gate.results.store import read_results
from ci_gate.run.runner import RunOptions, RunSummary, run_to_file
from ci_gate.run.shard import parse_shard
from ci_gate.suite.load import load_suite


def _positive(name: str, value: int | float | None) -> None:
    if value is not None and not value > 0:  # NaN too: it would mean no budget at all
        raise UsageError(f"--{name} must be greater than 0, got {value}")


def cmd_run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    for name in ("repeats", "concurrency", "max_calls", "max_cost"):
        _positive(name.replace("_", "-"), getattr(args, name))
    shard = parse_shard(args.shard) if args.shard is not None else None
    check_output(args.output, "-o")
    tls = tls_context_soon()
    suite = load_suite(args.suite)
    if args.target is not None and args.target not in {t.id for t in suite.targets}:
        known = ", ".join(t.id for t in suite.targets)
        raise UsageError(
            f"--target {args.target!r} is not a target of {args.suite} (known: {known})"
        )
    options = RunOptions(
        output=Path(args.output),
        target_id=args.target,
        use_cache=not args.no_cache,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        repeats=args.repeats,
        concurrency=args.concurrency,
        max_calls=args.max_calls,
        max_cost_usd=args.max_cost,
        resume=not args.fresh,
        progress=not args.quiet,
        tls=tls,
        reuse_from=read_results(args.reuse) if args.reuse else None,
        shard=shard,
    )
    summary = asyncio.run(run_to_file(suite, options, env))
    print(summary_line(summary, args.output))
    if summary.run.status != "complete":
        print(
            f"ci-gate: the run stopped early: {summary.run.stop_reason}; the results file accounts "
            "for every case; run the same command again to finish the rest",
            file=sys.stderr,
        )
        return EXIT_FAIL
    return 0


def summary_line(summary: RunSummary, output: str) -> str:
    run = summary.run
    t = run.totals
    latencies = sorted(summary.latencies_ms)
    p50 = "n/a"
    if latencies:
        mid = latencies[len(latencies) // 2]
        p50 = f"{mid:.1f} ms" if mid < 10 else f"{mid:.0f} ms"
    shard = f" (shard {run.shard.describe()})" if run.shard is not None else ""
    return (
        f"ci-gate: {run.suite_name} on {run.target_id}{shard}: {t.cases} cases x {run.repeats} "
        f"= {t.records} records: {t.passed} passed, {t.failed} failed, {t.errored} errors"
        + (f", {t.not_run} not run" if t.not_run else "")
        + f"; {t.cached} cached"
        + (f", {t.reused} reused from the baseline" if t.reused else "")
        + f"; p50 latency {p50}; cost ${t.cost_usd:.4f} "
        f"(spent ${t.cost_usd_spent:.4f})"
        + _graders_part(summary)
        + f"; {run.duration_s:.1f} s -> {output}"
    )


def _graders_part(summary: RunSummary) -> str:
    """Judges and embedders, apart from the target: their calls are not the product's cost."""
    t = summary.run.totals
    if not t.judge_calls and not summary.judged:
        return ""
    cached = summary.judge_cached
    advisory = sum(1 for j in summary.run.judges if j.advisory is not None)
    return (
        f"; judges and embedders: {t.judge_calls} calls"
        + (f" ({cached} cached)" if cached else "")
        + f", ${t.judge_cost_usd:.4f} at list price"
        + (f", {advisory} judged assertion(s) advisory" if advisory else "")
    )
