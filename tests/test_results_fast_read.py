"""The quick reader of results files (msgspec) and the precise one (key by key) agree: the quick
one reads what ci-gate writes, and on anything else it either hands over (None) or raises exactly
what the precise reader raises. Checked on a rich file and on a thousand single-key mutations."""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ci_gate.errors import ResultsFileError
from ci_gate.results.codec import results_from_bytes, results_from_dict, results_to_dict
from ci_gate.results.model import AssertionOutcome, CaseInfo, JudgeUsage, SpecLinks
from ci_gate.results.store import read_results, write_results
from ci_gate.run.journal import Journal, load_journal
from ci_gate.run.shard import Shard
from tests.factories import outcome, record, results

ROOT = Path(__file__).resolve().parents[1]


def rich_results():
    judged = JudgeUsage(calls=2, cached=1, input_tokens=40, output_tokens=9, cost_usd=None,
                        latency_ms=12.5)  # fmt: skip
    advisory = replace(outcome("judged", True, type="llm-rubric"), advisory="not calibrated")
    res = results(
        [
            record("a", 0, passed=True, assertions=(outcome("x", True), advisory), judge=judged),
            record("a", 1, passed=False, cached=True, extra={"tool_calls": [{"name": "f"}]}),
            record("b", 0, error=("rate_limited", "429 Too Many Requests")),
            record("c", 0, output="ünïcode ✓ \u202e", reused=True, model="m-2024"),
            record("d", 0, passed=None, output=None, latency_ms=None, cost_usd=None),
        ],
        tags={"a": ("x",), "b": ("x", "y")},
        groups={"a": "g1"},
        shard=Shard(1, 2),
        spec={"behaviours": {"refunds": {}}},
    )
    cases = dict(res.cases)
    cases["a"] = replace(
        cases["a"],
        behaviours=("refunds",),
        failure_modes=("leak",),
        assertion_links={"x": SpecLinks(("refunds",), ())},
    )
    cases["c"] = replace(cases["c"], expected={"n": 12345678901234567890123}, vars={"q": [1.5]})
    return replace(res, cases=cases)


def _precise(data: Any) -> Any:
    try:
        return results_from_dict(data, "f.json")
    except ResultsFileError as exc:
        return str(exc)


def _fast(raw: bytes) -> Any:
    try:
        return results_from_bytes(raw, "f.json")
    except ResultsFileError as exc:
        return str(exc)


def test_a_file_ci_gate_writes_takes_the_quick_path_and_reads_back_exactly(
    tmp_path: Path,
) -> None:
    res = rich_results()
    path = tmp_path / "r.json"
    write_results(res, path)
    fast = results_from_bytes(path.read_bytes(), str(path))
    assert fast is not None
    assert fast == res
    assert read_results(path) == res
    # The same passing assertion in many records is one object.
    many = results([record(f"c{i}", 0) for i in range(50)])
    write_results(many, path)
    read = results_from_bytes(path.read_bytes(), str(path))
    assert read is not None
    assert len({id(r.assertions[0]) for r in read.records}) == 1
    assert isinstance(read.records[0].assertions[0], AssertionOutcome)
    assert isinstance(read.cases["c0"], CaseInfo)


def _mutations(doc: dict[str, Any], rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    values: list[Any] = [None, True, False, 0, 1, -1, 2, 0.5, -0.5, 1.5, "", "x", [], {}, ["s"],
                         [1], {"k": 1}, 10**30, 1e308]  # fmt: skip
    out = []
    for _ in range(1000):
        mutated = copy.deepcopy(doc)
        # A key somewhere in a case or record (rarely the run), set to another value or removed.
        where: Any = mutated
        path = []
        part = rng.choice(["records", "records", "records", "cases", "run"])
        where = where[part]
        path.append(part)
        while True:
            keys = list(range(len(where))) if isinstance(where, list) else list(where)
            if not keys:
                break
            key = rng.choice(keys)
            if isinstance(where[key], (dict, list)) and where[key] and rng.random() < 0.6:
                where = where[key]
                path.append(str(key))
                continue
            if isinstance(where, dict) and rng.random() < 0.15:
                del where[key]
                path.append(f"-{key}")
            else:
                where[key] = rng.choice(values)
                path.append(f"{key}=")
            break
        out.append(("/".join(path), mutated))
    return out


def test_on_every_mutation_the_quick_reader_agrees_or_hands_over() -> None:
    doc = results_to_dict(rich_results())
    handed_over = 0
    for label, mutated in _mutations(doc, random.Random(7)):
        raw = json.dumps(mutated).encode()
        fast = _fast(raw)
        if fast is None:
            handed_over += 1
            continue
        assert fast == _precise(json.loads(raw)), label
    assert 0 < handed_over < 1000  # both paths were taken


@pytest.mark.parametrize(
    "text",
    [
        '"score": NaN',  # the precise reader names a non-finite number
        '"output": "lone \\ud800 surrogate"',
        '"latency_ms": 1e400',
        '"pass": 1',
    ],
)
def test_what_the_quick_reader_refuses_is_read_or_named_precisely(text: str) -> None:
    doc = results_to_dict(rich_results())
    key = text.split(":")[0].strip('"')
    raw = json.dumps(doc).replace(f'"{key}": ', f'"{key}": ', 1)
    start = raw.index(f'"{key}": ', raw.index('"records"'))
    end = raw.index(",", start)
    raw = raw[:start] + text + raw[end:]
    assert results_from_bytes(raw.encode(), "f.json") is None
    precise = _precise(json.loads(raw))
    if key == "output":
        assert precise.records[0].output == "lone \ud800 surrogate"
    else:
        assert isinstance(precise, str) and "records[0]" in precise


def test_journal_lines_read_back_through_the_quick_path(tmp_path: Path) -> None:
    res = rich_results()
    path = tmp_path / "r.json.journal"
    journal = Journal(path, "sha256:s", "t", len(res.records))
    for n, r in enumerate(res.records):
        journal.append(n, r)
        assert journal.line(n) == json.dumps(
            results_to_dict(results([r]))["records"][0], ensure_ascii=False, separators=(",", ":")
        )
    journal.close()
    found = load_journal(path, "sha256:s", "t")
    # Records that ended in an error are written but not kept: resuming makes the call again.
    assert sorted(found) == [("a", 0), ("a", 1), ("c", 0), ("d", 0)]
    assert found[("a", 0)] == res.records[0]


def test_compare_does_not_load_the_http_stack() -> None:
    probe = (
        "import sys, ci_gate.commands.compare, ci_gate.report.markdown; "
        "print([m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'httpx')])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr


@pytest.mark.parametrize("advisory", [{"not": "a string"}, ["x"], 3])
def test_an_odd_advisory_is_read_as_none_by_the_precise_reader(advisory: Any) -> None:
    doc = results_to_dict(rich_results())
    doc["records"][0]["assertions"][1]["advisory"] = advisory
    raw = json.dumps(doc).encode()
    assert results_from_bytes(raw, "f.json") is None
    assert _precise(json.loads(raw)).records[0].assertions[1].advisory is None
