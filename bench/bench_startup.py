"""Measure how fast ci-gate starts: `ci-gate --version` and `ci-gate validate` on the bundled
example, each in a fresh process, N times; prints the median and the fastest wall time, and the
peak RSS of the slowest run.

With ``--footprint``: installs ci-gate (``pip install .``, not editable) into a new virtualenv
and prints the installed size of each distribution: the files its RECORD lists, on disk,
bytecode included (pip and setuptools left out). With ``--image``: builds the action's image
from the Dockerfile on the Docker engine that DOCKER_HOST names (``.ci/docker-setup`` starts one,
with an offline base image) and prints its size, its base's, and what ci-gate's layers add.

    python bench/bench_startup.py --runs 20
    python bench/bench_startup.py --runs 0 --footprint
    DOCKER_HOST=unix:///var/tmp/ci-gate-docker/docker.sock \
        python bench/bench_startup.py --runs 0 --image ci-gate-test-base:local
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
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


SIZES = """
import json
from importlib.metadata import distributions
sizes = {}
for dist in distributions():
    name = dist.metadata["Name"]
    if name.lower() in ("pip", "setuptools"):
        continue
    # On disk, bytecode included (RECORD gives no size for the .pyc files pip compiles).
    paths = [dist.locate_file(f) for f in dist.files or ()]
    sizes[name] = sum(p.stat().st_size for p in paths if p.is_file())
print(json.dumps(sizes))
"""


def footprint() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env_dir = Path(tmp) / "venv"
        venv.create(env_dir, with_pip=True)
        python = str(env_dir / "bin" / "python")
        install = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(ROOT)]
        done = subprocess.run(install, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"pip install failed:\n{done.stdout}{done.stderr}")
        out = subprocess.run([python, "-c", SIZES], check=True, capture_output=True, text=True)
    sizes = json.loads(out.stdout)
    total = sum(sizes.values())
    print(f"installed with its dependencies: {total / 1e6:.0f} MB (pip, setuptools left out)")
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        print(f"  {name:24s} {size / 1e6:6.1f} MB")


def _docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"docker {args[0]} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def image(base: str) -> None:
    if shutil.which("docker") is None:
        raise SystemExit("no docker command (run .ci/docker-setup and set DOCKER_HOST)")
    tag = "ci-gate-bench:image"
    # The legacy builder, as the container tests use: the engine may have no buildx.
    os.environ["DOCKER_BUILDKIT"] = "0"
    _docker("build", "-q", "--network", "host", "--build-arg", f"BASE_IMAGE={base}", "-t", tag,
            str(ROOT))  # fmt: skip
    size = int(_docker("image", "inspect", "--format", "{{.Size}}", tag))
    base_size = int(_docker("image", "inspect", "--format", "{{.Size}}", base))
    base_id = _docker("image", "inspect", "--format", "{{.Id}}", base).strip()
    added = (size - base_size) / 1e6
    print(f"image on base {base}: {size / 1e6:.0f} MB, of which ci-gate's layers {added:.0f} MB")
    history = _docker(
        "history", "--no-trunc", "--format", "{{.ID}}\t{{.Size}}\t{{.CreatedBy}}", tag
    )
    for line in history.splitlines():
        layer_id, layer_size, created_by = line.split("\t", 2)
        if layer_id == base_id:
            break
        if layer_size not in ("0B", "0"):
            print(f"  {layer_size:>8s}  {created_by.strip()[:90]}")
    _docker("image", "rm", tag)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--footprint", action="store_true", help="installed size per distribution")
    ap.add_argument("--image", metavar="BASE_IMAGE", help="build the image on this base, size it")
    args = ap.parse_args()
    commands = {
        "ci-gate --version": [sys.executable, "-m", "ci_gate", "--version"],
        "ci-gate validate": [sys.executable, "-m", "ci_gate", "validate", str(EXAMPLE)],
    }
    for name, argv in commands.items() if args.runs > 0 else ():
        times, peak = measure(argv, args.runs)
        print(
            f"{name:20s} median {statistics.median(times) * 1000:6.0f} ms  "
            f"fastest {min(times) * 1000:6.0f} ms  peak_rss_mb {peak:5.1f}  ({args.runs} runs)"
        )
    if args.footprint:
        footprint()
    if args.image:
        image(args.image)
    return 0


if __name__ == "__main__":
    sys.exit(main())
