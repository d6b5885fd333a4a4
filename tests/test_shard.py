"""Sharded runs (`run --shard I/N`) and joining their results files (`merge`)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ci_gate.cli import main
from ci_gate.errors import ResultsFileError, UsageError
from ci_gate.results.merge import merge_results
from ci_gate.results.model import GitInfo, JudgeStatus, Record, Results
from ci_gate.results.store import read_results, write_results
from ci_gate.run.shard import Shard, assign, parse_shard, select, suite_position
from ci_gate.run.shard_cost import ANSWER_CHARS, case_costs
from ci_gate.suite.load import load_suite
from tests.factories import record, results

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "support-bot" / "suite.yaml"
RESULTS_SCHEMA = json.loads((ROOT / "ci_gate" / "results" / "schema.json").read_text("utf-8"))


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


# --- parsing and selection -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("0/4", "start at 1"),
        ("5/4", "INDEX 5 is greater than COUNT 4"),
        ("1/0", "start at 1"),
        ("1/257", "COUNT is at most 256"),
        ("abc", "expected INDEX/COUNT"),
        ("2", "expected INDEX/COUNT"),
        ("1/2/3", "expected INDEX/COUNT"),
        ("-1/4", "expected INDEX/COUNT"),
        ("1_0/20", "expected INDEX/COUNT"),
        ("１/２", "expected INDEX/COUNT"),  # full-width digits: int() would take them
        ("", "expected INDEX/COUNT"),
        ("1/4\nerror: forged", "expected INDEX/COUNT"),
    ],
)
def test_bad_shard_is_a_one_line_usage_error(
    text: str, why: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    assert main(["run", str(EXAMPLE), f"--shard={text}", "-o", str(out), "-q"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("error: --shard: ")
    assert why in line and repr(text) in line and "2/4" in line
    assert not out.exists()


def test_parse_shard_accepts_index_over_count() -> None:
    assert parse_shard("2/4") == Shard(2, 4)
    assert parse_shard(" 3 / 3 \n") == Shard(3, 3)
    assert parse_shard("256/256").describe() == "256/256"
    with pytest.raises(UsageError, match=r"^shard input: expected INDEX/COUNT, got 'x'"):
        parse_shard("x", "shard input")
    with pytest.raises(UsageError, match=r"got '9{40}\.\.\.'"):
        parse_shard("9" * 100)
    with pytest.raises(ValueError):
        Shard(5, 4)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 256])
def test_selection_is_balanced_disjoint_and_complete(count: int) -> None:
    for n in (0, 1, 5, 33, 100):
        cases = [f"c{k}" for k in range(n)]
        picked = [select(cases, Shard(i, count)) for i in range(1, count + 1)]
        sizes = [len(p) for p in picked]
        assert max(sizes) - min(sizes) <= (1 if n else 0)
        assert sorted(c for p in picked for c in p) == sorted(cases)
        for i, p in enumerate(picked, start=1):
            # Each shard keeps suite order, and its k-th case sits where suite_position says.
            assert [cases[suite_position(Shard(i, count), k)] for k in range(len(p))] == p
    assert select(["a", "b", "c", "d", "e"], Shard(2, 2)) == ["b", "d"]
    assert select(("a", "b"), None) == ["a", "b"]


def test_cases_are_dealt_by_cost_largest_first_to_the_least_loaded_shard() -> None:
    # One case as costly as the four others together gets a shard of its own: 40 and 40, where
    # dealing by count would give 30 and 50.
    assert assign([10, 40, 10, 10, 10], 2) == [2, 1, 2, 2, 2]
    assert select(["a", "big", "b", "c", "d"], Shard(1, 2), [10, 40, 10, 10, 10]) == ["big"]
    costs = [5, 9, 1, 7, 3, 8, 2, 6]
    owner = assign(costs, 3)
    loads = [sum(c for c, o in zip(costs, owner, strict=True) if o == i) for i in (1, 2, 3)]
    assert sorted(loads) == [13, 14, 14]
    assert assign(costs, 3) == owner  # the same split in every job


def test_a_case_costs_its_prompt_and_answer_once_per_model_call(tmp_path: Path) -> None:
    suite_file = tmp_path / "suite.yaml"
    suite_file.write_text(
        """
ci_gate: 1
name: costs
targets:
  - {id: app, provider: fake}
  - {id: judge, provider: fake}
judge: {target: judge}
prompts:
  - {id: p, template: "{{ q }}"}
defaults: {prompt: p}
cases:
  - {id: short, vars: {q: "hi"}}
  - {id: long, vars: {q: "%s"}}
  - {id: judged, vars: {q: "hi"}, assert: [{type: llm-rubric, value: Polite}]}
"""
        % ("x" * 1000),
        encoding="utf-8",
    )
    suite = load_suite(suite_file)
    short, long, judged = case_costs(suite, suite.cases, 3)
    assert short == (2 + ANSWER_CHARS) * 3
    assert long == (1000 + ANSWER_CHARS) * 3
    assert judged == 2 * short  # the target's call and the judge's


# --- a real sharded run of the bundled example -------------------------------------------------


def _run_shards(tmp_path: Path, count: int) -> list[Path]:
    paths = []
    for i in range(1, count + 1):
        out = tmp_path / f"shard-{i}.json"
        assert main(["run", str(EXAMPLE), "--shard", f"{i}/{count}", "-o", str(out), "-q"]) == 0
        paths.append(out)
    return paths


def _by_case(res: Results) -> dict[tuple[str, int], tuple[Any, ...]]:
    return {
        (r.case_id, r.sample): (r.output, r.passed, r.score, r.assertions, r.error)
        for r in res.records
    }


def test_three_shards_merge_into_the_unsharded_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole_path = tmp_path / "whole.json"
    assert main(["run", str(EXAMPLE), "-o", str(whole_path), "-q"]) == 0
    whole = read_results(whole_path)
    capsys.readouterr()

    parts = _run_shards(tmp_path, 3)
    out = capsys.readouterr().out
    assert "(shard 2/3)" in out
    shards = [read_results(p) for p in parts]
    assert [s.run.shard for s in shards] == [Shard(1, 3), Shard(2, 3), Shard(3, 3)]
    suite = load_suite(EXAMPLE)
    costs = case_costs(suite, suite.cases, 1)
    expected = [[c.id for c in select(suite.cases, Shard(i, 3), costs)] for i in (1, 2, 3)]
    assert [list(s.cases) for s in shards] == expected
    assert sorted(cid for part in expected for cid in part) == sorted(whole.cases)
    loads = [sum(costs[k] for k, c in enumerate(suite.cases) if c.id in p) for p in expected]
    assert max(loads) - min(loads) <= max(costs)  # balanced by work, within one case
    for p in parts:
        data = json.loads(p.read_text("utf-8"))
        jsonschema.Draft202012Validator(RESULTS_SCHEMA).validate(data)
        assert data["run"]["shard"]["count"] == 3
    assert all(s.run.fingerprint == whole.run.fingerprint for s in shards)

    merged_path = tmp_path / "merged.json"
    # Given out of order: the merge puts them back.
    assert main(["merge", str(parts[2]), str(parts[0]), str(parts[1]), "-o", str(merged_path)]) == 0
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and "merged 3 shards" in line and str(merged_path) in line
    data = json.loads(merged_path.read_text("utf-8"))
    jsonschema.Draft202012Validator(RESULTS_SCHEMA).validate(data)
    assert "shard" not in data["run"]
    merged = read_results(merged_path)
    assert merged.run.shard is None
    assert list(merged.cases) == list(whole.cases)
    assert [(r.case_id, r.sample) for r in merged.records] == [
        (r.case_id, r.sample) for r in whole.records
    ]
    assert _by_case(merged) == _by_case(whole)
    assert merged.cases == whole.cases
    assert merged.run.totals == whole.run.totals
    assert merged.run.status == "complete"
    assert merged.run.started_at == min(s.run.started_at for s in shards)
    assert merged.run.finished_at == max(s.run.finished_at for s in shards)
    assert merged.run.duration_s == max(s.run.duration_s for s in shards)

    # The merged file compares with the whole run as one run of the same suite.
    assert main(["compare", str(whole_path), str(merged_path), "-q"]) == 0


def test_an_interrupted_shard_resumes_its_own_cases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "shard-1.json"
    args = ["run", str(EXAMPLE), "--shard", "1/3", "-o", str(out), "-q", "--concurrency", "1"]
    assert main([*args, "--max-calls", "2"]) == 1
    stopped = read_results(out)
    assert stopped.run.status == "budget_exhausted" and stopped.run.shard == Shard(1, 3)
    suite = load_suite(EXAMPLE)
    mine = len(select(suite.cases, Shard(1, 3), case_costs(suite, suite.cases, 1)))
    assert stopped.run.totals.records == stopped.run.totals.cases == mine
    assert Path(str(out) + ".journal").exists()
    assert main(args) == 0
    done = read_results(out)
    assert done.run.status == "complete" and done.run.totals.not_run == 0
    assert done.run.totals.calls == mine - stopped.run.totals.calls
    assert not Path(str(out) + ".journal").exists()
    capsys.readouterr()


# --- merge errors, through the CLI ------------------------------------------------------------


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    data = json.loads(path.read_text("utf-8"))
    change(data)
    edited = path.with_name("edited-" + path.name)
    edited.write_text(json.dumps(data), encoding="utf-8")
    return edited


def _set(*keys: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node = data
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return change


GIT_OTHER = {"commit": "f00d", "branch": "main", "dirty": False}


def _first_case(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text("utf-8"))
    first = next(iter(data["cases"]))
    return {first: data["cases"][first]}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (lambda p: [p[0], p[1]], r"shard 3/3 is missing from the files given \(.*shard-1.json, "),
        (lambda p: [p[0], p[1], p[1], p[2]], r"shard 2/3 is given twice: .*shard-2.json and "),
        (
            lambda p: [p[0], p[1], _edit(p[2], _set("run", "suite", "name", value="other"))],
            r"shard-1.json and .*edited-shard-3.json differ in suite name: 'support-bot' vs "
            r"'other'",
        ),
        (
            lambda p: [p[0], _edit(p[1], _set("run", "fingerprint", "suite", value="sha256:1"))],
            r"differ in suite fingerprint: 'sha256:[0-9a-f]+\.\.\. vs 'sha256:1'; rerun",
        ),
        (
            lambda p: [
                p[0],
                p[1],
                _edit(p[2], _set("run", "shard", value={"index": 3, "count": 4})),
            ],
            r"differ in shard count: 3 vs 4",
        ),
        (
            lambda p: [p[0], p[1], _edit(p[2], _set("run", "gate", "min_cases", value=5))],
            r"edited-shard-3.json differ in gate.min_cases: 30 vs 5",
        ),
        (
            lambda p: [p[0], p[1], _edit(p[2], _set("run", "target", "id", value="app-terse"))],
            r"differ in target: 'app' vs 'app-terse'",
        ),
        (
            lambda p: [p[0], p[1], _edit(p[2], _set("run", "repeats", value=3))],
            r"differ in repeats: 1 vs 3",
        ),
        (
            lambda p: [p[0], p[1], _edit(p[2], _set("run", "git", value=GIT_OTHER))],
            r"differ in git commit: .* vs 'f00d'",
        ),
        (
            lambda p: [p[0], p[1], _edit(p[2], lambda d: d["cases"].update(_first_case(p[0])))],
            r"case '.*' is in both .*shard-1.json and .*edited-shard-3.json",
        ),
        (
            lambda p: [p[0], _edit(p[1], lambda d: d["run"].pop("shard"))],
            r"edited-shard-2.json: not the results of a shard",
        ),
    ],
)
def test_merge_refuses_what_is_not_one_run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    given: Callable[[list[Path]], list[Path]],
    expected: str,
) -> None:
    parts = _run_shards(tmp_path, 3)
    capsys.readouterr()
    out = tmp_path / "merged.json"
    assert main(["merge", *map(str, given(parts)), "-o", str(out)]) == 2
    line = _one_error_line(capsys)
    assert re.search(expected, line), line
    assert not out.exists()


# --- the results file ------------------------------------------------------------------------


def test_files_without_a_shard_still_load_and_are_written_as_before(tmp_path: Path) -> None:
    plain = results([record("a"), record("b")])
    path = tmp_path / "old.json"
    write_results(plain, path)
    data = json.loads(path.read_text("utf-8"))
    assert "shard" not in data["run"]  # unsharded files are what they were before shards
    assert read_results(path).run.shard is None
    data["run"]["shard"] = None
    path.write_text(json.dumps(data), encoding="utf-8")
    assert read_results(path).run.shard is None


def test_shard_round_trips_and_bad_shards_are_named(tmp_path: Path) -> None:
    res = results([record("a")], shard=Shard(2, 4))
    path = tmp_path / "s.json"
    write_results(res, path)
    assert read_results(path) == res
    jsonschema.Draft202012Validator(RESULTS_SCHEMA).validate(json.loads(path.read_text("utf-8")))
    for bad, message in [
        ({"index": 5, "count": 4}, "run.shard: 5/4 is not a shard"),
        ({"index": True, "count": 4}, "run.shard.index: expected an integer"),
        ({"index": 1}, "run.shard.count: missing"),
        ("1/4", "run.shard: expected an object"),
    ]:
        data = json.loads(path.read_text("utf-8"))
        data["run"]["shard"] = bad
        path.write_text(json.dumps(data), encoding="utf-8")
        with pytest.raises(ResultsFileError, match=message):
            read_results(path)


# --- merge_results on built results --------------------------------------------------------------


def _shard_of(records: list[Record], index: int, count: int, **run: Any) -> Results:
    return results(records, shard=Shard(index, count), **run)


def test_a_single_whole_run_is_returned_unchanged() -> None:
    plain = results([record("a"), record("b")])
    assert merge_results([("plain.json", plain)]) is plain
    with pytest.raises(ResultsFileError, match="no results files given"):
        merge_results([])


def test_one_of_one_shard_becomes_a_whole_run() -> None:
    only = _shard_of([record("a"), record("b")], 1, 1)
    merged = merge_results([("s.json", only)])
    assert merged.run.shard is None
    assert merged.records == only.records and merged.cases == only.cases


def test_without_the_suite_order_shards_interleave_by_position() -> None:
    # Built parts whose fingerprints name only their own cases: suite order is not recoverable.
    a = _shard_of([record("s0", 0), record("s0", 1), record("s2"), record("s4")], 1, 2)
    b = _shard_of([record("s1"), record("s3")], 2, 2)
    merged = merge_results([("b.json", b), ("a.json", a)])
    assert [(r.case_id, r.sample) for r in merged.records] == [
        ("s0", 0),
        ("s0", 1),
        ("s1", 0),
        ("s2", 0),
        ("s3", 0),
        ("s4", 0),
    ]
    assert list(merged.cases) == ["s0", "s1", "s2", "s3", "s4"]
    assert merged.run.totals.cases == 5 and merged.run.totals.records == 6


def test_times_status_calls_and_git_are_merged() -> None:
    a = _shard_of(
        [record("a")],
        1,
        2,
        started_at="2026-11-23T10:00:05.000+00:00",
        finished_at="2026-11-23T10:01:00.000+00:00",
        duration_s=55.0,
        git=GitInfo("abc", "main", False),
    )
    b = _shard_of(
        [record("b", error=("budget", "the call budget ran out"))],
        2,
        2,
        # Another zone, earlier as an instant though later as text.
        started_at="2026-11-23T11:00:00.000+02:00",
        finished_at="2026-11-23T10:02:00.000+00:00",
        duration_s=80.0,
        status="budget_exhausted",
        stop_reason="max_calls reached",
        git=GitInfo("abc", None, True),
    )
    merged = merge_results([("a.json", a), ("b.json", b)]).run
    assert merged.started_at == "2026-11-23T11:00:00.000+02:00"
    assert merged.finished_at == "2026-11-23T10:02:00.000+00:00"
    assert merged.duration_s == 80.0
    assert (merged.status, merged.stop_reason) == ("budget_exhausted", "max_calls reached")
    assert merged.totals.calls == a.run.totals.calls + b.run.totals.calls
    assert (merged.totals.not_run, merged.totals.passed) == (1, 1)
    assert merged.git == GitInfo("abc", "main", True)


def test_the_judged_assertions_of_every_shard_are_kept() -> None:
    rubric = JudgeStatus("tone", "llm-rubric", "judge", "gpt-4o-mini", None)
    faithful = JudgeStatus("grounded", "context-faithfulness", "judge", "gpt-4o-mini", "no labels")
    a = _shard_of([record("a")], 1, 3, judges=(rubric,))
    b = _shard_of([record("b")], 2, 3, judges=(faithful, rubric))
    c = _shard_of([record("c")], 3, 3)  # its cases have no judged assertion
    merged = merge_results([("a.json", a), ("b.json", b), ("c.json", c)])
    assert merged.run.judges == (rubric, faithful)


def test_values_from_files_stay_on_one_line_in_merge_errors() -> None:
    a = _shard_of([record("a\nerror: forged")], 1, 2, gate={"ok": 1})
    b = _shard_of([record("b")], 2, 2, gate={"ok": 1, "x\nerror: forged": 2})
    with pytest.raises(ResultsFileError) as info:
        merge_results([("a.json", a), ("b.json", b)])
    assert "\n" not in str(info.value) and "gate['x\\nerror: forged']: None vs 2" in str(info.value)
    b = _shard_of([record("a\nerror: forged")], 2, 2, gate={"ok": 1})
    with pytest.raises(ResultsFileError) as info:
        merge_results([("a.json", a), ("b.json", b)])
    assert "\n" not in str(info.value) and "case 'a\\nerror: forged' is in both" in str(info.value)
