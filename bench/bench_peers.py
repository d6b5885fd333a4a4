"""ci-gate side by side with promptfoo and inspect-ai on the same suite, server and concurrency.

Each tool runs the same N cases (one prompt, one `contains` check) against the same local fake
OpenAI-compatible server (`tests/fakes/model_server.py`, in its own process), with its response
cache off, once with 0 ms and once with 100 ms service time. For each run it prints wall time,
CPU time (user + system of the tool's process tree), peak RSS, and the ratio to ci-gate; for the
100 ms run, the ratio to the ideal time: ceil(N / concurrency) rounds of 100 ms, since each
worker makes one call at a time (see bench_run.py).

The peers are installed on first use into --peer-dir (default bench/.peers, ignored by git):
promptfoo from npm and inspect-ai from PyPI, at the pinned versions below.

    python bench/bench_peers.py --cases 1000 --concurrency 32
    python bench/bench_peers.py --cases 1000 --concurrency 32 --peers promptfoo
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_run import ideal_s, start_server, write_suite  # noqa: E402

PROMPTFOO_VERSION = "0.121.20"
INSPECT_VERSION = "0.3.285"
PROMPT = "Question {n}: what is {n} + 1?"


@dataclass(frozen=True)
class Measured:
    tool: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    passed: int
    inner_s: float | None = None  # the run itself, without start-up (ci-gate records it)


def run_measured(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """Wall, CPU and peak RSS of one process tree (its waited-for children included)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}):\n{output[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


# --- installing the peers ----------------------------------------------------------------------


def promptfoo_bin(peer_dir: Path) -> Path:
    folder = peer_dir / f"promptfoo-{PROMPTFOO_VERSION}"
    binary = folder / "node_modules" / ".bin" / "promptfoo"
    if not binary.exists():
        folder.mkdir(parents=True, exist_ok=True)
        print(f"installing promptfoo {PROMPTFOO_VERSION} into {folder} ...", flush=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
             f"promptfoo@{PROMPTFOO_VERSION}"],
            cwd=folder,
            check=True,
        )  # fmt: skip
    return binary


def inspect_bin(peer_dir: Path) -> Path:
    folder = peer_dir / f"inspect-ai-{INSPECT_VERSION}"
    binary = folder / "bin" / "inspect"
    if not binary.exists():
        print(f"installing inspect-ai {INSPECT_VERSION} into {folder} ...", flush=True)
        venv.create(folder, with_pip=True)
        subprocess.run(
            [str(folder / "bin" / "pip"), "install", "-q", f"inspect-ai=={INSPECT_VERSION}",
             "openai"],
            check=True,
        )  # fmt: skip
    return binary


# --- one run of each tool ----------------------------------------------------------------------


def run_ci_gate(work: Path, url: str, cases: int, concurrency: int) -> Measured:
    folder = work / "ci-gate"
    folder.mkdir()
    suite = write_suite(folder, url, cases, concurrency)
    out = folder / "results.json"
    env = dict(os.environ, BENCH_API_KEY="bench-key", CI="true")
    argv = [sys.executable, "-m", "ci_gate", "run", str(suite), "-o", str(out), "--no-cache", "-q"]
    wall, cpu, rss = run_measured(argv, env, ROOT)
    data = json.loads(out.read_text("utf-8"))
    passed = sum(1 for r in data["records"] if r["pass"])
    return Measured("ci-gate", wall, cpu, rss, passed, data["run"]["duration_s"])


def run_promptfoo(binary: Path, work: Path, url: str, cases: int, concurrency: int) -> Measured:
    folder = work / "promptfoo"
    folder.mkdir()
    config = {
        "description": "bench",
        "prompts": [PROMPT.replace("{n}", "{{n}}")],
        "providers": [
            {
                "id": "openai:chat:gpt-4o-mini",
                "config": {"apiBaseUrl": f"{url}/v1", "apiKey": "bench-key", "temperature": 0},
            }
        ],
        "defaultTest": {"assert": [{"type": "contains", "value": "Question"}]},
        "tests": [{"vars": {"n": n}} for n in range(cases)],
    }
    (folder / "promptfooconfig.json").write_text(json.dumps(config), encoding="utf-8")
    out = folder / "out.json"
    env = dict(
        os.environ,
        PROMPTFOO_DISABLE_TELEMETRY="1",
        PROMPTFOO_DISABLE_UPDATE="1",
        PROMPTFOO_DISABLE_DEBUG_LOG="1",
        PROMPTFOO_CONFIG_DIR=str(folder / "config"),
        OPENAI_API_KEY="bench-key",
    )
    argv = [
        str(binary), "eval", "-c", str(folder / "promptfooconfig.json"), "--no-cache",
        "--max-concurrency", str(concurrency), "--no-progress-bar", "--no-table",
        "-o", str(out),
    ]  # fmt: skip
    wall, cpu, rss = run_measured(argv, env, folder)
    results = json.loads(out.read_text("utf-8"))["results"]
    passed = int(results.get("stats", {}).get("successes", 0))
    return Measured(f"promptfoo {PROMPTFOO_VERSION}", wall, cpu, rss, passed)


INSPECT_TASK = """
from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.scorer import includes
from inspect_ai.solver import generate

PROMPT = {prompt!r}


@task
def bench():
    samples = [Sample(input=PROMPT.format(n=n), target="Question") for n in range({cases})]
    return Task(dataset=samples, solver=generate(), scorer=includes())
"""


def run_inspect(binary: Path, work: Path, url: str, cases: int, concurrency: int) -> Measured:
    folder = work / "inspect"
    folder.mkdir()
    task_file = folder / "bench_task.py"
    task_file.write_text(INSPECT_TASK.format(prompt=PROMPT, cases=cases), encoding="utf-8")
    env = dict(
        os.environ,
        OPENAI_API_KEY="bench-key",
        OPENAI_BASE_URL=f"{url}/v1",
        INSPECT_LOG_DIR=str(folder / "logs"),
    )
    argv = [
        str(binary), "eval", task_file.name, "--model", "openai/gpt-4o-mini",
        "--max-connections", str(concurrency), "--display", "none", "--log-format", "json",
        "--temperature", "0",
    ]  # fmt: skip
    wall, cpu, rss = run_measured(argv, env, folder)
    passed = 0
    for log in (folder / "logs").glob("*.json"):
        data = json.loads(log.read_text("utf-8"))
        for score in data.get("results", {}).get("scores", []):
            accuracy = score.get("metrics", {}).get("accuracy", {}).get("value", 0.0)
            passed = round(accuracy * cases)
    return Measured(f"inspect-ai {INSPECT_VERSION}", wall, cpu, rss, passed)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--service-ms", type=float, nargs="*", default=[0.0, 100.0])
    ap.add_argument("--peers", default="promptfoo,inspect")
    ap.add_argument("--peer-dir", type=Path, default=ROOT / "bench" / ".peers")
    args = ap.parse_args()
    peers = [p for p in args.peers.split(",") if p]
    binaries = {}
    if "promptfoo" in peers:
        binaries["promptfoo"] = promptfoo_bin(args.peer_dir)
    if "inspect" in peers:
        binaries["inspect"] = inspect_bin(args.peer_dir)

    for service_ms in args.service_ms:
        server, url = start_server(service_ms)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                rows = [run_ci_gate(work, url, args.cases, args.concurrency)]
                if "promptfoo" in binaries:
                    rows.append(
                        run_promptfoo(
                            binaries["promptfoo"], work, url, args.cases, args.concurrency
                        )
                    )
                if "inspect" in binaries:
                    rows.append(
                        run_inspect(binaries["inspect"], work, url, args.cases, args.concurrency)
                    )
        finally:
            server.kill()
            server.wait()
        ideal = ideal_s(args.cases, service_ms, args.concurrency)
        print(
            f"\n{args.cases} cases, {service_ms:g} ms service time, concurrency "
            f"{args.concurrency}" + (f", ideal {ideal:.2f} s" if ideal else "")
        )
        base = rows[0]
        for m in rows:
            vs_ideal = f"  {m.wall_s / ideal:5.2f}x ideal" if ideal else ""
            if ideal and m.inner_s is not None:
                vs_ideal += f" (the run itself {m.inner_s:.2f} s, {m.inner_s / ideal:4.2f}x)"
            print(
                f"  {m.tool:22s} wall {m.wall_s:6.2f} s ({m.wall_s / base.wall_s:5.1f}x)  "
                f"cpu {m.cpu_s:6.2f} s ({m.cpu_s / base.cpu_s:5.1f}x)  "
                f"peak {m.peak_rss_mb:6.0f} MB ({m.peak_rss_mb / base.peak_rss_mb:4.1f}x)  "
                f"passed {m.passed}/{args.cases}{vs_ideal}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
