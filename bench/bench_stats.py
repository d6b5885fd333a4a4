"""Measure the statistics the compare stage runs, at sizes larger than real suites.

Prints one ``name: value unit`` line per figure: wall time (best of ``--repeat`` runs) and peak
traced memory (numpy buffers included, via tracemalloc, measured in a separate run so tracing
does not slow the timed one), then the process's peak resident set size.

    python bench/bench_stats.py
    python bench/bench_stats.py --cases 100000 --samples 3 --latencies 300000 --repeat 3
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ci_gate.stats import (
    mcnemar_exact,
    mcnemar_exact_worse,
    paired_delta,
    paired_p_value,
    per_case_means,
    percentile_ci,
    quantile_delta,
)


def measure(name: str, work: Callable[[], object], repeat: int) -> None:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{name}_time: {best * 1000:.1f} ms")
    print(f"{name}_peak_memory: {peak / 2**20:.1f} MiB")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=3, help="repeats per case")
    parser.add_argument("--group-size", type=int, default=10, help="cases per group")
    parser.add_argument("--latencies", type=int, default=300_000)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    cases, samples = args.cases, args.samples
    # Pass/fail per sample; head slightly worse.
    base_runs = rng.random((cases, samples)) < 0.80
    head_runs = rng.random((cases, samples)) < 0.79
    names = [f"case-{i:06d}" for i in range(cases)]
    base_by_case = {
        name: [float(v) for v in row] for name, row in zip(names, base_runs, strict=True)
    }
    head_by_case = {
        name: [float(v) for v in row] for name, row in zip(names, head_runs, strict=True)
    }
    groups = [f"group-{i // args.group_size}" for i in range(cases)]
    resamples = args.resamples

    means: dict[str, list[float]] = {}

    def average() -> None:
        means["base"] = list(per_case_means(base_by_case).values())
        means["head"] = list(per_case_means(head_by_case).values())

    print(f"cases: {cases} cases")
    print(f"samples_per_case: {samples} samples")
    print(f"resamples: {resamples} resamples")
    measure("per_case_means_both_runs", average, args.repeat)
    base, head = means["base"], means["head"]
    measure(
        "paired_delta_pass_fail",
        lambda: paired_delta(base, head, resamples=resamples),
        args.repeat,
    )
    measure(
        "paired_delta_pass_fail_grouped",
        lambda: paired_delta(base, head, groups, resamples=resamples),
        args.repeat,
    )
    measure(
        "paired_p_value_pass_fail",
        lambda: paired_p_value(base, head, resamples=resamples),
        args.repeat,
    )
    # Continuous scores: almost every difference is distinct, so resampling goes by index.
    score_base = rng.beta(5, 2, size=cases)
    score_head = np.clip(score_base + rng.normal(-0.005, 0.05, size=cases), 0, 1)
    measure(
        "paired_delta_scores",
        lambda: paired_delta(score_base, score_head, resamples=resamples),
        args.repeat,
    )
    measure(
        "paired_delta_scores_grouped",
        lambda: paired_delta(score_base, score_head, groups, resamples=resamples),
        args.repeat,
    )
    measure(
        "paired_p_value_scores",
        lambda: paired_p_value(score_base, score_head, resamples=resamples),
        args.repeat,
    )

    regressed = int(np.count_nonzero(base_runs[:, 0] & ~head_runs[:, 0]))
    fixed = int(np.count_nonzero(~base_runs[:, 0] & head_runs[:, 0]))
    measure(
        "mcnemar_exact",
        lambda: (mcnemar_exact(regressed, fixed), mcnemar_exact_worse(regressed, fixed)),
        args.repeat,
    )
    measure(
        "mcnemar_exact_million_pairs",
        lambda: mcnemar_exact(499_000, 501_000),
        args.repeat,
    )

    latency_base = rng.lognormal(6.0, 0.5, size=args.latencies)
    latency_head = rng.lognormal(6.05, 0.5, size=args.latencies)
    print(f"latency_samples: {args.latencies} samples")
    measure(
        "percentile_ci_p50_p95_p99",
        lambda: [percentile_ci(latency_head, q) for q in (50, 95, 99)],
        args.repeat,
    )
    measure(
        "quantile_delta_p50_p95_p99",
        lambda: [
            quantile_delta(latency_base, latency_head, q, resamples=resamples) for q in (50, 95, 99)
        ],
        args.repeat,
    )
    max_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"process_max_rss: {max_rss_kib / 1024:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
