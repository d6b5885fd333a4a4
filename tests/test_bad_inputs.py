"""Every malformed input in tests/bad_inputs/, run through the real commands: exit 2 and one
line on stderr naming the problem and where, never a traceback; huge inputs in bounded memory.

tests/bad_inputs/EXPECTED.yaml lists each input with its command and the fragment its error
must contain. Inputs too large to keep in the repository are written here, into tmp_path.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci_gate.cli import main
from ci_gate.commands.action import cmd_action
from tests.action_world import read_outputs
from tests.bad_input_kit import check_error, peak_memory

BAD = Path(__file__).parent / "bad_inputs"
FOLDERS = ("suites", "results", "events", "inputs")
MANIFEST: dict[str, dict[str, str]] = yaml.safe_load((BAD / "EXPECTED.yaml").read_text("utf-8"))
GOOD_RESULTS = "support/good_results.json"
GOOD_SHARD = "support/good_shard_1_of_2.json"


def corpus() -> list[str]:
    return sorted(f"{folder}/{p.name}" for folder in FOLDERS for p in (BAD / folder).iterdir())


def test_the_corpus_is_complete_and_small() -> None:
    files = corpus()
    assert len(files) >= 60, "the corpus of bad inputs must not shrink"
    assert sorted(MANIFEST) == files, "every input needs an EXPECTED.yaml entry, and no more"
    for path in BAD.rglob("*"):
        if path.is_file():
            assert path.stat().st_size < 20 * 1024, f"{path} is too big to keep; generate it"


def _action(rel: str, entry: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "INPUT_SUITE": "support/good_suite.yaml",
        "GITHUB_WORKSPACE": str(tmp_path),
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }
    if rel.startswith("events/"):
        env["GITHUB_EVENT_NAME"] = entry.get("event", "pull_request")
        env["GITHUB_EVENT_PATH"] = rel
    else:
        for line in (BAD / rel).read_text("utf-8").splitlines():
            key, _, value = line.partition("=")
            env[key] = value
    log = io.StringIO()
    return cmd_action(env, log), log.getvalue()


def run_entry(rel: str, entry: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    command = (
        entry.get("command")
        or {
            "suites": "validate",
            "results": "compare",
            "events": "action",
            "inputs": "action",
        }[rel.split("/")[0]]
    )
    if command == "action":
        return _action(rel, entry, tmp_path)
    argv = {
        "validate": ["validate", rel],
        "run": ["run", rel, "-o", str(tmp_path / "out.json"), "-q", "--no-cache"],
        "compare": ["compare", GOOD_RESULTS, rel, "-q"],
        "merge": ["merge", GOOD_SHARD, rel, "-o", str(tmp_path / "merged.json")],
    }[command]
    return main(argv), ""


@pytest.mark.parametrize("rel", sorted(MANIFEST))
def test_a_bad_input_is_one_line_and_exit_2(
    rel: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(BAD)
    entry = MANIFEST[rel]
    code, log = run_entry(rel, entry, tmp_path)
    err = capsys.readouterr().err
    assert code == 2, err
    check_error(err, entry["expect"], validate=rel.startswith("suites/"))
    if log:  # the Action: an error annotation, the summary and the outputs say it too
        assert "Traceback" not in log and "::error title=ci-gate::" in log
        summary = (tmp_path / "summary").read_text("utf-8")
        assert summary.startswith("## 🛑 ci-gate could not run") and "\n" not in err.strip()
        outputs = read_outputs(tmp_path / "output")
        assert outputs["verdict"] == "error"
        assert outputs["summary"] == err.strip()


def test_results_of_another_suite_are_an_error_verdict_in_compare(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Documented: runs of different suites cannot be compared, a verdict (exit 1), not exit 2."""
    monkeypatch.chdir(BAD)
    code = main(["compare", GOOD_RESULTS, "results/from_another_suite.json", "-q"])
    out = capsys.readouterr().out
    assert code == 1 and out.startswith("ci-gate error:") and "different suites" in out


# --- huge inputs, generated -------------------------------------------------------------------

MB = 1024 * 1024


SUITE_HEAD = "ci_gate: 1\nname: huge\ntargets: [{id: bot, provider: fake}]\n"


def _suite_50mb(tmp: Path) -> list[str]:
    with (tmp / "huge.yaml").open("w") as f:
        f.write(SUITE_HEAD + "cases: [{id: a}]\n")
        f.write(("# padding" + " " * 1014 + "\n") * (50 * 1024))
    return ["validate", str(tmp / "huge.yaml")]


def _case_file_51mb(tmp: Path) -> list[str]:
    (tmp / "suite.yaml").write_text(SUITE_HEAD + "cases: [{file: big.jsonl}]\n")
    line = json.dumps({"id": "a", "vars": {"q": "x" * 1000}}) + "\n"
    (tmp / "big.jsonl").write_text(line * (51 * MB // len(line) + 1))
    return ["validate", str(tmp / "suite.yaml")]


def _bomb(tmp: Path) -> list[str]:
    # ten levels of ten aliases: 10**10 nodes if expanded
    text = "ci_gate: 1\nname: bomb\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in range(1, 11):
        text += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n"
    (tmp / "bomb.yaml").write_text(text)
    return ["validate", str(tmp / "bomb.yaml")]


def _deep_yaml(tmp: Path) -> list[str]:
    (tmp / "deep.yaml").write_text(SUITE_HEAD + "cases: " + "[" * 100_000 + "]" * 100_000 + "\n")
    return ["validate", str(tmp / "deep.yaml")]


def _wide_yaml(tmp: Path) -> list[str]:
    # 20,000 wrong items: the check stops looking well before it has explained them all
    (tmp / "wide.yaml").write_text(SUITE_HEAD + "cases: [" + ",".join(["0"] * 20_000) + "]\n")
    return ["validate", str(tmp / "wide.yaml")]


def _deep_jsonl(tmp: Path) -> list[str]:
    (tmp / "suite.yaml").write_text(SUITE_HEAD + "cases: [{file: deep.jsonl}]\n")
    (tmp / "deep.jsonl").write_text('{"id": "a", "vars": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    return ["validate", str(tmp / "suite.yaml")]


def _bad_lines_jsonl(tmp: Path) -> list[str]:
    (tmp / "suite.yaml").write_text(SUITE_HEAD + "cases: [{file: lines.jsonl}]\n")
    (tmp / "lines.jsonl").write_text("1\n" * 2_000_000)
    return ["validate", str(tmp / "suite.yaml")]


def _results_3gb(tmp: Path) -> list[str]:
    with (tmp / "huge.json").open("wb") as f:
        f.truncate(3 * 1024 * MB)  # sparse: refused by its size, never read
    return ["compare", str(BAD / GOOD_RESULTS), str(tmp / "huge.json"), "-q"]


def _results_deep(tmp: Path) -> list[str]:
    (tmp / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    return ["compare", str(BAD / GOOD_RESULTS), str(tmp / "deep.json"), "-q"]


def _results_10mb_truncated(tmp: Path) -> list[str]:
    data: dict[str, Any] = json.loads((BAD / GOOD_RESULTS).read_text("utf-8"))
    record = data["records"][0]
    data["records"] = [dict(record, sample=i, output="x" * 2000) for i in range(5_000)]
    text = json.dumps(data)
    (tmp / "cut.json").write_text(text[: len(text) - 1000])
    return ["compare", str(BAD / GOOD_RESULTS), str(tmp / "cut.json"), "-q"]


HUGE: list[tuple[str, Callable[[Path], list[str]], str, int]] = [
    # (name, make, fragment, peak bytes allowed): files refused by size are never read, a bomb
    # is never expanded, deep nesting stops at the limit; the bounds leave room for the parser.
    ("suite_50mb", _suite_50mb, "over the limit of 10.0 MB", 2 * MB),
    ("case_file_51mb", _case_file_51mb, "over the limit of 50.0 MB", 2 * MB),
    ("yaml_bomb_10_levels", _bomb, "aliases expand to more than 1000000 nodes", 20 * MB),
    ("yaml_nesting_100k", _deep_yaml, "nested more than 100 levels deep", 5 * MB),
    ("yaml_20k_wrong_items", _wide_yaml, "more problems not shown", 80 * MB),
    ("jsonl_nesting_100k", _deep_jsonl, "JSON nested too deeply", 20 * MB),
    ("jsonl_2m_bad_lines", _bad_lines_jsonl, "each line must be a JSON object", 30 * MB),
    ("results_3gb", _results_3gb, "larger than any results file", 2 * MB),
    ("results_nesting_100k", _results_deep, "nested too deeply", 20 * MB),
    # a 10 MB file read whole: bytes + text + the objects parsed before the cut, about 4x
    ("results_10mb_truncated", _results_10mb_truncated, "cut off", 60 * MB),
]


@pytest.mark.parametrize(
    ("make", "fragment", "bound"), [h[1:] for h in HUGE], ids=[h[0] for h in HUGE]
)
def test_a_huge_input_is_refused_in_bounded_memory(
    make: Callable[[Path], list[str]],
    fragment: str,
    bound: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = make(tmp_path)
    capsys.readouterr()
    with peak_memory() as peak:
        code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    check_error(err, fragment, validate=argv[0] == "validate")
    assert peak[0] < bound, f"peak {peak[0] / MB:.1f} MB"


def test_a_huge_event_payload_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = tmp_path / "event.json"
    with event.open("wb") as f:
        f.truncate(26 * MB)
    env = {
        "INPUT_SUITE": "s.yaml",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_WORKSPACE": str(tmp_path),
    }
    with peak_memory() as peak:
        code = cmd_action(env, io.StringIO())
    assert code == 2 and peak[0] < 2 * MB
    check_error(capsys.readouterr().err, "the event payload is over 25 MB")
