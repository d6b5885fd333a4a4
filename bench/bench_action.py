"""Measure a whole ``ci-gate action`` step: a baseline refresh, then a pull request's gate.

Builds a git repository (with a bare origin) holding a suite of ``--cases`` cases on the ``fake``
provider (simulated latency, so the figures are ci-gate's own overhead plus that latency), runs the
push step that stores the baseline on the data branch, then the pull-request step that finds the
baseline at the merge-base, reuses its responses for every unchanged request, compares, gates and
writes the reports. ``--changed`` cases get a new prompt in the pull request, so only they are
called again. Each step runs in a fresh process; prints ``name: value unit`` lines.

    python bench/bench_action.py
    python bench/bench_action.py --cases 5000 --changed 50 --latency-ms 20
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def suite_text(cases: int, changed: int, latency_ms: float) -> str:
    lines = [
        "ci_gate: 1",
        "name: bench",
        'version: "1"',
        "targets:",
        "  - id: model",
        "    provider: fake",
        "    model: fake-model",
        f"    latency_ms: {latency_ms}",
        '    default_output: "Hello! Refunds within 30 days. [source: refunds]"',
        "    cache: true",
        "prompts:",
        "  - id: main",
        '    template: "Question: {{ question }}"',
        "  - id: changed",
        '    template: "Answer briefly. Question: {{ question }}"',
        "defaults:",
        "  prompt: main",
        "  assert:",
        "    - {type: contains, value: refund}",
        "    - {type: length, max: 400, blocking: false}",
        "gate:",
        "  min_cases: 30",
        "cases:",
    ]
    for i in range(cases):
        prompt = "changed" if i < changed else "main"
        lines.append(f"  - id: c{i:06d}")
        lines.append(f"    prompt: {prompt}" if prompt == "changed" else "    tags: [t]")
        lines.append(f"    vars: {{question: 'How do refunds work, case {i}?'}}")
    return "\n".join(lines) + "\n"


def step(work: Path, env: dict[str, str], event: dict[str, object]) -> tuple[float, int, str]:
    event_path = work.parent / f"event-{time.monotonic_ns()}.json"
    event_path.write_text(json.dumps(event))
    full = {**env, "GITHUB_EVENT_PATH": str(event_path)}
    code = (
        "import resource, sys; from ci_gate.cli import main; rc = main(['action']); "
        "print('rss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
        "sys.exit(rc)"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=work, env=full, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"step failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    rss = int(done.stderr.rsplit("rss_kb", 1)[1].split()[0])
    return wall, rss, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        origin, work = root / "origin.git", root / "work"
        git(root, "init", "--quiet", "--bare", "-b", "main", str(origin))
        git(root, "clone", "--quiet", str(origin), str(work))
        (work / "suite.yaml").write_text(suite_text(args.cases, 0, args.latency_ms))
        git(work, "add", "-A")
        git(work, "commit", "--quiet", "-m", "suite")
        git(work, "push", "--quiet", "origin", "main")
        main_sha = git(work, "rev-parse", "HEAD")
        repo = {"full_name": "bench/bench", "default_branch": "main"}
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(root),
            "PYTHONPATH": str(ROOT),
            "GITHUB_REPOSITORY": "bench/bench",
            "GITHUB_WORKSPACE": str(work),
            "GITHUB_OUTPUT": str(root / "output"),
            "GITHUB_STEP_SUMMARY": str(root / "summary"),
            "CI_GATE_CACHE_DIR": str(root / "cache"),
            "INPUT_SUITE": "suite.yaml",
            "INPUT_COMMENT": "false",
            "INPUT_GITHUB-TOKEN": "",
        }
        push = {"ref": "refs/heads/main", "after": main_sha, "repository": repo}
        wall, rss, _ = step(
            work,
            {
                **env,
                "GITHUB_EVENT_NAME": "push",
                "GITHUB_SHA": main_sha,
                "GITHUB_REF": "refs/heads/main",
            },
            push,
        )
        print(f"cases: {args.cases}")
        print(f"refresh_step_wall: {wall:.2f} s")
        print(f"refresh_step_peak_rss: {rss / 1024:.0f} MB")

        git(work, "checkout", "--quiet", "-b", "feature")
        (work / "suite.yaml").write_text(suite_text(args.cases, args.changed, args.latency_ms))
        git(work, "commit", "--quiet", "-am", "new prompt for some cases")
        head = git(work, "rev-parse", "HEAD")
        pull = {
            "number": 1,
            "pull_request": {
                "number": 1,
                "head": {"sha": head, "repo": repo},
                "base": {"sha": main_sha, "ref": "main"},
            },
            "repository": repo,
        }
        wall, rss, out = step(
            work,
            {
                **env,
                "GITHUB_EVENT_NAME": "pull_request",
                "GITHUB_SHA": head,
                "GITHUB_REF": "refs/pull/1/merge",
                "CI_GATE_CACHE_DIR": str(root / "cache2"),
            },
            pull,
        )
        results = json.loads((work / "ci-gate-out/bench/results.json").read_text())
        totals = results["run"]["totals"]
        print(f"pr_step_wall: {wall:.2f} s")
        print(f"pr_step_peak_rss: {rss / 1024:.0f} MB")
        print(f"pr_calls_made: {totals['calls']} (of {totals['records']} records)")
        print(f"pr_reused: {totals['reused']}")
        verdict = next((line for line in out.splitlines() if line.startswith("ci-gate ")), "")
        print(f"pr_verdict_line: {verdict[:160]}")


if __name__ == "__main__":
    main()
