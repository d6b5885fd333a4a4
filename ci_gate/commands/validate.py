"""``ci-gate validate``: load a suite, report its problems or a one-paragraph summary."""

from __future__ import annotations

import argparse

from ci_gate.errors import EXIT_FAIL
from ci_gate.suite.coverage import Coverage, coverage, coverage_lines
from ci_gate.suite.fingerprint import fingerprint
from ci_gate.suite.load import load_suite
from ci_gate.suite.model import Suite


def summary_lines(path: str) -> list[str]:
    """What ``validate`` prints for a suite that loads; a bad suite raises its ``GateError``."""
    suite = load_suite(path)
    return _lines(suite, path, coverage(suite))


def _lines(suite: Suite, path: str, found: Coverage | None) -> list[str]:
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
        *coverage_lines(found),
    ]


def cmd_validate(args: argparse.Namespace) -> int:
    suite = load_suite(args.suite)
    found = coverage(suite)
    for line in _lines(suite, args.suite, found):
        print(line)
    if args.strict and (found is None or found.gaps):
        print("error: --strict: the spec does not cover the suite (see the warnings above)")
        return EXIT_FAIL
    return 0
