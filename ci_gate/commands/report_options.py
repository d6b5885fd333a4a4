"""The command line of ``ci-gate report``, and the comparison options it shares with
``compare``: kept apart from ``report.py`` so that building the parser imports nothing heavy
(``ci-gate --version`` and ``validate`` must start fast)."""

from __future__ import annotations

import argparse


def add_report_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("base", help="results file of the baseline run")
    p.add_argument("head", help="results file of the run under test")
    p.add_argument("--html", metavar="FILE", help="write the HTML report viewer to FILE")
    p.add_argument("--markdown", metavar="FILE", help="also write the markdown report to FILE")
    p.add_argument("--json", metavar="FILE", help="also write the full report as JSON to FILE")
    p.add_argument("--junit", metavar="FILE", help="also write JUnit XML to FILE")
    p.add_argument(
        "--history",
        nargs="+",
        metavar="FILE",
        help="earlier results files (baselines) for the trend charts, in any order",
    )
    add_comparison_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")


def add_comparison_options(p: argparse.ArgumentParser) -> None:
    """How two runs are compared and gated: shared by ``compare`` and ``report``."""
    p.add_argument(
        "--mode", choices=["pr", "release"], default="pr", help="pr (default) or release"
    )
    p.add_argument(
        "--policy",
        default="base",
        help="gate policy: base (default: the baseline's gate section), head, or a suite FILE",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a policy key, e.g. quality.pass_rate.max_drop=1pt (repeatable)",
    )
    p.add_argument(
        "--pairwise",
        metavar="SUITE",
        help="also ask the SUITE's pairwise judge which output of each case is better"
        " (gate metric quality.preference)",
    )
    p.add_argument("--no-cache", action="store_true", help="with --pairwise: ask the judge afresh")
    p.add_argument("--seed", type=int, help="bootstrap seed (default: the policy's, else 0)")
    p.add_argument("--resamples", type=int, help="bootstrap resamples (default: the policy's)")
