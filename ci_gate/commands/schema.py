"""``ci-gate schema``: print the suite or results JSON Schema."""

from __future__ import annotations

import argparse
import sys
from importlib import resources


def cmd_schema(args: argparse.Namespace) -> int:
    package = "ci_gate.suite" if args.which == "suite" else "ci_gate.results"
    sys.stdout.write(resources.files(package).joinpath("schema.json").read_text("utf-8"))
    return 0
