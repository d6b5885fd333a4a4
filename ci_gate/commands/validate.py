"""``ci-gate validate``: load a suite, report its problems or a one-paragraph summary."""

from __future__ import annotations

import argparse

from ci_gate.suite.fingerprint import fingerprint
from ci_gate.suite.load import load_suite


def summary_lines(path: str) -> list[str]:
    """What ``validate`` prints for a suite that loads; a bad suite raises its ``GateError``."""
    suite = load_suite(path)
    target = suite.target()
    tags = sorted({t for c in suite.cases for t in c.tags})
    assertions = sum(len(c.assertions) for c in suite.cases)
    fp = fingerprint(suite, target)
    return [
        f"ok: {path}: suite {suite.name!r} version {suite.version}: "
        f"{len(suite.cases)} cases, {assertions} assertions, {len(tags)} tags, "
        f"{len(suite.targets)} target(s) (default {target.id!r}, {target.provider}), "
        f"repeats {suite.repeats}, concurrency {suite.concurrency}",
        f"fingerprint: {fp.suite}",
    ]


def cmd_validate(args: argparse.Namespace) -> int:
    for line in summary_lines(args.suite):
        print(line)
    return 0
