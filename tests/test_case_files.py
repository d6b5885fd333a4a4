"""Included case files: JSONL, CSV and YAML, read with line numbers; problems name file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_gate.errors import SuiteError
from ci_gate.suite.case_files import RawCase, read_case_file
from ci_gate.suite.yaml_source import read_text


def read(tmp_path: Path, name: str, content: str | bytes) -> tuple[list[RawCase], list[str]]:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    cases, problems = read_case_file(path, name)
    return cases, [str(p) for p in problems]


def test_jsonl_cases_keep_their_line(tmp_path: Path) -> None:
    cases, problems = read(
        tmp_path,
        "c.jsonl",
        '{"id": "a", "vars": {"q": "x"}}\n\n   \n{"id": "b", "tags": ["t"]}\r\n',
    )
    assert problems == []
    assert [(c.data, c.line, c.file) for c in cases] == [
        ({"id": "a", "vars": {"q": "x"}}, 1, "c.jsonl"),
        ({"id": "b", "tags": ["t"]}, 4, "c.jsonl"),
    ]


def test_jsonl_problems_name_the_line_and_continue(tmp_path: Path) -> None:
    cases, problems = read(
        tmp_path,
        "c.jsonl",
        '{"id": "a"}\n{"id": "b",}\n["not", "an", "object"]\n{"id": "c", "id": "d"}\n{"id": "e"}\n',
    )
    assert [c.data["id"] for c in cases] == ["a", "e"]
    assert problems == [
        "c.jsonl:2: invalid JSON at column 12: Expecting property name enclosed in double quotes "
        "(each line must be one complete JSON object)",
        "c.jsonl:3: each line must be a JSON object (a case), got list "
        '(e.g. {"id": "refund-01", "vars": {"question": "..."}})',
        "c.jsonl:4: id: duplicate key 'id'",
    ]


def test_csv_columns_become_case_keys_and_vars(tmp_path: Path) -> None:
    cases, problems = read(
        tmp_path,
        "c.csv",
        "\ufeffid, question ,tags,expected,group,prompt,assert,empty\r\n"
        'a,Hi?,x; y,30 days,g,p,"[{""type"": ""contains""}]",\r\n'
        '"b","multi\nline","u,v",,,,,\r\n'
        ",,,,,,,\r\n"
        "c,plain,,,,,,\r\n",
    )
    assert problems == []
    assert [c.data for c in cases] == [
        {
            "id": "a",
            "tags": ["x", "y"],
            "expected": "30 days",
            "group": "g",
            "prompt": "p",
            "assert": [{"type": "contains"}],
            "vars": {"question": "Hi?", "empty": ""},
        },
        {"id": "b", "tags": ["u", "v"], "vars": {"question": "multi\nline", "empty": ""}},
        {"id": "c", "vars": {"question": "plain", "empty": ""}},
    ]
    assert [c.line for c in cases] == [2, 3, 6]


def test_csv_without_id_column(tmp_path: Path) -> None:
    cases, problems = read(tmp_path, "c.csv", "name,question\na,b\n")
    assert cases == []
    assert problems == [
        "c.csv:1: the CSV header has no 'id' column "
        "(add an 'id' column; the header has 'name', 'question')"
    ]


def test_csv_header_problems(tmp_path: Path) -> None:
    _, problems = read(tmp_path, "c.csv", "id,q,q,\na,b,c,d\n")
    assert problems == [
        "c.csv:1: column 'q' appears twice in the header",
        "c.csv:1: column 4 has no name in the header",
    ]


def test_csv_row_problems_name_the_row_line(tmp_path: Path) -> None:
    cases, problems = read(
        tmp_path, "c.csv", 'id,q,assert\na,b,[oops\nc,d\n"e","f\ng",\nh,i,"{""type"": 1}"\n'
    )
    assert [c.data["id"] for c in cases] == ["e", "h"]
    assert cases[0].line == 4
    assert cases[1].data["assert"] == {"type": 1}  # its shape is the schema's job
    assert problems == [
        "c.csv:2: assert: the assert cell is not valid JSON at column 2 "
        '(write a JSON list, e.g. [{"type": "contains", "value": "30 days"}])',
        "c.csv:3: row has 2 cells but the header has 3 columns (quote cells that contain commas)",
    ]


def test_csv_parser_errors_are_problems(tmp_path: Path) -> None:
    _, problems = read(tmp_path, "c.csv", "id,q\na,b\nc," + "x" * 200_000 + "\n")
    assert len(problems) == 1
    assert problems[0] == "c.csv:3: invalid CSV: field larger than field limit (131072)"


def test_yaml_list_and_mapping(tmp_path: Path) -> None:
    cases, problems = read(tmp_path, "c.yaml", "# comment\n- id: a\n  vars: {q: 1}\n- id: b\n")
    assert problems == []
    assert [(c.data["id"], c.line, c.path) for c in cases] == [("a", 2, (0,)), ("b", 4, (1,))]
    assert cases[0].lines[(0, "vars", "q")] == 3
    cases, problems = read(tmp_path, "c.yml", "cases:\n  - id: a\n")
    assert problems == []
    assert [(c.data, c.path, c.line) for c in cases] == [({"id": "a"}, ("cases", 0), 2)]


def test_yaml_of_the_wrong_shape(tmp_path: Path) -> None:
    _, problems = read(tmp_path, "c.yaml", "name: x\ncases: []\n")
    assert problems == [
        "c.yaml:1: a YAML case file must hold a list of cases (or a mapping with only "
        "'cases:') (start each case with '- id: ...')"
    ]
    _, problems = read(tmp_path, "d.yaml", "- id: a\n  id: b\n")
    assert problems == [
        "d.yaml:2: [0].id: duplicate key 'id' (first defined on line 1; remove one of them)"
    ]


def test_empty_files_have_no_cases(tmp_path: Path) -> None:
    for name in ("e.jsonl", "e.csv", "e.yaml"):
        cases, problems = read(tmp_path, name, "")
        assert cases == []
        assert problems == [f"{name}: the file has no cases"]


def test_unsupported_suffix_and_encoding(tmp_path: Path) -> None:
    _, problems = read(tmp_path, "c.txt", "id\na\n")
    assert problems == [
        "c.txt: unsupported case file type '.txt' (use .jsonl, .csv, .yaml or .yml)"
    ]
    _, problems = read(tmp_path, "c.csv", b"id,q\na,caf\xe9\n")
    assert problems == ["c.csv:2: not valid UTF-8: byte 0xe9 at offset 10 (save the file as UTF-8)"]


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("x" * 2000)
    with pytest.raises(SuiteError) as info:
        read_text(path, "big.yaml", max_bytes=1024)
    assert info.value.lines() == [
        "big.yaml: file is 2.0 kB, over the limit of 1.0 kB "
        "(split the cases into several included case files)"
    ]


def test_suite_files_over_10_mb_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as out:
        out.truncate(10 * 2**20 + 1)  # sparse: no 10 MB actually written
    with pytest.raises(SuiteError) as info:
        read_text(path, "huge.yaml")
    assert info.value.lines() == [
        "huge.yaml: file is 10.0 MB, over the limit of 10.0 MB "
        "(split the cases into several included case files)"
    ]
