"""``ci-gate calibrate`` end to end: scripted judges (a ``python`` target whose verdict depends on
the judged text and the repeat, or a real local OpenAI-compatible server), the statistics it
writes, the file it keeps, and that a run then blocks or stays advisory accordingly."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from ci_gate.cli import main
from ci_gate.judge.calibration import read_calibrations
from tests.fakes.model_server import ModelServer
from tests.judge_kit import ENV, run, verdict, write_suite

# The judge finds the graded text between its fence tags, and scores it with SCORE(out, sample).
JUDGE_TEMPLATE = """
import json, re

def _graded(request):
    for message in request["messages"]:
        found = re.search(r"The output to grade:\\n<(DATA-[0-9A-F]+)>\\n(.*?)\\n</\\1>",
                          message["content"], re.S)
        if message["role"] == "user" and found:
            return found.group(2)
    raise AssertionError("no graded output in the request")

def judge(request):
    out, sample = _graded(request), request["sample"]
    score = SCORE
    if score is None:
        return "I would rather not say."
    return json.dumps({"reason": "scripted", "score": score})
"""
PERFECT = "5 if 'GOOD' in out else 1"
INVERTED = "1 if 'GOOD' in out else 5"
# FLIP outputs pass on repeats 0-3 and fail on repeat 4.
FLIPPING = "1 if 'BAD' in out or ('FLIP' in out and sample == 4) else 5"

LABELS = {
    "c1": [
        {"output": "GOOD answer one", "pass": True},
        {"output": "BAD answer one", "pass": False},
    ],
    "c2": [
        {"output": "GOOD answer two", "pass": True},
        {"output": "BAD answer two", "pass": False},
    ],
}


def python_judge(tmp_path: Path, score: str) -> dict[str, Any]:
    # A fresh module name per test: Python keeps imported modules for the whole session.
    module = f"judge_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(JUDGE_TEMPLATE.replace("SCORE", score), "utf-8")
    return {"id": "judge", "provider": "python", "function": f"{module}:judge", "path": "."}


def suite_with(
    tmp_path: Path,
    score: str,
    labels: Mapping[str, Sequence[Mapping[str, Any]]] = LABELS,
    *,
    outputs: Mapping[str, str] | None = None,
    judge: Mapping[str, Any] | None = None,
    assertions: Sequence[Mapping[str, Any]] = ({"type": "llm-rubric", "value": "Is good"},),
    top: Mapping[str, Any] | None = None,
) -> Path:
    outputs = outputs or {case_id: f"GOOD app answer {case_id}" for case_id in labels}
    return write_suite(
        tmp_path,
        outputs,
        assertions=assertions,
        judge={"target": "judge", "min_labels": 2, **(judge or {})},
        extra_targets=[python_judge(tmp_path, score)],
        cases_extra={case_id: {"labels": list(ls)} for case_id, ls in labels.items()},
        top=top,
    )


def calibrate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    code = main(["calibrate", *argv])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err.splitlines()


def entries(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text("utf-8"))
    assert data["format"] == "ci-gate-calibration" and data["version"] == 1
    return list(data["assertions"])


def row(out: list[str], name: str) -> str:
    (found,) = [line for line in out if line.startswith(name + " ")]
    return found


def test_a_perfect_judge_can_block(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = suite_with(tmp_path, PERFECT)
    code, out, err = calibrate(capsys, str(path), "--repeats", "3")
    assert code == 0 and err == []
    (entry,) = entries(tmp_path / "calibration.json")
    assert entry["assertion"] == "llm-rubric" and entry["type"] == "llm-rubric"
    assert entry["judge"] == "judge" and entry["model"] is None and entry["repeats"] == 3
    assert entry["outputs"] == 4 and entry["labels"] == 4 and entry["judgements"] == 12
    assert entry["self_agreement"] == 1.0 and entry["accuracy"] == 1.0 and entry["kappa"] == 1.0
    assert entry["created_at"].endswith("+00:00")
    line = row(out, "llm-rubric")
    assert line.split()[1:8] == ["judge", "4", "4", "100%", "100%", "1.00", "0"]
    assert line.endswith("can block")
    assert any(
        "wrote 1 calibration(s) to" in s and "(the default, next to the suite)" in s for s in out
    )
    assert any("calibration: calibration.json" in s for s in out)  # how to make runs use it


def test_a_judge_that_flips_is_advisory_by_its_self_agreement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = {
        "c1": [
            {"output": "GOOD plain", "pass": True},
            {"output": "FLIP sometimes", "pass": True},
            {"output": "BAD plain", "pass": False},
        ]
    }
    path = suite_with(tmp_path, FLIPPING, labels, judge={"min_self_agreement": 0.9})
    code, out, _ = calibrate(capsys, str(path))
    assert code == 0
    (entry,) = entries(tmp_path / "calibration.json")
    # Verdicts: GOOD TTTTT (10/10 pairs agree), FLIP TTTTF (6/10), BAD FFFFF (10/10).
    assert entry["self_agreement"] == pytest.approx((1 + 0.6 + 1) / 3)
    # 15 (verdict, label) pairs, 14 agree; judge passes 9, humans 10:
    # pe = (9*10 + 6*5) / 225, kappa = (14*15 - 120) / (225 - 120) = 90 / 105.
    assert entry["accuracy"] == pytest.approx(14 / 15)
    assert entry["kappa"] == pytest.approx(90 / 105)
    assert entry["judgements"] == 15 and entry["repeats"] == 5
    line = row(out, "llm-rubric")
    assert "87%" in line and "93%" in line and "0.86" in line
    assert line.endswith(
        "the judge agreed with itself on 87% of repeated verdicts (judge.min_self_agreement is 90%)"
    )


def test_a_consistent_judge_that_disagrees_with_humans_is_advisory_by_kappa(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = suite_with(tmp_path, INVERTED)
    code, out, _ = calibrate(capsys, str(path), "--repeats", "2")
    assert code == 0
    (entry,) = entries(tmp_path / "calibration.json")
    assert entry["self_agreement"] == 1.0 and entry["accuracy"] == 0.0 and entry["kappa"] == -1.0
    assert row(out, "llm-rubric").endswith(
        "Cohen's kappa against human labels is -1.00 (judge.min_kappa is 0.60)"
    )


def test_too_few_labels_is_advisory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = suite_with(tmp_path, PERFECT, judge={"min_labels": 10})
    code, out, _ = calibrate(capsys, str(path), "--repeats", "2")
    assert code == 0
    assert row(out, "llm-rubric").endswith(
        "calibrated on 4 human-labelled output(s); judge.min_labels is 10 (add labels to cases)"
    )


def test_labels_of_one_class_give_an_undefined_kappa(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = {"c1": [{"output": "GOOD a", "pass": True}, {"output": "GOOD b", "pass": True}]}
    path = suite_with(tmp_path, PERFECT, labels)
    code, out, _ = calibrate(capsys, str(path), "--repeats", "2")
    assert code == 0
    (entry,) = entries(tmp_path / "calibration.json")
    assert entry["kappa"] is None and entry["accuracy"] == 1.0
    assert "undefined" in row(out, "llm-rubric")
    assert row(out, "llm-rubric").endswith(
        "kappa against human labels is undefined (judge.min_kappa is 0.60)"
    )


def test_invalid_judge_replies_are_errors_left_out_of_the_statistics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The judge will not answer about NOSAY outputs (twice per judgement: asked again once).
    labels = {"c1": [*LABELS["c1"], {"output": "NOSAY GOOD-SECRET-TEXT", "pass": True}]}
    path = suite_with(tmp_path, "None if 'NOSAY' in out else " + PERFECT, labels)
    code, out, _ = calibrate(capsys, str(path), "--repeats", "3")
    assert code == 0
    (entry,) = entries(tmp_path / "calibration.json")
    assert entry["outputs"] == 3 and entry["judgements"] == 6 and entry["labels"] == 2
    assert entry["kappa"] == 1.0 and entry["self_agreement"] == 1.0
    assert row(out, "llm-rubric").split()[7] == "3"  # the errors column
    (note,) = [s for s in out if "judgement(s) failed" in s]
    assert "3 of 9 judgement(s) failed" in note and "no valid answer in two tries" in note
    assert "'I would rather not say.'" in note  # the judge's reply, quoted and cut
    assert all("GOOD-SECRET-TEXT" not in s for s in out)  # outputs are never printed


def test_every_judgement_failing_writes_nothing_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = suite_with(tmp_path, "None")
    code, out, _ = calibrate(capsys, str(path), "--repeats", "2")
    assert code == 1
    assert not (tmp_path / "calibration.json").exists()
    assert row(out, "llm-rubric").endswith("not calibrated: every judgement failed")
    assert any("no calibration written" in s for s in out)


def test_results_outputs_are_judged_for_self_agreement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # c1's app output is also a labelled output: judged once. c2 has no labels: its output is
    # an extra, unlabelled item. c3's output flips on the last repeat.
    labels = {"c1": LABELS["c1"], "c2": [], "c3": []}
    outputs = {"c1": "GOOD answer one", "c2": "GOOD app two", "c3": "FLIP app three"}
    path = suite_with(tmp_path, FLIPPING, labels, outputs=outputs, top={"repeats": 2})
    run(path, tmp_path)
    code, out, _ = calibrate(capsys, str(path), "--results", str(tmp_path / "results.json"))
    assert code == 0
    (entry,) = entries(tmp_path / "calibration.json")
    assert entry["outputs"] == 4 and entry["labels"] == 2 and entry["judgements"] == 20
    assert entry["self_agreement"] == pytest.approx((1 + 1 + 1 + 0.6) / 4)
    assert entry["accuracy"] == 1.0  # over the labelled items only
    assert row(out, "llm-rubric").split()[2:4] == ["4", "2"]


def test_results_alone_calibrate_self_agreement_when_labels_are_not_required(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels: dict[str, list[dict[str, Any]]] = {"c1": [], "c2": []}
    path = suite_with(tmp_path, PERFECT, labels, judge={"min_kappa": None})
    run(path, tmp_path)
    code, out, _ = calibrate(capsys, str(path), "--results", str(tmp_path / "results.json"))
    assert code == 0
    (entry,) = entries(tmp_path / "calibration.json")
    assert entry["labels"] == 0 and entry["kappa"] is None and entry["accuracy"] is None
    line = row(out, "llm-rubric")
    assert line.split()[4:7] == ["100%", "-", "-"] and line.endswith("can block")


def test_other_entries_of_the_file_are_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "judges" / "cal.json"
    first = suite_with(tmp_path, PERFECT, judge={"calibration": "judges/cal.json"})
    assert calibrate(capsys, str(first), "--repeats", "2")[0] == 0
    (polite,) = entries(target)
    # A second rubric: its entry is added, the first one kept.
    data = json.loads(first.read_text("utf-8"))
    data["defaults"]["assert"] = [{"type": "llm-rubric", "value": "Is kind", "name": "kind"}]
    first.write_text(json.dumps(data), "utf-8")
    code, out, _ = calibrate(capsys, str(first), "--repeats", "2")
    assert code == 0
    kept, kind = entries(target)
    assert kept == polite and kind["assertion"] == "kind" and kind["key"] != polite["key"]
    assert any("(judge.calibration of the suite); kept 1 other entry" in s for s in out)
    assert not any("runs use it once" in s for s in out)  # the suite already names the file
    # Calibrating the first again replaces its entry in place.
    data["defaults"]["assert"] = [{"type": "llm-rubric", "value": "Is good"}]
    first.write_text(json.dumps(data), "utf-8")
    assert calibrate(capsys, str(first), "--repeats", "3")[0] == 0
    again, same_kind = entries(target)
    assert again["key"] == polite["key"] and again["repeats"] == 3 and same_kind == kind


def test_an_unreadable_existing_file_is_not_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = suite_with(tmp_path, PERFECT)
    out_file = tmp_path / "mine.json"
    out_file.write_text("{not json", "utf-8")
    code, _, err = calibrate(capsys, str(path), "-o", str(out_file))
    assert code == 2 and len(err) == 1
    assert "exists but is not a calibration file" in err[0] and "-o" in err[0]
    assert out_file.read_text("utf-8") == "{not json"


@pytest.mark.parametrize(
    ("score", "advisory"),
    [
        (PERFECT, None),
        (INVERTED, "advisory: Cohen's kappa against human labels is -1.00"),
    ],
    ids=["perfect", "inverted"],
)
def test_a_run_blocks_exactly_when_calibrate_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], score: str, advisory: str | None
) -> None:
    path = suite_with(tmp_path, score, judge={"calibration": "calibration.json"})
    code, out, _ = calibrate(capsys, str(path), "--repeats", "2")
    assert code == 0
    res = run(path, tmp_path)
    assert res.records and all(r.error is None for r in res.records)
    (status,) = res.run.judges
    for record in res.records:
        (outcome,) = record.assertions
        if advisory is None:
            assert outcome.advisory is None and outcome.blocking is True
        else:
            assert outcome.advisory is not None and outcome.advisory.startswith(advisory)
            assert outcome.blocking is False
    assert status.advisory == (None if advisory is None else res.records[0].assertions[0].advisory)
    expected = "can block" if advisory is None else advisory.removeprefix("advisory: ")
    assert expected in row(out, "llm-rubric")


def test_verdicts_are_cached_by_repeat_and_no_cache_asks_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_KEY", ENV["JUDGE_KEY"])
    with ModelServer(answers={"": verdict(5)}) as server:
        path = write_suite(
            tmp_path,
            {"c1": "x"},
            judge_url=server.url,
            cases_extra={"c1": {"labels": [{"output": "fine", "pass": True}]}},
            judge={"target": "judge", "min_kappa": None},
        )
        code, out, _ = calibrate(capsys, str(path), "--repeats", "4")
        assert code == 0 and len(server.requests) == 4  # one call per repeat
        assert any("4 judge call(s), 0 cached" in s for s in out)
        code, out, _ = calibrate(capsys, str(path), "--repeats", "4")
        assert code == 0 and len(server.requests) == 4
        assert any("0 judge call(s), 4 cached" in s for s in out)
        code, out, _ = calibrate(capsys, str(path), "--repeats", "4", "--no-cache", "-q")
        assert code == 0 and len(server.requests) == 8
        assert not any("llm-rubric" in s for s in out)  # -q: no table
    (entry,) = entries(tmp_path / "calibration.json")
    assert entry["model"] == "gpt-4o-mini" and entry["self_agreement"] == 1.0
    assert any("$" in s and "spent" in s for s in out)


def test_the_budget_stops_calibration_without_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = suite_with(tmp_path, PERFECT, top={"budget": {"max_calls": 3}})
    code, _, err = calibrate(capsys, str(path), "--concurrency", "1")
    assert code == 1 and len(err) == 1
    assert "the budget of 3 calls was reached" in err[0] and "no calibration file" in err[0]
    assert not (tmp_path / "calibration.json").exists()


def test_context_of_a_label_reaches_context_faithfulness(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_KEY", ENV["JUDGE_KEY"])
    supported = json.dumps({"reason": "ok", "claims": [{"claim": "c", "supported": True}]})
    context = [{"id": "d1", "text": "Refunds take 5 days."}]
    labels = [
        {"output": "Refunds take 5 days.", "pass": True, "context": context},
        {"output": "Refunds take 5 days.", "pass": False},  # no context: fails without a call
    ]
    with ModelServer(answers={"Refunds take 5 days.": supported}) as server:
        path = write_suite(
            tmp_path,
            {"c1": "x"},
            judge_url=server.url,
            assertions=[{"type": "context-faithfulness"}],
            cases_extra={"c1": {"labels": labels}},
            judge={"target": "judge", "min_labels": 2},
        )
        code, out, _ = calibrate(capsys, str(path), "--repeats", "2")
        assert len(server.requests) == 2
        assert "[d1] Refunds take 5 days." in server.requests[0].body["messages"][1]["content"]
    assert code == 0
    (entry,) = entries(tmp_path / "calibration.json")
    assert entry["type"] == "context-faithfulness" and entry["kappa"] == 1.0
    assert row(out, "context-faithfulness").endswith("can block")


def test_an_assertion_without_items_gets_no_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = suite_with(
        tmp_path,
        PERFECT,
        assertions=[
            {"type": "llm-rubric", "value": "Is good", "name": "good"},
            {"type": "llm-rubric", "value": "Is short", "name": "short"},
        ],
        labels={"c1": [{**label, "assertion": "good"} for label in LABELS["c1"]]},
    )
    code, out, _ = calibrate(capsys, str(path), "--repeats", "2", "-o", "out.json")
    assert code == 0
    (entry,) = entries(tmp_path / "out.json")
    assert entry["assertion"] == "good"
    assert set(read_calibrations(tmp_path / "out.json", "out.json")) == {entry["key"]}
    assert row(out, "short").endswith(
        "nothing to calibrate on (add labels: to its cases, or pass --results)"
    )
    assert any("to out.json (-o)" in s for s in out)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--repeats", "1"], "--repeats must be at least 2"),
        (["--concurrency", "0"], "--concurrency must be greater than 0"),
        (["--results", "missing.json"], "no such results file"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    path = suite_with(tmp_path, PERFECT)
    code, out, err = calibrate(capsys, str(path), *argv)
    assert code == 2 and out == [] and len(err) == 1 and message in err[0]


def test_no_labels_and_no_results_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = suite_with(tmp_path, PERFECT, {"c1": []})
    code, out, err = calibrate(capsys, str(path))
    assert code == 2 and out == [] and len(err) == 1
    assert "add labels:" in err[0] and "--results" in err[0]


def test_a_suite_without_judged_assertions_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_suite(
        tmp_path, {"c1": "x"}, assertions=[{"type": "contains", "value": "x"}], judge={}
    )
    code, _, err = calibrate(capsys, str(path))
    assert code == 2 and len(err) == 1 and "no judged assertion" in err[0]


def test_a_bad_suite_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("ci_gate: 1\nname: [unclosed\n", "utf-8")
    code, out, err = calibrate(capsys, str(path))
    assert code == 2 and out == [] and err and all(line.startswith("error: ") for line in err)
    code, _, err = calibrate(capsys, str(tmp_path / "absent.yaml"))
    assert code == 2 and len(err) == 1


def test_a_runs_cached_verdicts_are_reused_by_calibrate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_KEY", ENV["JUDGE_KEY"])
    with ModelServer(answers={"": verdict(5)}) as server:
        path = write_suite(
            tmp_path,
            {"c1": "a fine answer"},
            judge_url=server.url,
            judge={"target": "judge", "min_kappa": None},
            top={"repeats": 2},
        )
        res = run(path, tmp_path, cache=True)
        assert len(server.requests) == 2 and res.records[0].output == "a fine answer"
        argv = ["--results", str(tmp_path / "results.json"), "--cache-dir", str(tmp_path / "cache")]
        code, out, _ = calibrate(capsys, str(path), "--repeats", "3", *argv)
        # Samples 0 and 1 were judged by the run; only repeat 2 is a new call.
        assert code == 0 and len(server.requests) == 3
    assert any("1 judge call(s), 2 cached" in s for s in out)
