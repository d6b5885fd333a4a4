"""``ci-gate merge``: join the results files of a sharded run into one results file."""

from __future__ import annotations

import argparse

from ci_gate.commands.output_path import check_output
from ci_gate.results.merge import merge_results
from ci_gate.results.model import Results
from ci_gate.results.store import read_results, write_results


def cmd_merge(args: argparse.Namespace) -> int:
    check_output(args.output, "-o")
    parts = [(str(path), read_results(path)) for path in args.parts]
    merged = merge_results(parts)
    write_results(merged, args.output)
    sharded = any(results.run.shard is not None for _, results in parts)
    print(merge_summary(merged, len(parts) if sharded else 0, args.output))
    return 0


def merge_summary(merged: Results, shards: int, output: str) -> str:
    """One line; ``shards`` is 0 when the one file given was a whole run, written unchanged."""
    run = merged.run
    t = run.totals
    what = f"merged {shards} shard{'' if shards == 1 else 's'}" if shards else "not sharded"
    # The reason comes from a file: kept to one line.
    reason = " ".join(run.stop_reason.split()) if run.stop_reason else ""
    return (
        f"ci-gate: {run.suite_name} on {run.target_id}: {what}: {t.cases} cases x {run.repeats} "
        f"= {t.records} records: {t.passed} passed, {t.failed} failed, {t.errored} errors"
        + (f", {t.not_run} not run" if t.not_run else "")
        + f"; {run.status.replace('_', ' ')}"
        + (f" ({reason})" if reason else "")
        + f"; {run.duration_s:.1f} s -> {output}"
    )
