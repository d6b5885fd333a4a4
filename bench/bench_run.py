"""Measure `ci-gate run` against a local fake OpenAI-compatible server.

Prints cases per second, harness CPU milliseconds per case, peak memory, and how far the recorded
p95 latency is from the server's service time. The server runs in its own process so that its CPU
is not counted as ours.

    python bench/bench_run.py --cases 1000 --service-ms 0 --concurrency 32
    python bench/bench_run.py --cases 1000 --service-ms 100 --concurrency 50
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--service-ms", type=float, default=0.0)
    ap.add_argument("--concurrency", type=int, default=32)
    args = ap.parse_args()

    server, url = start_server(args.service_ms)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            suite = write_suite(Path(tmp), url, args.cases, args.concurrency)
            out = Path(tmp) / "results.json"
            env = dict(os.environ, BENCH_API_KEY="bench-key", CI="true")
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "ci_gate",
                    "run",
                    str(suite),
                    "-o",
                    str(out),
                    "--no-cache",
                    "-q",
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if proc.returncode != 0:
                print(proc.stdout, proc.stderr, file=sys.stderr)
                return 1
            data = json.loads(out.read_text(encoding="utf-8"))
    finally:
        server.kill()
        server.wait()

    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    latencies = [r["latency_ms"] for r in data["records"] if r["latency_ms"] is not None]
    errors = sum(1 for r in data["records"] if r["error"] is not None)
    ideal = args.cases * args.service_ms / 1000 / args.concurrency
    print(f"cases: {args.cases}")
    print(f"service_ms: {args.service_ms:g}")
    print(f"concurrency: {args.concurrency}")
    print(f"errors: {errors}")
    print(f"wall_s: {wall:.3f}  (process start to exit, imports included)")
    print(f"run_s: {data['run']['duration_s']:.3f}  (inside the run)")
    if ideal:
        print(f"ideal_s: {ideal:.3f}  ratio_to_ideal: {data['run']['duration_s'] / ideal:.3f}")
    print(f"cases_per_s: {args.cases / data['run']['duration_s']:.0f}")
    print(f"harness_cpu_ms_per_case: {cpu * 1000 / args.cases:.3f}")
    print(f"peak_rss_mb: {after.ru_maxrss / 1024:.1f}  (largest child process)")
    p50, p95, p99 = (percentile(latencies, q) for q in (0.5, 0.95, 0.99))
    print(f"recorded_latency_ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
