"""Measure how fast ci-gate starts: `ci-gate --version` and `ci-gate validate` on the bundled
example, each in a fresh process, N times; prints the median and the fastest wall time, and the
peak RSS of the slowest run.

    python bench/bench_startup.py --runs 20
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "support-bot" / "suite.yaml"


def measure(args: list[str], runs: int) -> tuple[list[float], float]:
    times: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return times, peak


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    commands = {
        "ci-gate --version": [sys.executable, "-m", "ci_gate", "--version"],
        "ci-gate validate": [sys.executable, "-m", "ci_gate", "validate", str(EXAMPLE)],
    }
    for name, argv in commands.items():
        times, peak = measure(argv, args.runs)
        print(
            f"{name:20s} median {statistics.median(times) * 1000:6.0f} ms  "
            f"fastest {min(times) * 1000:6.0f} ms  peak_rss_mb {peak:5.1f}  ({args.runs} runs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
