"""``ci-gate report BASE HEAD --html FILE``: compare two results files and write the reports.

The same comparison as ``ci-gate compare`` (same options, same policy), but a viewer, not a
gate: it exits 0 once the reports are written, whatever the verdict; 2 for a bad command line or
file, 3 for a bug. ``--history FILE...`` takes earlier results files (baselines) for the trend.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence

from ci_gate.baseline.index import IndexEntry
from ci_gate.commands.compare import Compared, compare_files, write_text_reports
from ci_gate.commands.output_path import check_output
from ci_gate.errors import EXIT_PASS, UsageError
from ci_gate.results.store import read_results

REPORT_OPTIONS = ("html", "markdown", "json", "junit")


def history_entries(paths: Sequence[str]) -> list[IndexEntry]:
    from ci_gate.report.html_data import history_entry

    return [history_entry(read_results(path), path) for path in paths]


def write_html_report(path: str, done: Compared, history: Sequence[IndexEntry] = ()) -> None:
    from ci_gate.report.html import write_html

    # No history (an empty one) gives the trend's note on how to get one.
    write_html(path, done.comparison, done.gate, done.base, done.head, history=history)


def cmd_report(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    if not any(getattr(args, option) for option in REPORT_OPTIONS):
        raise UsageError(
            "ci-gate report: no report to write; give --html FILE (and/or --markdown, --json,"
            " --junit FILE)"
        )
    for option in REPORT_OPTIONS:
        check_output(getattr(args, option), f"--{option}")
    # Earlier baselines are read first: a bad one stops the command before the comparison.
    history = history_entries(args.history or ())
    done = compare_files(args, env)
    written: list[str] = []
    if args.html:
        write_html_report(args.html, done, history)
        written.append(args.html)
    written += write_text_reports(args, done)
    if not args.quiet:
        from ci_gate.report.sanitize import log_line

        print(log_line(f"ci-gate {done.gate.verdict}: {done.gate.headline}", max_len=2000))
        for path in written:
            print(log_line(f"wrote {path}", max_len=2000))
    return EXIT_PASS
