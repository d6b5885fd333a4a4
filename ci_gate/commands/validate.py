"""``ci-gate validate``: load a suite, report its problems or a one-paragraph summary."""

from __future__ import annotations

import argparse

from ci_gate.suite.fingerprint import fingerprint
from ci_gate.suite.load import load_suite


def cmd_validate(args: argparse.Namespace) -> int:
    suite = load_suite(args.suite)
    target = suite.target()
    tags = sorted({t for c in suite.cases for t in c.tags})
    assertions = sum(len(c.assertions) for c in suite.cases)
    fp = fingerprint(suite, target)
    print(
        f"ok: {args.suite}: suite {suite.name!r} version {suite.version}: "
        f"{len(suite.cases)} cases, {assertions} assertions, {len(tags)} tags, "
        f"{len(suite.targets)} target(s) (default {target.id!r}, {target.provider}), "
        f"repeats {suite.repeats}, concurrency {suite.concurrency}"
    )
    print(f"fingerprint: {fp.suite}")
    return 0
