"""A run keeps its records on disk, not in memory: each goes to the journal and the tally as it
finishes, and the results file is streamed from the journal in the suite's order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ci_gate.cli import main
from ci_gate.results.store import read_results
from ci_gate.run.journal import journal_path, load_journal
from ci_gate.run.runner import RunOptions, run_to_file
from ci_gate.run.totals import ExactSum, Tally, totals
from ci_gate.suite.fingerprint import fingerprint
from ci_gate.suite.load import load_suite
from tests.factories import record

# The function under test counts the records alive in the process when it answers the
# last case: a run that kept every record would have about 600 of them by then.
APP = """
import gc
from ci_gate.results.model import Record

alive = []

def answer(request):
    n = request["vars"]["n"]
    if n == {last}:
        alive.append(sum(1 for o in gc.get_objects() if type(o) is Record))
        with open({report!r}, "w") as f:
            f.write(str(alive[-1]))
    return "answer " + str(n) * (n % 7)
"""


def _suite(tmp_path: Path, cases: int, **extra: object) -> Path:
    (tmp_path / "streaming_app.py").write_text(
        APP.format(last=cases - 1, report=str(tmp_path / "alive.txt")), encoding="utf-8"
    )
    lines = [
        "ci_gate: 1",
        "name: streaming",
        "targets:",
        "  - {id: app, provider: python, function: 'streaming_app:answer', path: .}",
        "defaults:",
        "  assert: [{type: contains, value: answer}, {type: length, max: 20}]",
    ]
    extra.setdefault("concurrency", 4)
    lines += [f"{k}: {json.dumps(v)}" for k, v in extra.items()]
    lines.append("cases:")
    lines += [f"  - {{id: c{i:04d}, vars: {{n: {i}}}}}" for i in range(cases)]
    path = tmp_path / "suite.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_run_does_not_hold_its_records_and_writes_them_in_suite_order(tmp_path: Path) -> None:
    suite = load_suite(str(_suite(tmp_path, 600, repeats=2)))
    out = tmp_path / "r.json"
    summary = asyncio.run(run_to_file(suite, RunOptions(output=out, progress=False), {}))
    alive = int((tmp_path / "alive.txt").read_text())
    assert alive < 50, f"{alive} records alive near the end of the run"
    res = read_results(out)
    assert [(r.case_id, r.sample) for r in res.records] == [
        (f"c{i:04d}", s) for i in range(600) for s in range(2)
    ]
    assert res.run.totals == totals(res.records, 600, res.run.totals.calls)
    assert summary.run == res.run
    assert sorted(summary.latencies_ms) == sorted(r.latency_ms for r in res.records)
    assert not (tmp_path / "r.json.journal").exists()


def test_a_budget_stop_writes_journaled_and_not_run_records_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = _suite(tmp_path, 30, concurrency=1)
    out = tmp_path / "r.json"
    assert main(["run", str(suite), "-o", str(out), "--max-calls", "12", "-q"]) == 1
    res = read_results(out)
    assert [r.case_id for r in res.records] == [f"c{i:04d}" for i in range(30)]
    made = [r for r in res.records if r.error is None]
    assert len(made) == 12 and all(r.error.kind == "budget" for r in res.records[12:])
    assert res.run.totals.not_run == 18 and res.run.totals.passed + res.run.totals.failed == 12
    assert "18 not run" in capsys.readouterr().out
    # The same command again makes only the 18 calls still missing.
    assert main(["run", str(suite), "-o", str(out), "-q"]) == 0
    again = read_results(out)
    assert again.run.totals.calls == 18
    assert [r for r in again.records if r.error is None][:12] == made


def test_the_tally_sums_costs_the_same_in_any_order() -> None:
    costs = [0.1, 0.2, 0.3, 1e-9, 12345.678, 0.7]
    records = [record(f"c{i}", cost_usd=c) for i, c in enumerate(costs)]
    forward, backward = Tally(), Tally()
    for r in records:
        forward.add(r)
    for r in reversed(records):
        backward.add(r)
    assert forward.totals(6, 6) == backward.totals(6, 6) == totals(records, 6, 6)
    total = ExactSum()
    for c in [0.1] * 10:
        total.add(c)
    assert total.value == 1.0  # a plain sum gives 0.9999999999999999


def test_a_results_file_that_cannot_be_written_keeps_the_journal(tmp_path: Path) -> None:
    suite = load_suite(str(_suite(tmp_path, 20)))
    out = tmp_path / "out"
    out.mkdir()  # a folder where the file should go: the final rename fails
    with pytest.raises(OSError):
        asyncio.run(run_to_file(suite, RunOptions(output=out, progress=False), {}))
    kept = load_journal(journal_path(out), fingerprint(suite, suite.targets[0]).suite, "app")
    assert sorted(kept) == [(f"c{i:04d}", 0) for i in range(20)]
