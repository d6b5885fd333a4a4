"""``ci-gate calibrate``: judge labelled outputs repeatedly, write the calibration file, and print
how reliable each judge is. The work is in ``ci_gate.judge.calibrate``."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from tabulate import tabulate

from ci_gate.assertions.text import one_line
from ci_gate.commands.output_path import check_output
from ci_gate.errors import EXIT_FAIL, UsageError
from ci_gate.judge.calibrate import CalibrateOptions, Report, calibrate
from ci_gate.judge.calibration import Calibration
from ci_gate.providers.http_client import tls_context_soon
from ci_gate.results.store import read_results
from ci_gate.suite.load import load_suite

HEADERS = (
    "assertion",
    "judge",
    "outputs",
    "labels",
    "self-agreement",
    "accuracy",
    "kappa",
    "errors",
    "status",
)


def cmd_calibrate(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    if args.repeats < 2:
        raise UsageError(
            f"--repeats must be at least 2 (agreement needs repeated verdicts), got {args.repeats}"
        )
    if args.concurrency is not None and args.concurrency <= 0:
        raise UsageError(f"--concurrency must be greater than 0, got {args.concurrency}")
    check_output(args.output, "-o")
    tls = tls_context_soon()
    suite = load_suite(args.suite)
    options = CalibrateOptions(
        repeats=args.repeats,
        results=read_results(args.results) if args.results else None,
        output=args.output,
        use_cache=not args.no_cache,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        concurrency=args.concurrency,
        tls=tls,
    )
    report = calibrate(suite, options, env)
    if not args.quiet:
        print(table(report))
    for line in summary(report):
        print(line)
    return 0 if report.written else EXIT_FAIL


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _kappa(entry: Calibration | None) -> str:
    if entry is None or entry.labels == 0:
        return "-"
    return "undefined" if entry.kappa is None else f"{entry.kappa:.2f}"


def table(report: Report) -> str:
    """One plain-text row per calibration key. Only names and numbers: never an output."""
    rows = []
    for o in report.outcomes:
        group, entry = o.group, o.entry
        judge = group.judge
        labelled = sum(i.label is not None for i in group.items)
        rows.append(
            [
                ", ".join(group.names),
                judge.id if judge.model is None else f"{judge.id} ({judge.model})",
                str(len(group.items)),
                str(entry.labels if entry is not None else labelled),
                _pct(entry.self_agreement if entry is not None else None),
                _pct(entry.accuracy if entry is not None else None),
                _kappa(entry),
                str(o.errors),
                o.status,
            ]
        )
    return str(tabulate(rows, headers=list(HEADERS), tablefmt="simple", disable_numparse=True))


def summary(report: Report) -> list[str]:
    lines = []
    for o in report.outcomes:
        if o.errors:
            total = len(o.group.items) * report.repeats
            lines.append(
                f"ci-gate: {', '.join(o.group.names)}: {o.errors} of {total} judgement(s) failed"
                f" and are left out of the statistics; the first: {one_line(o.first_error or '')}"
            )
    dest = report.destination
    usage = (
        f"{report.judge_calls} judge call(s), {report.cached_calls} cached,"
        f" ${report.spent_usd:.4f} spent"
    )
    if not report.written:
        lines.append(f"ci-gate: no calibration written (every judgement failed); {usage}")
        return lines
    kept = f"; kept {report.kept} other entr{'y' if report.kept == 1 else 'ies'}"
    lines.append(
        f"ci-gate: wrote {report.written} calibration(s) to {dest.shown} ({dest.source})"
        + (kept if report.kept else "")
        + f"; {usage}"
    )
    if not dest.in_use:
        lines.append(
            f"ci-gate: runs use it once the suite's judge section says calibration: {dest.relative}"
        )
    return lines
