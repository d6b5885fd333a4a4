"""The ``ci-gate`` command line: ``main(argv) -> exit code``; subcommands live in ``commands/``.

Heavy modules are imported inside the subcommands so that ``--version`` and ``validate`` start fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ci_gate import __version__
from ci_gate.commands.report_options import add_comparison_options, add_report_arguments
from ci_gate.errors import EXIT_INTERNAL, EXIT_USAGE, GateError, UsageError
from ci_gate.init.options import add_init_arguments


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so usage errors follow the one-line rule."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ci-gate",
        description="Run an LLM eval suite and gate changes on quality, latency and cost.",
    )
    parser.add_argument("--version", action="version", version=f"ci-gate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("run", help="run a suite and write a results file")
    p.add_argument("suite", help="the suite file (YAML)")
    p.add_argument("-o", "--output", default="ci-gate-results.json", help="results file to write")
    p.add_argument("--target", help="target id to run (default: the suite's default target)")
    p.add_argument("--repeats", type=int, help="samples per case (overrides the suite)")
    p.add_argument("--concurrency", type=int, help="calls in flight at once (overrides the suite)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--cache-dir", help="response cache directory (default .ci-gate/cache)")
    p.add_argument("--max-calls", type=int, help="stop the run after this many provider calls")
    p.add_argument("--max-cost", type=float, help="stop the run once this many dollars are spent")
    p.add_argument(
        "--fresh", action="store_true", help="ignore an interrupted run's journal and start over"
    )
    p.add_argument(
        "--reuse",
        metavar="BASELINE",
        help="results file whose responses to identical requests are reused instead of called",
    )
    p.add_argument(
        "--shard",
        metavar="INDEX/COUNT",
        help="run only one shard of the cases, e.g. 1/4; `ci-gate merge` joins the shards' results",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    p = sub.add_parser(
        "calibrate", help="measure how reliable the judges are and write the calibration file"
    )
    p.add_argument("suite", help="the suite file (YAML)")
    p.add_argument(
        "--repeats", type=int, default=5, help="verdicts per output (default 5, at least 2)"
    )
    p.add_argument(
        "--results", metavar="FILE", help="also judge the outputs of this results file (unlabelled)"
    )
    p.add_argument(
        "-o",
        "--output",
        help="calibration file to write (default: the suite's judge.calibration, else"
        " calibration.json next to the suite)",
    )
    p.add_argument("--concurrency", type=int, help="calls in flight at once (overrides the suite)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--cache-dir", help="response cache directory (default .ci-gate/cache)")
    p.add_argument("-q", "--quiet", action="store_true", help="print the summary, not the table")

    p = sub.add_parser("merge", help="join the results files of a sharded run into one")
    p.add_argument("parts", nargs="+", metavar="PART", help="results files of the shards")
    p.add_argument("-o", "--output", required=True, help="results file to write")

    p = sub.add_parser(
        "action",
        help="the GitHub Action's entry point: reads INPUT_* and GITHUB_* from the runner",
    )

    p = sub.add_parser("validate", help="check a suite file and print what it holds")
    p.add_argument("suite", help="the suite file (YAML)")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when the spec leaves a behaviour, failure mode or case uncovered",
    )

    p = sub.add_parser(
        "init", help="write a first suite, its spec and the workflow files (asks, or from flags)"
    )
    add_init_arguments(p)

    p = sub.add_parser("schema", help="print a JSON Schema (for editors and tools)")
    p.add_argument(
        "which",
        nargs="?",
        default="suite",
        choices=["suite", "results"],
        help="suite (default) or results",
    )

    p = sub.add_parser("compare", help="compare two results files and gate on the change")
    p.add_argument("base", help="results file of the baseline run")
    p.add_argument("head", help="results file of the run under test")
    add_comparison_options(p)
    p.add_argument(
        "--exit-code",
        action="append",
        metavar="VERDICT=N",
        help="exit code for a verdict, e.g. inconclusive=1 (repeatable)",
    )
    p.add_argument("--markdown", metavar="FILE", help="also write the markdown report to FILE")
    p.add_argument("--json", metavar="FILE", help="write the full report as JSON to FILE")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML for test reporters to FILE")
    p.add_argument("--html", metavar="FILE", help="write the HTML report viewer to FILE")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the verdict's headline")

    p = sub.add_parser("report", help="compare two results files and write the reports (HTML)")
    add_report_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        if args.command == "run":
            from ci_gate.commands.run import cmd_run

            return cmd_run(args, os.environ)
        if args.command == "validate":
            from ci_gate.commands.validate import cmd_validate

            return cmd_validate(args)
        if args.command == "init":
            from ci_gate.commands.init import cmd_init

            return cmd_init(args)
        if args.command == "schema":
            from ci_gate.commands.schema import cmd_schema

            return cmd_schema(args)
        if args.command == "compare":
            from ci_gate.commands.compare import cmd_compare

            return cmd_compare(args, os.environ)
        if args.command == "report":
            from ci_gate.commands.report import cmd_report

            return cmd_report(args, os.environ)
        if args.command == "calibrate":
            from ci_gate.commands.calibrate import cmd_calibrate

            return cmd_calibrate(args, os.environ)
        if args.command == "merge":
            from ci_gate.commands.merge import cmd_merge

            return cmd_merge(args)
        if args.command == "action":
            from ci_gate.commands.action import cmd_action

            return cmd_action(os.environ)
        raise UsageError(f"unknown command {args.command!r}")
    except GateError as exc:
        for line in exc.lines():
            print(f"error: {line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("CI_GATE_DEBUG"):
            raise
        print(
            f"error: internal error: {type(exc).__name__}: {exc} "
            "(a bug in ci-gate; rerun with CI_GATE_DEBUG=1 for a traceback and report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def main_entry() -> None:
    sys.exit(main())
