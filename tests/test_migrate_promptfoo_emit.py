"""The YAML writer of converted suites: whatever text a promptfoo config holds reads back exactly
through ci-gate's own YAML reader, and comments cannot be escaped from."""

from __future__ import annotations

import math
from typing import Any

import pytest

from ci_gate.migrate.promptfoo_emit import Commented, comment_text, scalar, yaml_document
from ci_gate.suite.yaml_source import parse_yaml

TRICKY = [
    "",
    " lead",
    "trail ",
    "yes",
    "No",
    "ON",
    "null",
    "~",
    "y",
    "1",
    "1.5",
    "0x1F",
    "1e3",
    "1:20",
    "2001-12-14",
    ".inf",
    "-x",
    "- x",
    "? x",
    "x?",
    ": x",
    "a: b",
    "a:b",
    "ends:",
    "a #b",
    "#c",
    "@x",
    "`x",
    "%x",
    "&a",
    "*a",
    "!t",
    "|",
    ">",
    "'q'",
    '"q"',
    "[a]",
    "{a}",
    "a,b",
    "a\\b",
    "{{ var }}",
    "---",
    "...",
    "tab\there",
    "multi\nline",
    "multi\nline\n",
    "trailing\n\n",
    " lead\nline",
    "\tx\ny",
    "x\n\ty",
    "a\r\nb",
    "cr\r",
    "x\n---\ny",
    "x\n# not a comment",
    "k: v\nz",
    "nel\x85x",
    "ls\u2028x",
    "ps\u2029x",
    "bom\ufeff",
    "ctrl\x01\x1b",
    "del\x7f",
    "c1\x9f",
    "\ufffe\uffff",
    "Dónde está",
    "日本語",
    "emoji 😀",
    "line1\n  indented\nline3",
]


@pytest.mark.parametrize("text", TRICKY)
def test_strings_read_back_exactly_as_values_keys_and_list_items(text: str) -> None:
    data: dict[str, Any] = {"value": text, "items": [text, {"k": text}], "flow": [{"a": text}]}
    if text:
        data["keys"] = {text: 1}
    assert parse_yaml(yaml_document([], data), "x.yaml").data == data


def test_numbers_booleans_and_null_keep_their_type() -> None:
    data = {
        "n": [0, -1, 7, 10**30, 1.5, -0.25, 1e-05, 1e20, 2.0, math.inf, -math.inf],
        "b": [True, False, None],
    }
    assert parse_yaml(yaml_document([], data), "x.yaml").data == data
    assert scalar(1e-05) == "1.0e-05"
    assert scalar(math.nan) == ".nan"


def test_layout_is_block_with_short_flow_items_and_literal_text() -> None:
    text = yaml_document(
        ["made by a test"],
        {
            "targets": [{"id": "a", "provider": "fake"}],
            "prompts": [{"id": "p", "template": "Line one\nLine two {{ q }}\n"}],
            "cases": [Commented(("tests.csv:2: first",), {"id": "c1", "vars": {"q": "x"}})],
            "empty": {"list": [], "map": {}},
        },
    )
    assert text == (
        "# made by a test\n"
        "targets:\n"
        "  - {id: a, provider: fake}\n"
        "prompts:\n"
        "  - id: p\n"
        "    template: |\n"
        "      Line one\n"
        "      Line two {{ q }}\n"
        "cases:\n"
        "  # tests.csv:2: first\n"
        "  - id: c1\n"
        "    vars: {q: x}\n"
        "empty: {list: [], map: {}}\n"
    )


@pytest.mark.parametrize("line", ["a\nb: 1", "x\u2028y", "x\x85y", "x\ry", "x\tz\x00", "x\ufeffy"])
def test_comments_stay_one_line(line: str) -> None:
    text = yaml_document([line], {"a": [Commented((line,), 1)]})
    assert parse_yaml(text, "x.yaml").data == {"a": [1]}
    assert text.splitlines() == [
        f"# {comment_text(line)}",
        "a:",
        f"  # {comment_text(line)}",
        "  - 1",
    ]
    assert comment_text(line).isprintable()
