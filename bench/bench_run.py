"""Measure `ci-gate run` against a local fake OpenAI-compatible server.

Prints cases per second, harness CPU milliseconds per case, memory, and how far the run is from
the ideal. The server runs in its own process so that its CPU is not counted as ours.

The ideal: each of the ``concurrency`` workers makes one call at a time, so N cases of S ms cannot
finish before ceil(N / concurrency) rounds of S ms (1,000 cases at concurrency 32 and 100 ms:
32 rounds, 3.2 s; N x S / concurrency = 3.125 s would need a fraction of a call).

Memory: the peak RSS of the ci-gate process, and its RSS sampled every 20 ms while the journal
file exists: from just before the first record to the results file written. Its first and last
samples show whether memory grows with the records, apart from the suite's own size (the set-up
before the loop loads and checks the suite); the highest is also printed. And the peak RSS of
`ci-gate validate` on the same suite, which loads and checks it and does nothing else.

    python bench/bench_run.py --cases 1000 --service-ms 0 --concurrency 32
    python bench/bench_run.py --cases 1000 --service-ms 100 --concurrency 32 --repeat 3
    python bench/bench_run.py --cases 10000 50000 100000 --service-ms 0 --concurrency 32
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_server(
    service_ms: float, extra: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[str], str]:
    """The fake server in its own process; ``extra``: more of its options (``--answer ...``)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.model_server",
            "--port",
            "0",
            "--service-ms",
            str(service_ms),
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"fake server did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


def write_suite(directory: Path, url: str, cases: int, concurrency: int) -> Path:
    lines = [
        "ci_gate: 1",
        "name: bench",
        "targets:",
        "  - id: local",
        "    provider: openai",
        "    model: gpt-4o-mini",
        f"    base_url: {url}/v1",
        "    api_key_env: BENCH_API_KEY",
        "    params: {temperature: 0}",
        "prompts:",
        "  - id: p",
        "    template: 'Question {{ n }}: what is {{ n }} + 1?'",
        "defaults:",
        "  prompt: p",
        "  assert:",
        "    - {type: contains, value: 'Question'}",
        "    - {type: length, max: 2000}",
        f"concurrency: {concurrency}",
        "cases:",
        "  - file: cases.jsonl",
    ]
    (directory / "suite.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with (directory / "cases.jsonl").open("w", encoding="utf-8") as f:
        for i in range(cases):
            f.write(
                json.dumps({"id": f"case-{i:06d}", "vars": {"n": i}, "tags": [f"t{i % 5}"]}) + "\n"
            )
    return directory / "suite.yaml"


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def ideal_s(cases: int, service_ms: float, concurrency: int) -> float:
    """The shortest possible run: ceil(cases / concurrency) rounds of one call per worker."""
    return math.ceil(cases / concurrency) * service_ms / 1000


@dataclass(frozen=True)
class Measured:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    loop_start_rss_mb: float | None  # when the journal appeared: set-up done, loop starting
    loop_end_rss_mb: float | None  # the last sample while it existed: results file written
    loop_peak_rss_mb: float | None  # the largest sample while the journal existed


def _rss_mb(pid: int) -> float | None:
    try:
        with Path(f"/proc/{pid}/status").open(encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def measure(argv: list[str], env: dict[str, str], journal: Path | None = None) -> Measured:
    """Wall, CPU and peak RSS of one ci-gate process (wait4), sampling its RSS meanwhile."""
    with tempfile.TemporaryFile() as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=log)
        samples: list[float] = []
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                rss = _rss_mb(proc.pid)
                if rss is not None and journal is not None and journal.exists():
                    samples.append(rss)
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
        if proc.returncode != 0:
            log.seek(0)
            raise SystemExit(f"{' '.join(argv[3:5])} failed:\n{log.read().decode()[-3000:]}")
    return Measured(
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss / 1024,
        samples[0] if samples else None,
        samples[-1] if samples else None,
        max(samples) if samples else None,
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, nargs="+", default=[1000])
    ap.add_argument("--service-ms", type=float, default=0.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each size (figures per run)")
    args = ap.parse_args()

    server, url = start_server(args.service_ms)
    try:
        for cases in args.cases:
            for n in range(args.repeat):
                with tempfile.TemporaryDirectory() as tmp:
                    run_once(Path(tmp), url, cases, args, first=n == 0)
    finally:
        server.kill()
        server.wait()
    return 0


def run_once(tmp: Path, url: str, cases: int, args: argparse.Namespace, *, first: bool) -> None:
    suite = write_suite(tmp, url, cases, args.concurrency)
    out = tmp / "results.json"
    env = dict(os.environ, BENCH_API_KEY="bench-key", CI="true")
    ci_gate = [sys.executable, "-m", "ci_gate"]
    argv = [*ci_gate, "run", str(suite), "-o", str(out), "--no-cache", "-q"]
    m = measure(argv, env, tmp / "results.json.journal")
    data = json.loads(out.read_text(encoding="utf-8"))
    latencies = [r["latency_ms"] for r in data["records"] if r["latency_ms"] is not None]
    errors = sum(1 for r in data["records"] if r["error"] is not None)
    run_s = data["run"]["duration_s"]
    ideal = ideal_s(cases, args.service_ms, args.concurrency)
    if first:
        loaded = measure([*ci_gate, "validate", str(suite)], env)
        print(f"cases: {cases}  service_ms: {args.service_ms:g}  concurrency: {args.concurrency}")
        print(f"  suite_load_peak_rss_mb: {loaded.peak_rss_mb:.1f}  (`ci-gate validate`)")
    print(f"  errors: {errors}")
    print(f"  wall_s: {m.wall_s:.3f}  (process start to exit, imports included)")
    print(f"  run_s: {run_s:.3f}  (inside the run)")
    if ideal:
        print(
            f"  ideal_s: {ideal:.3f}  run_to_ideal: {run_s / ideal:.3f}  "
            f"wall_to_ideal: {m.wall_s / ideal:.3f}"
        )
    print(f"  cases_per_s: {cases / run_s:.0f}")
    print(f"  harness_cpu_ms_per_case: {m.cpu_s * 1000 / cases:.3f}")
    during = ""
    if m.loop_start_rss_mb is not None and m.loop_end_rss_mb and m.loop_peak_rss_mb:
        during = (
            f"  (from the first record to the results file written: {m.loop_start_rss_mb:.1f} "
            f"-> {m.loop_end_rss_mb:.1f}, highest {m.loop_peak_rss_mb:.1f})"
        )
    print(f"  peak_rss_mb: {m.peak_rss_mb:.1f}{during}")
    p50, p95, p99 = (percentile(latencies, q) for q in (0.5, 0.95, 0.99))
    print(f"  recorded_latency_ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}")


if __name__ == "__main__":
    sys.exit(main())
