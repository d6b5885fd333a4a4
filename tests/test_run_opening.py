"""A fresh run makes its fingerprint and journal in a thread while its first calls are in flight."""

from __future__ import annotations

import asyncio
import json
import stat
import sys
from pathlib import Path

from ci_gate.results.store import read_results
from ci_gate.run.journal import Journal, load_journal
from ci_gate.run.runner import RunOptions, run_to_file
from ci_gate.suite.fingerprint import fingerprint
from ci_gate.suite.load import load_suite
from tests.factories import record

APP = "def answer(request):\n    return 'answer ' + str(request['vars']['n'])\n"


def _suite(tmp_path: Path, cases: int) -> Path:
    (tmp_path / "opening_app.py").write_text(APP, encoding="utf-8")
    lines = [
        "ci_gate: 1",
        "name: opening",
        "targets:",
        "  - {id: app, provider: python, function: 'opening_app:answer', path: .}",
        "defaults:",
        "  assert: [{type: contains, value: answer}]",
        "concurrency: 16",
        "cases:",
        *(f"  - {{id: c{i:04d}, vars: {{n: {i}}}}}" for i in range(cases)),
    ]
    path = tmp_path / "suite.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_new_journal_is_written_in_place_and_private(tmp_path: Path) -> None:
    path = tmp_path / "out" / "r.json.journal"  # its folder is made as the results file's is
    journal = Journal(path, "sha256:s", "app", items=1)
    journal.append(0, record("a"))
    journal.close()
    assert [p.name for p in path.parent.iterdir()] == ["r.json.journal"]  # no temporary
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    header = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert header["suite"] == "sha256:s"
    assert list(load_journal(path, "sha256:s", "app")) == [("a", 0)]


def test_a_journal_that_exists_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "r.json.journal"
    old = Journal(path, "sha256:old", "app", items=1)
    old.append(0, record("a"))
    old.close()
    Journal(path, "sha256:new", "app", items=1).close()  # --fresh, or another suite's journal
    assert load_journal(path, "sha256:old", "app") == {}
    assert load_journal(path, "sha256:new", "app") == {}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json.journal"]


def test_answers_before_the_journal_exists_are_all_journaled(tmp_path: Path) -> None:
    # Answers of a python target come back in microseconds, long before the fingerprint of
    # 1,500 cases is made: the workers wait for the journal, and every record reaches the file.
    suite = load_suite(str(_suite(tmp_path, 1500)))
    out = tmp_path / "r.json"
    switch = sys.getswitchinterval()
    summary = asyncio.run(run_to_file(suite, RunOptions(output=out, progress=False), {}))
    assert sys.getswitchinterval() == switch  # lowered only while the fingerprint is made
    res = read_results(out)
    assert [r.case_id for r in res.records] == [f"c{i:04d}" for i in range(1500)]
    assert res.run.totals.passed == 1500 and summary.run.status == "complete"
    assert res.run.fingerprint == fingerprint(suite, suite.targets[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["opening_app.py", "r.json", "suite.yaml"]
