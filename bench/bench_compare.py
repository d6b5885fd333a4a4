"""Measure `ci-gate compare` on two large runs: compare() + decide(), and reading a results file.

Builds two runs of ``--cases`` cases x ``--samples`` samples in memory, realistic enough to
exercise every path: 8 tags (one or two per case), a third of the cases in groups of 3 to 5
paraphrases, three or four assertions per record over three layers (one non-blocking), flaky
cases, a head run 2 points worse, log-normal latencies, 10% cached records, costs from token
counts, and 0.5% provider errors. Identical assertion outcomes share one object in memory.

Prints ``name: value unit`` lines: the best wall time of ``--repeat`` runs of
compare()+decide() (and the first run's, which pays for cold caches), the peak memory traced
while they run (tracemalloc: Python objects and numpy buffers, measured in a separate run so
tracing does not slow the timed one), the process's peak resident set size; then, in a fresh
process (so its memory is its own), the time and peak RSS of ``read_results`` on the written
base file, and compare()+decide() again on both runs as read from their files: the figure a
CLI user sees, slower than the in-memory one because a decoded file is millions of separate
objects (the first run is the CLI's: a fresh process compares once), then the markdown report.
Last, ``ci-gate compare BASE HEAD --markdown r.md -q`` end to end, process start to exit,
``--repeat`` times (each in a fresh process: imports, reading both files, comparing, deciding,
rendering and writing the report), and the time its imports take.

    python bench/bench_compare.py
    python bench/bench_compare.py --cases 10000 --repeat 1
    python bench/bench_compare.py --cases 50000 --samples 1 --repeat 3
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ci_gate.compare.compare import compare  # noqa: E402
from ci_gate.gate.decide import decide  # noqa: E402
from ci_gate.gate.policy import parse_policy  # noqa: E402
from ci_gate.report.json_report import render_json  # noqa: E402
from ci_gate.report.junit import render_junit  # noqa: E402
from ci_gate.report.markdown import render_markdown  # noqa: E402
from ci_gate.results.model import (  # noqa: E402
    AssertionOutcome,
    CaseInfo,
    Fingerprint,
    GitInfo,
    Record,
    RecordError,
    Results,
    RunInfo,
)
from ci_gate.results.store import read_results, write_results  # noqa: E402
from ci_gate.run.totals import totals  # noqa: E402

TAGS = ("refunds", "shipping", "billing", "account", "orders", "safety", "tone", "escalation")
ASSERTIONS = (  # name, type, layer, blocking
    ("contains", "contains", "knowledge", True),
    ("concise", "length", "format", False),
    ("no-ai-disclaimer", "not-contains", "instructions", True),
)
JSON_ASSERTION = ("valid-json", "is-json", "format", True)
GATE = {
    "alpha": 0.05,
    "quality": {"pass_rate": {"max_drop": "2pt"}, "layers": {"format": {"max_drop": "3pt"}}},
    "latency": {"p95": {"max_increase": "25%"}},
    "cost": {"per_case": {"max_increase": "20%"}, "budget_usd": 1000.0},
    "errors": {"max_rate": "5%"},
}


def _outcome(spec: tuple[str, str, str, bool], passed: bool) -> AssertionOutcome:
    name, kind, layer, blocking = spec
    return AssertionOutcome(
        name=name,
        type=kind,
        passed=passed,
        score=1.0 if passed else 0.0,
        weight=1.0,
        blocking=blocking,
        layer=layer,
        message="" if passed else f"{name} failed on this output",
    )


def _groups(n: int, rng: np.random.Generator) -> list[str | None]:
    """A third of the cases in groups of 3 to 5 neighbouring paraphrases, the rest alone."""
    groups: list[str | None] = []
    while len(groups) < n:
        size = int(rng.integers(3, 6))
        if rng.random() < 1 / 3:
            groups += [f"g{len(groups)}"] * size
        else:
            groups += [None] * size
    return groups[:n]


def build_cases(n: int, rng: np.random.Generator) -> dict[str, CaseInfo]:
    ids = [f"case-{i:06d}" for i in range(n)]
    tag_a = rng.integers(0, len(TAGS), n)
    tag_b = rng.integers(0, len(TAGS), n)
    two = rng.random(n) < 0.4
    groups = _groups(n, rng)
    cases = {}
    for i, cid in enumerate(ids):
        tags = (
            (TAGS[tag_a[i]], TAGS[tag_b[i]])
            if two[i] and tag_a[i] != tag_b[i]
            else (TAGS[tag_a[i]],)
        )
        cases[cid] = CaseInfo(
            id=cid,
            tags=tags,
            group=groups[i],
            vars={"question": f"question {i}"},
            expected="30 days",
            fingerprint=f"sha256:{i:064x}",
        )
    return cases


def build_records(
    cases: dict[str, CaseInfo], samples: int, pass_prob: np.ndarray, rng: np.random.Generator
) -> list[Record]:
    n = len(cases)
    shape = (n, samples)
    knowledge = rng.random(shape) < pass_prob[:, None]
    concise = rng.random(shape) < 0.97
    instructions = rng.random(shape) < 0.99
    json_cases = rng.random(n) < 0.2
    json_ok = rng.random(shape) < 0.98
    errored = rng.random(shape) < 0.005
    cached = rng.random(shape) < 0.10
    latency = rng.lognormal(np.log(800.0), 0.5, shape)
    tokens_in = rng.integers(200, 1200, shape)
    tokens_out = rng.integers(20, 400, shape)
    specs = (*ASSERTIONS, JSON_ASSERTION)
    shared = {(spec[0], ok): _outcome(spec, bool(ok)) for spec in specs for ok in (0, 1)}
    error = RecordError("server_error", "HTTP 503 from the provider")
    records = []
    for i, cid in enumerate(cases):
        for s in range(samples):
            if errored[i, s]:
                records.append(
                    Record(
                        cid,
                        s,
                        None,
                        None,
                        None,
                        (),
                        None,
                        None,
                        None,
                        None,
                        False,
                        4,
                        f"k{i}/{s}",
                        error=error,
                    )
                )
                continue
            flags = [bool(knowledge[i, s]), bool(concise[i, s]), bool(instructions[i, s])]
            outcomes = [
                shared[(spec[0], int(ok))] for spec, ok in zip(ASSERTIONS, flags, strict=True)
            ]
            if json_cases[i]:
                outcomes.append(shared[(JSON_ASSERTION[0], int(json_ok[i, s]))])
                flags.append(bool(json_ok[i, s]))
            blocking_ok = all(ok for ok, o in zip(flags, outcomes, strict=True) if o.blocking)
            t_in, t_out = int(tokens_in[i, s]), int(tokens_out[i, s])
            records.append(
                Record(
                    case_id=cid,
                    sample=s,
                    output="Refunds take 30 days.",
                    passed=blocking_ok,
                    score=sum(flags) / len(flags),
                    assertions=tuple(outcomes),
                    latency_ms=float(latency[i, s]),
                    input_tokens=t_in,
                    output_tokens=t_out,
                    cost_usd=(t_in * 0.15 + t_out * 0.6) / 1e6,
                    cached=bool(cached[i, s]),
                    attempts=1,
                    cache_key=f"k{i}/{s}",
                )
            )
    return records


def build_run(cases: dict[str, CaseInfo], records: list[Record], samples: int) -> Results:
    h = "sha256:" + "0" * 64
    fingerprint = Fingerprint(
        suite=h,
        target=h,
        prompts={"support": h},
        assertions=h,
        repeats=str(samples),
        prices=h,
        cases={cid: c.fingerprint for cid, c in cases.items()},
    )
    run = RunInfo(
        suite_name="bench",
        suite_version="1",
        suite_path="bench.yaml",
        target_id="app",
        provider="fake",
        model="fake-model",
        repeats=samples,
        fingerprint=fingerprint,
        git=GitInfo("abc1234", "main", False),
        ci_gate_version="0.1.0",
        started_at="2026-11-23T00:00:00.000+00:00",
        finished_at="2026-11-23T00:10:00.000+00:00",
        duration_s=600.0,
        status="complete",
        stop_reason=None,
        totals=totals(records, len(cases), len(records)),
        prices_date="2026-11-01",
        gate=GATE,
    )
    return Results(run=run, cases=cases, records=tuple(records))


def build(n: int, samples: int, seed: int) -> tuple[Results, Results]:
    rng = np.random.default_rng(seed)
    cases = build_cases(n, rng)
    kind = rng.random(n)
    # 70% easy cases, 15% hard ones, 15% flaky ones; head loses 2 points on average.
    base_p = np.where(kind < 0.7, 0.97, np.where(kind < 0.85, 0.1, 0.5))
    head_p = np.clip(base_p - rng.choice([0.0, 0.2], n, p=[0.9, 0.1]), 0.0, 1.0)
    base = build_run(cases, build_records(cases, samples, base_p, rng), samples)
    head = build_run(cases, build_records(cases, samples, head_p, rng), samples)
    return base, head


def _maxrss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1e6 if sys.platform == "darwin" else rss * 1024 / 1e6  # bytes on macOS, else KiB


def from_files(base_path: str, head_path: str, repeat: int) -> None:
    """Child process: read both files, then compare them as the CLI does.

    Runs read from a file are millions of separate objects (the in-memory build shares its
    assertion outcomes), so this is the figure a user of ``ci-gate compare`` sees.
    """
    start = time.perf_counter()
    base = read_results(base_path)
    print(f"read_results: {time.perf_counter() - start:.2f} s")
    print(f"read_results_records: {len(base.records)} records")
    print(f"read_results_peak_rss: {_maxrss_mb():.0f} MB")
    head = read_results(head_path)
    policy = parse_policy(base.run.gate)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        gate = decide(comparison := compare(base, head), policy, "pr")
        times.append(time.perf_counter() - start)
    # The first run is the one `ci-gate compare` makes: a fresh process compares once.
    print(f"compare_and_decide_from_files: {min(times):.2f} s (first run {times[0]:.2f} s)")
    print(f"peak_rss_with_both_files: {_maxrss_mb():.0f} MB")
    start = time.perf_counter()
    render_markdown(comparison, gate)
    print(f"report_markdown_first_in_process: {time.perf_counter() - start:.2f} s")


def _import_time() -> float:
    """Seconds a fresh process takes to import what `ci-gate compare` imports before reading."""
    code = (
        "import time; s = time.perf_counter(); import ci_gate.cli, ci_gate.commands.compare; "
        "print(time.perf_counter() - s)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return float(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--read", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:
        from_files(args.read[0], args.read[1], args.repeat)
        return

    start = time.perf_counter()
    base, head = build(args.cases, args.samples, args.seed)
    print(f"build: {time.perf_counter() - start:.1f} s")
    print(f"records: {len(base.records) + len(head.records)} records")
    rss_before = _maxrss_mb()
    policy = parse_policy(GATE)

    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = decide(compare(base, head), policy, "pr")
        times.append(time.perf_counter() - start)
    print(f"compare_and_decide: {min(times):.2f} s")
    print(f"compare_and_decide_first_run: {times[0]:.2f} s")
    print(f"verdict: {result.verdict}")
    rss_after = _maxrss_mb()
    print(f"peak_rss_inputs: {rss_before:.0f} MB")
    print(f"peak_rss: {rss_after:.0f} MB")
    print(f"compare_and_decide_rss_growth: {rss_after - rss_before:.0f} MB")

    comparison = compare(base, head)
    gate = decide(comparison, policy, "pr")
    renders: tuple[tuple[str, Callable[[], str]], ...] = (
        ("report_markdown", lambda: render_markdown(comparison, gate)),
        ("report_json", lambda: render_json(comparison, gate)),
        ("report_junit", lambda: render_junit(comparison, gate)),
    )
    for name, render in renders:
        start = time.perf_counter()
        text = render()
        print(f"{name}: {time.perf_counter() - start:.2f} s ({len(text) / 1e3:.0f} kB)")

    tracemalloc.start()
    decide(compare(base, head), policy, "pr")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"compare_and_decide_traced_peak: {peak / 1e6:.0f} MB")

    with tempfile.TemporaryDirectory() as tmp:
        base_path, head_path = Path(tmp) / "base.json", Path(tmp) / "head.json"
        write_results(base, base_path)
        write_results(head, head_path)
        print(f"results_file: {base_path.stat().st_size / 1e6:.0f} MB")
        del base, head
        repeat = ["--repeat", str(args.repeat)]
        out = subprocess.run(
            [sys.executable, __file__, "--read", str(base_path), str(head_path), *repeat],
            check=False,
            capture_output=True,
            text=True,
        )
        sys.stdout.write(out.stdout)
        if out.returncode:
            sys.exit(f"reading the results files failed:\n{out.stderr}")
        report = Path(tmp) / "r.md"
        walls = []
        for _ in range(args.repeat):
            argv = [sys.executable, "-m", "ci_gate", "compare", str(base_path), str(head_path)]
            start = time.perf_counter()
            done = subprocess.run(
                [*argv, "--markdown", str(report), "-q"], check=False, capture_output=True
            )
            walls.append(time.perf_counter() - start)
            if done.returncode not in (0, 1) or not report.exists():
                sys.exit(f"ci-gate compare failed:\n{done.stderr.decode()}")
        shown = ", ".join(f"{w:.2f}" for w in walls)
        print(f"compare_cli_end_to_end: {min(walls):.2f} s fastest ({shown}; start to exit)")
        imports = sorted(_import_time() for _ in range(args.repeat))
        print(f"compare_cli_imports: {imports[0]:.2f}-{imports[-1]:.2f} s")


if __name__ == "__main__":
    main()
