"""Measure what judging adds to `ci-gate run`: the same suite with and without an `llm-rubric`
judged by a second model on the local fake OpenAI-compatible server, then the judged suite again
with the cache warm (no call to the target or the judge).

Prints, for each run: wall time, the run's own duration, calls made (all, and to the judge), harness
CPU milliseconds per case and peak RSS. The server runs in its own process; it answers the judge
with a fixed JSON verdict.

    python bench/bench_judge.py --cases 1000 --service-ms 0 --concurrency 32
    python bench/bench_judge.py --cases 1000 --service-ms 100 --concurrency 50
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_run import start_server  # noqa: E402

VERDICT = '{"reason": "Answers the question.", "score": 5}'


def write_suite(directory: Path, url: str, cases: int, concurrency: int, judged: bool) -> Path:
    target = (
        "    provider: openai\n"
        f"    base_url: {url}/v1\n"
        "    api_key_env: BENCH_API_KEY\n"
        "    params: {temperature: 0}\n"
    )
    judge = ""
    if judged:
        # Without a calibration file the rubric is advisory: the same calls as a blocking one.
        judge = "judge: {target: grader}\n"
    rubric = "    - {type: llm-rubric, value: Answers the question asked.}\n" if judged else ""
    text = (
        "ci_gate: 1\nname: bench-judge\ntargets:\n"
        f"  - id: app\n    model: gpt-4o-mini\n{target}"
        f"  - id: grader\n    model: gpt-4o\n{target}"
        "default_target: app\n"
        f"{judge}"
        "prompts:\n  - id: p\n    template: 'Question {{ n }}: what is {{ n }} + 1?'\n"
        "defaults:\n  prompt: p\n  assert:\n    - {type: contains, value: Question}\n"
        f"{rubric}"
        f"concurrency: {concurrency}\n"
        "cases:\n  - file: cases.jsonl\n"
    )
    (directory / "suite.yaml").write_text(text, encoding="utf-8")
    with (directory / "cases.jsonl").open("w", encoding="utf-8") as f:
        for i in range(cases):
            f.write(json.dumps({"id": f"case-{i:06d}", "vars": {"n": i}}) + "\n")
    return directory / "suite.yaml"


def run(suite: Path, out: Path, cache: Path, *, use_cache: bool) -> tuple[float, float, int, Any]:
    env = dict(os.environ, BENCH_API_KEY="bench-key", CI="true")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    args = [sys.executable, "-m", "ci_gate", "run", str(suite), "-o", str(out), "-q"]
    args += ["--cache-dir", str(cache)] if use_cache else ["--no-cache"]
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"ci-gate run failed:\n{proc.stdout}\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss, json.loads(out.read_text("utf-8"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--service-ms", type=float, default=0.0)
    ap.add_argument("--concurrency", type=int, default=32)
    args = ap.parse_args()

    judge = f"Grade the output against the rubric={VERDICT}"
    server, url = start_server(args.service_ms, ("--answer", judge))
    rows: list[tuple[str, float, float, int, Any]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, judged, use_cache in (
                ("plain", False, False),
                ("judged", True, True),
                ("judged, cache warm", True, True),
            ):
                folder = Path(tmp) / ("judged" if judged else "plain")
                folder.mkdir(exist_ok=True)
                suite = write_suite(folder, url, args.cases, args.concurrency, judged)
                wall, cpu, rss, data = run(
                    suite, folder / "results.json", Path(tmp) / "cache", use_cache=use_cache
                )
                rows.append((name, wall, cpu, rss, data))
    finally:
        server.kill()
        server.wait()

    print(f"cases: {args.cases}  service_ms: {args.service_ms:g}  concurrency: {args.concurrency}")
    for name, wall, cpu, rss, data in rows:
        t = data["run"]["totals"]
        judge_cached = sum((r.get("judge") or {}).get("cached", 0) for r in data["records"])
        scores = [a["pass"] for r in data["records"] for a in r["assertions"]]
        print(
            f"{name:20s} wall_s {wall:6.3f}  run_s {data['run']['duration_s']:6.3f}  "
            f"all_calls {t['calls']:5d}  judge_calls {t.get('judge_calls', 0):5d} "
            f"(cached {judge_cached:5d})  errors {t['errored']}  "
            f"cpu_ms_per_case {cpu * 1000 / args.cases:6.3f}  peak_rss_mb {rss / 1024:6.1f}  "
            f"assertions_passed {sum(scores)}/{len(scores)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
