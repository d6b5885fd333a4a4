"""Bad values on the command line and bad files around a suite: the gate's bootstrap settings,
output paths, calibration files, devices given as input files and a YAML list of a million
values. Each is exit 2 with one line naming the problem, never a traceback or exit 3, and the
huge ones are refused in bounded memory. (The kept corpus of bad input files is
tests/bad_inputs/, run by tests/test_bad_inputs.py.)"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ci_gate.cli import main
from ci_gate.commands.action import cmd_action
from tests.bad_input_kit import check_error, peak_memory

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024

SUITE = """\
ci_gate: 1
name: judged
targets:
  - {id: bot, provider: fake, latency_ms: 0, default_output: "Sorry, your refund takes 5 days."}
  - {id: judge, provider: fake, latency_ms: 0, default_output: '{"reason": "ok", "score": 5}'}
judge:
  target: judge
  calibration: calibration.json
cases:
  - id: refund-late
    vars: {question: Where is my refund?}
    assert:
      - {type: llm-rubric, value: Apologises and says when the refund arrives.}
"""
CALIBRATION: dict[str, Any] = {
    "format": "ci-gate-calibration",
    "version": 1,
    "suite": "judged",
    "assertions": [
        {
            "key": "sha256:" + "0" * 64,
            "assertion": "llm-rubric",
            "type": "llm-rubric",
            "judge": "judge",
            "model": "fake-model",
            "repeats": 5,
            "outputs": 7,
            "judgements": 35,
            "self_agreement": 1.0,
            "labels": 12,
            "accuracy": 0.9,
            "kappa": 0.72,
            "created_at": "2026-11-23T15:19:35+00:00",
        }
    ],
}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a judged suite, its calibration file, one run's results, a directory and a
    plain file (to write into or under)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "suite.yaml").write_text(SUITE, "utf-8")
    (tmp_path / "calibration.json").write_text(json.dumps(CALIBRATION), "utf-8")
    (tmp_path / "folder").mkdir()
    (tmp_path / "plain").write_text("not a folder\n", "utf-8")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["run", "suite.yaml", "-o", "base.json", "-q", "--no-cache"]) == 0
    return tmp_path


# -- command-line values ---------------------------------------------------------------------

COMPARE = ["compare", "base.json", "base.json", "-q"]
RUN = ["run", "suite.yaml", "-q", "--no-cache"]

OPTIONS: list[tuple[str, list[str], str]] = [
    # a negative seed reached the random generator and ended as exit 3
    ("seed_negative", [*COMPARE, "--seed", "-1"], "--seed must be 0 or more, got -1"),
    ("seed_negative_set", [*COMPARE, "--set", "bootstrap.seed=-1"], "gate.bootstrap.seed: must"),
    # a billion resamples: one float each, per interval; the process was killed for memory
    ("resamples_1e9", [*COMPARE, "--resamples", "1000000000"], "--resamples must be at most"),
    (
        "resamples_1e9_set",
        [*COMPARE, "--set", "bootstrap.resamples=1000000000"],
        "gate.bootstrap.resamples: must be at most 1000000, got 1000000000",
    ),
    # outputs that can never be written: found before any call is paid for
    ("run_output_folder", [*RUN, "-o", "folder"], "-o folder: is a directory"),
    ("run_output_under_file", [*RUN, "-o", "plain/r.json"], "plain is a file, not a directory"),
    ("markdown_folder", [*COMPARE, "--markdown", "folder"], "--markdown folder: is a directory"),
    ("junit_under_file", [*COMPARE, "--junit", "plain/j.xml"], "plain is a file, not a dir"),
    ("json_folder", [*COMPARE, "--json", "folder"], "--json folder: is a directory"),
    ("merge_output_folder", ["merge", "base.json", "-o", "folder"], "-o folder: is a directory"),
    (
        "calibrate_output_under_file",
        ["calibrate", "suite.yaml", "-o", "plain/c.json"],
        "plain is a file, not a directory",
    ),
    # NaN passed the "greater than 0" check and meant no budget at all
    ("max_cost_nan", [*RUN, "-o", "r.json", "--max-cost", "nan"], "--max-cost must be greater"),
]


@pytest.mark.parametrize(
    ("argv", "fragment"), [o[1:] for o in OPTIONS], ids=[o[0] for o in OPTIONS]
)
def test_a_bad_option_value_is_one_line_and_exit_2(
    world: Path, argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(argv) == 2
    check_error(capsys.readouterr().err, fragment)
    assert not (world / "r.json").exists() and list((world / "folder").iterdir()) == []


# -- the gate's bootstrap settings, in a suite and in a (tampered) baseline -------------------

GATES: list[tuple[str, dict[str, Any], str]] = [
    ("seed_negative", {"seed": -1}, "gate.bootstrap.seed"),
    ("resamples_1e8", {"resamples": 100_000_000}, "gate.bootstrap.resamples"),
]


@pytest.mark.parametrize(("bootstrap", "where"), [g[1:] for g in GATES], ids=[g[0] for g in GATES])
def test_a_gate_the_bootstrap_cannot_use_is_refused(
    world: Path, bootstrap: dict[str, Any], where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = world / "gated.yaml"
    suite.write_text(SUITE + f"gate:\n  bootstrap: {json.dumps(bootstrap)}\n", "utf-8")
    capsys.readouterr()
    assert main(["validate", "gated.yaml"]) == 2
    check_error(capsys.readouterr().err, f"gated.yaml:15: {where}: invalid value")

    # The same section in a baseline's results file: the default policy is the baseline's.
    data = json.loads((world / "base.json").read_text("utf-8"))
    data["run"]["gate"] = {"bootstrap": bootstrap}
    (world / "tampered.json").write_text(json.dumps(data), "utf-8")
    assert main(["compare", "tampered.json", "base.json", "-q"]) == 2
    check_error(capsys.readouterr().err, f"tampered.json: {where}: must be")


# -- calibration files -----------------------------------------------------------------------


def _entry(**changes: Any) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        data = json.loads(json.dumps(CALIBRATION))
        data["assertions"][0].update(changes)
        path.write_text(json.dumps(data), "utf-8")  # NaN is written as NaN, as Python reads it

    return write


def _text(text: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text(text, "utf-8")

    return write


def _no_key(path: Path) -> None:
    data = json.loads(json.dumps(CALIBRATION))
    del data["assertions"][0]["labels"]
    path.write_text(json.dumps(data), "utf-8")


def _device(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


CALIBRATIONS: list[tuple[str, Callable[[Path], None], str]] = [
    # these three were a TypeError when the run compared them with the thresholds: exit 3
    ("kappa_is_text", _entry(kappa="high"), "assertions[0].kappa: expected null or a number"),
    ("labels_null", _entry(labels=None), "assertions[0].labels: expected a whole number"),
    ("self_agreement_list", _entry(self_agreement=[1]), "assertions[0].self_agreement"),
    # NaN fails every "<" check: the judge looked calibrated and its assertion could block
    ("kappa_nan", _entry(kappa=float("nan")), "assertions[0].kappa: expected null or a number"),
    ("kappa_above_1", _entry(kappa=7), "assertions[0].kappa"),
    ("key_missing", _no_key, "assertions[0]: missing labels"),
    (
        "entry_not_an_object",
        _text('{"format": "ci-gate-calibration", "version": 1, "assertions": [[1, 2]]}'),
        "assertions[0]: expected an object",
    ),
    ("nested_100k_deep", _text("[" * 100_000 + "]" * 100_000), "JSON nested too deeply"),
    ("symlink_to_dev_zero", _device, "larger than any calibration file"),
    ("missing", lambda path: path.unlink(), "judge.calibration names a file that does not exist"),
]


@pytest.mark.parametrize(
    ("make", "fragment"), [c[1:] for c in CALIBRATIONS], ids=[c[0] for c in CALIBRATIONS]
)
def test_a_bad_calibration_file_is_one_line_and_exit_2(
    world: Path,
    make: Callable[[Path], None],
    fragment: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make(world / "calibration.json")
    capsys.readouterr()
    assert main(["run", "suite.yaml", "-o", "r.json", "-q", "--no-cache"]) == 2
    check_error(capsys.readouterr().err, f"calibration.json: {fragment}")
    assert not (world / "r.json").exists()


# -- devices: their size says 0, and reading them never ends ---------------------------------


def test_a_device_given_as_a_suite_is_read_only_to_the_limit(
    world: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Its size says 0: it used to be read whole, until the memory ran out (exit 3 at best).
    capsys.readouterr()
    with peak_memory() as peak:
        assert main(["validate", "/dev/zero"]) == 2
    check_error(capsys.readouterr().err, "/dev/zero: more than the limit of 10.0 MB to read")
    assert peak[0] < 3 * 10 * MB  # the chunks read, then joined once

    # An included case file that is a device (a committed symlink) or a folder is never read.
    (world / "cases.jsonl").symlink_to("/dev/zero")
    (world / "folder.jsonl").mkdir()
    (world / "with-cases.yaml").write_text(
        SUITE + "  - file: cases.jsonl\n  - file: folder.jsonl\n", "utf-8"
    )
    assert main(["validate", "with-cases.yaml"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "error: with-cases.yaml:14: cases[1].file: case file 'cases.jsonl' is not a regular file"
        " (paths are relative to the suite file; looked for /dev/zero)",
        "error: with-cases.yaml:15: cases[2].file: case file 'folder.jsonl' is a directory"
        " (paths are relative to the suite file; looked for folder.jsonl)",
    ]


def test_a_device_given_as_the_event_payload_is_read_only_to_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "INPUT_SUITE": "s.yaml",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": "/dev/zero",
        "GITHUB_WORKSPACE": str(tmp_path),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }
    log = io.StringIO()
    with peak_memory() as peak:
        assert cmd_action(env, log) == 2
    check_error(capsys.readouterr().err, "GITHUB_EVENT_PATH /dev/zero: the event payload is over")
    assert peak[0] < 3 * 25 * MB
    assert "::error title=ci-gate::" in log.getvalue()
    assert "verdict" in (tmp_path / "output").read_text("utf-8")


# -- a million values in one YAML file -------------------------------------------------------

_MEASURE = """\
import resource, sys
from ci_gate.cli import main
code = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
sys.exit(code)
"""


def test_a_yaml_list_of_a_million_values_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    # 2 MB of "[0,0,0,...]": each value costs a key path and a line, about 300 bytes. Before the
    # cap, 10 MB of them took 40 s and 1.5 GB. Now the file is refused at its 500,000th value:
    # measured 180 MB for the whole process (the interpreter and ci-gate alone take 45 MB).
    suite = tmp_path / "million.yaml"
    head = "ci_gate: 1\nname: big\ntargets: [{id: bot, provider: fake}]\n"
    suite.write_text(head + "cases: [" + ",".join(["0"] * 1_000_000) + "]\n", "utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, "validate", str(suite)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    check_error(proc.stderr, "more than 500000 values in one file")
    peak_kb = int(proc.stdout.split()[-1])
    assert peak_kb < 300 * 1024, f"peak {peak_kb / 1024:.0f} MB"
