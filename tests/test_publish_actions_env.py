"""GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and workflow commands, read back by the runner's rules."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ci_gate.errors import InternalError
from ci_gate.publish.actions_env import (
    SUMMARY_LIMIT,
    SUMMARY_NOTE,
    annotation_commands,
    append_summary,
    emit,
    format_outputs,
    mask,
    write_outputs,
)
from ci_gate.report.markdown import render_markdown
from tests.hostile_corpus import HOSTILE
from tests.report_fixtures import failing, hostile, passing


# -- the runner's readers, re-implemented from actions/runner (Linux) -----------------------------
def parse_output_file(text: str) -> dict[str, str]:
    """``SetOutputFileCommand``: ``name=value`` or ``name<<DELIM`` ... ``DELIM`` (exact line)."""
    values: dict[str, str] = {}
    lines = iter(_lines_with_ends(text))
    for line, _ in lines:
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            values[line[:equals]] = line[equals + 1 :]
            continue
        assert heredoc > 0, f"invalid line {line!r}"
        name, delimiter = line[:heredoc], line[heredoc + 2 :]
        assert delimiter
        body: list[str] = []
        for inner, newline in lines:
            assert newline, f"matching delimiter not found {delimiter!r}"
            if inner == delimiter:
                break
            body.append(inner)
        else:
            raise AssertionError(f"matching delimiter not found {delimiter!r}")
        values[name] = "\n".join(body)
    return values


def _lines_with_ends(text: str) -> Iterator[tuple[str, bool]]:
    index = 0
    while index < len(text):
        lf = text.find("\n", index)
        if lf < 0:
            yield text[index:], False
            return
        yield text[index:lf], True
        index = lf + 1


_COMMAND_RE = re.compile(r"::([A-Za-z][A-Za-z0-9_-]*)(?: ([^:]*))?::(.*)")


def parse_command(line: str) -> tuple[str, dict[str, str], str] | None:
    """``ActionCommand.TryParse``: None when the line is not a command."""
    stripped = line.lstrip()
    if "##[" in stripped:
        raise AssertionError(f"legacy command syntax in {line!r}")
    if not stripped.startswith("::"):
        return None
    match = _COMMAND_RE.fullmatch(stripped)
    assert match, f"malformed command {line!r}"
    props: dict[str, str] = {}
    for pair in filter(None, (match.group(2) or "").split(",")):
        key, _, value = pair.partition("=")
        props[key] = _unescape(value, prop=True)
    return match.group(1), props, _unescape(match.group(3))


def _unescape(value: str, prop: bool = False) -> str:
    value = value.replace("%0D", "\r").replace("%0A", "\n")
    if prop:
        value = value.replace("%3A", ":").replace("%2C", ",")
    return value.replace("%25", "%")


# -- outputs -----------------------------------------------------------------------------------
HOSTILE_VALUES = {
    "verdict": "fail",
    "summary": "❌ 3 regressions\nsecond line\r\nthird\n",
    "empty": "",
    "lookalike": "ghadelimiter_00000000-0000-0000-0000-000000000000\nverdict<<EOF\npass\nEOF",
    "equals": "a=b<<c",
    "comment_url": "https://github.com/octo/repo/pull/7#issuecomment-1",
    "blank_lines": "\n\n\n",
}


def test_outputs_parse_back_by_the_runners_rules(tmp_path: Path) -> None:
    path = tmp_path / "output"
    path.write_text("earlier=1\n", encoding="utf-8")
    write_outputs(path, HOSTILE_VALUES)
    write_outputs(path, {"results-path": "results/ci-gate.json"})
    parsed = parse_output_file(path.read_bytes().decode("utf-8"))
    assert parsed == {"earlier": "1", **HOSTILE_VALUES, "results-path": "results/ci-gate.json"}


def test_hostile_values_cannot_end_early_or_inject(tmp_path: Path) -> None:
    values = {f"v{i}": piece for i, piece in enumerate(HOSTILE)}
    values["inject"] = "x\nverdict=pass\n"
    path = tmp_path / "output"
    write_outputs(path, values)
    parsed = parse_output_file(path.read_bytes().decode("utf-8"))
    assert set(parsed) == set(values)
    for name, value in values.items():
        # The runner reads the file as UTF-8; what cannot be encoded is replaced, never a break.
        expected = value.encode("utf-8", "replace").decode("utf-8")
        assert parsed[name] == expected, name


def test_delimiter_found_in_the_value_is_replaced() -> None:
    offered = iter(["EOF", "", "OK_DELIM"])
    text = format_outputs({"x": "a\nEOF\nb"}, lambda: next(offered))
    assert text == "x<<OK_DELIM\na\nEOF\nb\nOK_DELIM\n"
    with pytest.raises(InternalError, match="delimiter"):
        format_outputs({"x": "EOF"}, lambda: "EOF")


def test_delimiters_are_random_per_value() -> None:
    text = format_outputs({"a": "1", "b": "2"})
    delimiters = re.findall(r"^[ab]<<(ghadelimiter_[0-9a-f-]{36})$", text, re.MULTILINE)
    assert len(delimiters) == 2 and delimiters[0] != delimiters[1]


@pytest.mark.parametrize("name", ["", "a<<b", "a=b", "1abc", "a b", "a\nb"])
def test_bad_output_names_are_refused(name: str) -> None:
    with pytest.raises(InternalError, match="output name"):
        format_outputs({name: "v"})


# -- job summary -------------------------------------------------------------------------------
def test_summary_that_fits_is_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    comparison, gate = failing()
    report = render_markdown(comparison, gate)
    written = append_summary(path, report)
    assert path.read_text(encoding="utf-8") == written == report.rstrip("\n") + "\n"


def test_summary_is_capped_at_one_mebibyte_in_bytes(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("# earlier step output\n" * 1000, encoding="utf-8")
    # Four bytes per character: a character cap alone would write 4 MiB.
    rows = "".join(f"| case {i} | {'😀' * 40} |\n" for i in range(20_000))
    report = "## report\n\n<details><summary>all</summary>\n\n```\n" + rows
    append_summary(path, report)
    data = path.read_bytes()
    assert len(data) <= SUMMARY_LIMIT
    assert len(data) > SUMMARY_LIMIT * 0.9  # the budget is used, not wasted
    text = data.decode("utf-8")
    assert text.startswith("# earlier step output\n")
    assert text.endswith(SUMMARY_NOTE + "\n")
    head = text[: -len(SUMMARY_NOTE) - 1]
    assert head.count("```") % 2 == 0  # the open code block was closed
    assert head.count("<details>") == head.count("</details>")


def test_full_summary_file_gets_nothing(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_bytes(b"x" * SUMMARY_LIMIT)
    assert append_summary(path, "more") == ""
    assert path.stat().st_size == SUMMARY_LIMIT


def test_hostile_report_summary_fits(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    comparison, gate = hostile()
    append_summary(path, render_markdown(comparison, gate, limit=2_000_000), limit=50_000)
    assert 0 < path.stat().st_size <= 50_000


# -- annotations -------------------------------------------------------------------------------
def test_failed_gate_annotates_the_ten_worst_regressions_as_errors() -> None:
    comparison, gate = failing()
    lines = annotation_commands(comparison, gate, file="evals/support.yaml")
    commands = [parse_command(line) for line in lines]
    errors = [c for c in commands if c and c[0] == "error"]
    warnings = [c for c in commands if c and c[0] == "warning"]
    notices = [c for c in commands if c and c[0] == "notice"]
    regressed = sorted(
        (c for c in comparison.cases if c.status == "regressed"), key=lambda c: -c.severity
    )
    assert len(regressed) == 12 and len(errors) == 10
    assert [e[1]["title"] for e in errors] == [f"Regression: {c.case_id}" for c in regressed[:10]]
    assert all(e[1]["file"] == "evals/support.yaml" for e in errors)
    assert errors[0][2].startswith("failed: ")
    assert "mentions-policy: expected 'within 14 days'" in errors[0][2]
    assert [w[1]["title"] for w in warnings] == ["Errored: account-02"]
    assert "timeout after 30 s" in warnings[0][2]
    assert [n[2] for n in notices] == ["2 more changed case(s) are listed in the job summary."]


def test_passing_gate_makes_no_error_annotations() -> None:
    comparison, gate = passing()
    commands = [parse_command(line) for line in annotation_commands(comparison, gate)]
    assert all(c is not None and c[0] != "error" for c in commands)


def test_warning_cap_and_tolerated_regressions() -> None:
    comparison, gate = failing()
    gate = replace(gate, verdict="inconclusive")
    lines = annotation_commands(comparison, gate, max_warnings=10)
    kinds = [c[0] for c in map(parse_command, lines) if c]
    assert kinds.count("error") == 0 and kinds.count("warning") == 10
    assert kinds[-1] == "notice"


def test_hostile_annotations_are_one_command_per_line_and_masked() -> None:
    comparison, gate = hostile()
    secret = "hunter2-secret-value"
    first = comparison.cases[0]
    cases = (replace(first, case_id=f"leak {secret}\n::error::forged"), *comparison.cases[1:])
    comparison = replace(comparison, cases=cases)
    out = io.StringIO()
    lines = annotation_commands(comparison, gate, secrets=[secret])
    emit(lines, out)
    printed = out.getvalue().split("\n")
    assert printed[-1] == "" and len(printed) - 1 == len(lines)
    kinds = []
    for line in printed[:-1]:
        parsed = parse_command(line)
        assert parsed is not None and parsed[0] in ("error", "warning", "notice")
        kinds.append(parsed[0])
        assert secret not in parsed[2] and secret not in str(parsed[1])
        assert set(parsed[1]) <= {"title", "file"}
    assert kinds.count("error") == 10 and kinds.count("warning") <= 10
    assert parse_command(printed[0])[1]["title"].startswith("Regression: leak ***")  # type: ignore[index]


def test_emit_refuses_multi_line_commands() -> None:
    with pytest.raises(InternalError):
        emit(["::notice::a\n::error::b"], io.StringIO())


# -- masks -------------------------------------------------------------------------------------
def test_mask_registers_every_line_of_a_secret_verbatim() -> None:
    secret = "line-one%0A\r\nline two\u200b\n\n"
    lines = mask(secret)
    parsed = [parse_command(line) for line in lines]
    assert [p[0] for p in parsed if p] == ["add-mask", "add-mask"]
    assert [p[2] for p in parsed if p] == ["line-one%0A", "line two\u200b"]
    assert mask("") == [] and mask(" \n ") == []
