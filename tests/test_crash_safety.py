"""kill -9 at chosen points of `ci-gate run`, and runs sharing one cache directory at once.

Every kill is a real SIGKILL of a real process. Two ways to aim it, neither a sleep:

* from outside, when the fake model server sees the k-th request (``request_arrived``), with
  that request held so the process is known to be waiting on it;
* from inside, by an audit hook (``sys.addaudithook``, installed before ci-gate is imported)
  that sends SIGKILL to its own process at the n-th audit event of a kind whose arguments
  contain a string: ``open`` of a file (``+next``: at the first Python call after it, once the
  file is open and nothing written), ``os.rename`` of a temporary (written, not yet in place),
  ``os.remove`` of the journal. ci-gate's code is not touched; the hook only watches what the
  process does.

After each kill: the results file is byte for byte the previous one (or, once replaced, the
complete new one), and the same command run again makes only the calls that had not finished
(counted at the server) and gives the records of an uninterrupted run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from ci_gate.cli import main
from ci_gate.results.model import Record
from ci_gate.results.store import read_results
from ci_gate.run.cache import ResponseCache
from ci_gate.run.journal import journal_path, load_journal
from ci_gate.suite.fingerprint import fingerprint
from ci_gate.suite.load import load_suite
from tests.fakes.model_server import Fault, ModelServer
from tests.test_run_integration import openai_suite

ROOT = Path(__file__).resolve().parents[1]
SEED = 20240611
KEY = "k-crash-123456"

# Runs ci-gate as `python -m ci_gate` would, with an audit hook that SIGKILLs the process at the
# n-th audit event named EVENT whose arguments contain NEEDLE, given in CRASH_AT as
# "EVENT|NEEDLE|n" (before the operation) or "EVENT|NEEDLE|n|+next" (just after); no CRASH_AT,
# no hook.
LAUNCHER = r"""
import os, runpy, signal, sys
spec = os.environ.pop("CRASH_AT", "")
if spec:
    event, needle, nth, *rest = spec.split("|")
    state = {"seen": 0, "dying": False}

    def _die(*_):
        state["dying"] = True  # os.kill is audited too: the hook must not call itself again
        os.kill(os.getpid(), signal.SIGKILL)

    def _hook(name, args):
        if state["dying"] or name != event or needle not in repr(args):
            return
        state["seen"] += 1
        if state["seen"] != int(nth):
            return
        if rest == ["+next"]:
            # At the next Python call: the audited operation (an open) has been done, and
            # nothing after it yet, not even a write of a header.
            sys.setprofile(lambda frame, what, arg: _die() if what == "call" else None)
        else:
            _die()

    sys.addaudithook(_hook)
sys.argv = ["ci-gate", *sys.argv[1:]]
runpy.run_module("ci_gate", run_name="__main__", alter_sys=True)
"""


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    env.update(TEST_KEY=KEY, CI="true", PYTHONPATH=str(ROOT))
    env.update(extra or {})
    return env


def spawn(
    args: Sequence[str], env: dict[str, str], crash_at: str | None = None, cwd: Path | None = None
) -> subprocess.Popen[str]:
    """`ci-gate ARGS` in a session of its own, so that a kill reaches its children too."""
    full = dict(env)
    if crash_at is not None:
        full["CRASH_AT"] = crash_at
    return subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, *args],
        env=full,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def kill_group(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def finish(proc: subprocess.Popen[str], code: int = 0) -> str:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, f"exit {proc.returncode}\n{out}\n{err}"
    assert "Traceback" not in err
    return out


def killed(proc: subprocess.Popen[str]) -> None:
    """The process ended by SIGKILL at its audit point (not by finishing before it)."""
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"exit {proc.returncode}\n{out}\n{err}"


def essence(records: Sequence[Record]) -> list[tuple[object, ...]]:
    """What an interrupted and resumed run must reproduce: never latency, which is measured."""
    return [
        (
            r.case_id,
            r.sample,
            r.output,
            r.passed,
            r.score,
            r.assertions,
            r.input_tokens,
            r.output_tokens,
            r.cost_usd,
            r.cache_key,
            r.error,
        )
        for r in records
    ]


def leftovers(folder: Path, name: str) -> list[str]:
    """Hidden files a killed writer of ``name`` left: never a name a reader takes for results."""
    others = sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}."))
    for other in others:
        assert other.endswith(".tmp"), other
    return others


def suite_fingerprint(suite: Path) -> str:
    loaded = load_suite(suite)
    return fingerprint(loaded, loaded.targets[0]).suite


CASES = 12


def test_a_run_killed_again_and_again_resumes_with_only_the_missing_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One command killed at the first call, a seeded call and the last; while it rewrites the
    journal it resumed from; once its temporary results file exists, once it is written, and
    once it is in place. Every kill keeps what finished; the last rerun makes no call."""
    monkeypatch.setenv("TEST_KEY", KEY)
    middle = random.Random(SEED).randint(2, CASES - 3)
    env = child_env()
    with ModelServer() as server:
        suite = openai_suite(tmp_path, server.url, CASES, concurrency=1)
        fp = suite_fingerprint(suite)
        out = tmp_path / "results.json"
        args = ["run", str(suite), "-o", str(out), "-q", "--no-cache"]
        assert main(args) == 0  # uninterrupted: the reference, and the previous results file
        previous = out.read_bytes()
        expected = essence(read_results(out).records)

        def at_request(k: int) -> None:
            # Requests before the k-th are answered; the k-th is held, so the process is
            # waiting on it, with every earlier record journalled, when it is killed.
            if k > 1:
                server.push(Fault("ok", k - 1))
            server.push(Fault("slow", 1, delay_ms=60_000))
            arrived = server.request_arrived(len(server.requests) + k)
            proc = spawn(args, env)
            assert arrived.wait(timeout=30)
            kill_group(proc)

        def inside(point: str) -> None:
            killed(spawn(args, env, crash_at=point))

        left = CASES - (middle - 1)
        # (where the process is killed, the calls it makes, records journalled afterwards)
        steps: list[tuple[Callable[[], None], int, int]] = [
            (lambda: at_request(1), 1, 0),
            (lambda: at_request(middle), middle, middle - 1),
            # Just after the rerun opened a journal to write (the first open reads the old one),
            # before it wrote anything there: the old journal must still hold every record.
            (lambda: inside("open|results.json.journal|2|+next"), 0, middle - 1),
            (lambda: at_request(left), left, CASES - 1),
            # The journal's temporary is the first match, the results file's the second.
            (lambda: inside("open|.results.json.|2|+next"), 1, CASES),
            (lambda: inside("os.rename|results.json|2"), 0, CASES),
        ]
        for number, (kill, made, kept) in enumerate(steps, 1):
            calls = len(server.requests)
            kill()
            assert len(server.requests) == calls + made, f"step {number}"
            assert len(load_journal(journal_path(out), fp, "gpt")) == kept, f"step {number}"
            assert out.read_bytes() == previous, f"step {number}"
        # Killed after the new file took its place, before the journal was removed.
        inside("os.remove|results.json.journal|1")
        assert out.read_bytes() != previous
        assert essence(read_results(out).records) == expected
        assert journal_path(out).exists()
        calls = len(server.requests)
        assert main(args) == 0
        assert len(server.requests) == calls  # every record came from the journal
    done = read_results(out)
    assert done.run.status == "complete" and essence(done.records) == expected
    assert not journal_path(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "results.json",
        "suite.yaml",
    ]
    assert len(leftovers(tmp_path, out.name)) == 3  # the temporaries of the three killed writes


def test_runs_sharing_one_cache_directory_at_once_leave_it_whole_and_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two shards of a matrix run and two identical runs racing on the same keys, all four at
    once on one cache directory: all complete, and a later run is answered wholly from it."""
    monkeypatch.setenv("TEST_KEY", KEY)
    env = child_env()
    cache = tmp_path / "cache"
    with ModelServer(service_ms=5) as server:
        suite = openai_suite(tmp_path, server.url, 16, concurrency=2)

        def run(name: str, *extra: str) -> subprocess.Popen[str]:
            out = str(tmp_path / name)
            return spawn(
                ["run", str(suite), "-o", out, "-q", "--cache-dir", str(cache), *extra], env
            )

        procs = [
            run("shard1.json", "--shard", "1/2"),
            run("shard2.json", "--shard", "2/2"),
            run("a.json"),
            run("b.json"),
        ]
        for proc in procs:
            finish(proc)
        # Each of the 16 requests was made at least once, and by at most three of the runs.
        assert 16 <= len(server.requests) <= 48
        made = len(server.requests)
        third = tmp_path / "third.json"
        args = ["run", str(suite), "-o", str(third), "-q", "--cache-dir", str(cache)]
        assert main(args) == 0
        assert len(server.requests) == made
    shards = [str(tmp_path / "shard1.json"), str(tmp_path / "shard2.json")]
    assert main(["merge", *shards, "-o", str(tmp_path / "merged.json")]) == 0
    again = read_results(third)
    assert again.run.totals.cached == 16 and again.run.totals.calls == 0
    expected = essence(again.records)
    for name in ("a.json", "b.json", "merged.json"):
        assert essence(read_results(tmp_path / name).records) == expected, name
    opened = ResponseCache(cache)  # opens afterwards, and serves every key
    try:
        assert all(opened.get(r.cache_key) is not None for r in again.records)
    finally:
        opened.close()
