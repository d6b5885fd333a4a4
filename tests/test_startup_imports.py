"""`ci-gate --version` and `ci-gate validate` start fast because they never load the HTTP,
GitHub or statistics machinery; how fast is measured by bench/bench_startup.py, not here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "support-bot" / "suite.yaml"
HEAVY = ("aiohttp", "httpx", "github", "requests", "diskcache", "tabulate", "ci_gate.stats")

PROBE = """
import json, sys
from ci_gate.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:  # argparse's --version
    code = exit.code
print(json.dumps({"code": code, "loaded": sorted(sys.modules)}))
"""


@pytest.mark.parametrize("argv", [["--version"], ["validate", str(EXAMPLE)]])
def test_light_commands_load_no_heavy_module(argv: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, cwd=ROOT
    )
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    assert data["code"] in (0, None)
    heavy = sorted(m for m in data["loaded"] if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    assert heavy == [], f"{argv[0]} loads {heavy[:8]}"
