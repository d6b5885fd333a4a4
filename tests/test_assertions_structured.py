from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_gate.assertions import registry
from ci_gate.assertions.base import AssertionResult, Output
from ci_gate.assertions.spec_rules import NO_VALUE_MESSAGE
from ci_gate.assertions.structured import extract_number, json_path, parse_json, parse_number
from ci_gate.suite.model import JSON, AssertionSpec
from tests.assertion_kit import bare_case, spec

DATA = Path(__file__).parents[1].parent / "shared" / "data"

ITEMS_SCHEMA: dict[str, JSON] = {
    "type": "object",
    "required": ["items"],
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "price"],
                "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
            },
        }
    },
}


def run(s: AssertionSpec, text: str, expected: JSON = None) -> AssertionResult:
    case = bare_case(expected)
    return registry.get(s.type).fn(s, Output(text), case)


# --- is-json -------------------------------------------------------------------------------------


def test_is_json_plain_values() -> None:
    r = run(spec("is-json"), '{"a": [1, 2]}')
    assert r.passed and r.score == 1.0
    assert r.message == "valid JSON object"
    assert run(spec("is-json"), " [1, 2] \n").message == "valid JSON array"
    assert run(spec("is-json"), "42").message == "valid JSON number"


def test_is_json_strips_a_surrounding_fence_and_says_so() -> None:
    for text in ('```json\n{"a": 1}\n```', '\n```JSON\n{"a": 1}\n```\n', '```\n{"a": 1}\n```'):
        r = run(spec("is-json"), text)
        assert r.passed, text
        assert "fence" in r.message


def test_is_json_does_not_strip_text_around_a_fence() -> None:
    r = run(spec("is-json"), 'Here you go:\n```json\n{"a": 1}\n```')
    assert not r.passed
    assert r.message.startswith("not JSON: Expecting value at line 1 column 1")


def test_is_json_failures_are_explained_on_one_line() -> None:
    r = run(spec("is-json"), '{"a": 1,\n "b": }')
    assert not r.passed and r.score == 0.0
    assert "line 2 column" in r.message
    assert "\n" not in r.message
    assert run(spec("is-json"), "").message.startswith("empty output is not JSON")
    fenced_broken = run(spec("is-json"), "```json\n{oops}\n```")
    assert "inside the ```json fence" in fenced_broken.message


def test_is_json_rejects_nan_huge_and_deep() -> None:
    assert "NaN is not valid JSON" in run(spec("is-json"), '{"a": NaN}').message
    huge = run(spec("is-json"), "1" * 5000)
    assert not huge.passed and "set_int_max_str_digits" not in huge.message
    deep = run(spec("is-json"), "[" * 100_000)
    assert not deep.passed


def test_is_json_check() -> None:
    assert registry.check_spec(spec("is-json")) == []
    assert registry.check_spec(spec("is-json", True)) == ["is-json takes no value; remove `value`"]
    assert "is-json takes no extra keys" in registry.check_spec(spec("is-json", strict=True))[0]


def test_parse_json_reports_fence() -> None:
    assert parse_json('```json\n["x"]\n```') == (["x"], True)
    assert parse_json('["x"]') == (["x"], False)


# --- json-schema ---------------------------------------------------------------------------------


def test_json_schema_passes_fenced_valid_output() -> None:
    r = run(
        spec("json-schema", ITEMS_SCHEMA), '```json\n{"items": [{"name": "a", "price": 1}]}\n```'
    )
    assert r.passed
    assert "fence" in r.message


def test_json_schema_names_the_first_failing_path() -> None:
    output = json.dumps(
        {
            "items": [
                {"name": "a", "price": 1},
                {"name": "b", "price": 2},
                {"name": "c", "price": "abc"},
                {"name": "d", "price": "xyz"},
            ]
        }
    )
    r = run(spec("json-schema", ITEMS_SCHEMA), output)
    assert not r.passed and r.score == 0.0
    assert r.message == "$.items[2].price: 'abc' is not of type 'number' (and 1 more)"


def test_json_schema_prefers_document_order_among_siblings() -> None:
    schema = {"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "string"}}}
    assert run(spec("json-schema", schema), '{"b": 1, "a": 2}').message.startswith("$.b:")
    assert run(spec("json-schema", schema), '{"a": 1, "b": 2}').message.startswith("$.a:")


def test_json_schema_root_and_odd_keys() -> None:
    assert run(spec("json-schema", ITEMS_SCHEMA), "[]").message == "$: [] is not of type 'object'"
    schema = {"type": "object", "properties": {"a b\n": {"type": "integer"}}}
    r = run(spec("json-schema", schema), '{"a b\\n": "x"}')
    assert r.message.startswith('$["a b\\n"]: ')
    assert "\n" not in r.message


def test_json_schema_output_not_json() -> None:
    r = run(spec("json-schema", ITEMS_SCHEMA), "Sure! The items are a and b.")
    assert not r.passed
    assert r.message.startswith("not JSON:")


def test_json_schema_asserts_formats() -> None:
    schema = {"type": "object", "properties": {"when": {"type": "string", "format": "date"}}}
    assert run(spec("json-schema", schema), '{"when": "2024-02-29"}').passed
    r = run(spec("json-schema", schema), '{"when": "2024-13-45"}')
    assert r.message == "$.when: '2024-13-45' is not a 'date'"


def test_json_schema_uses_the_draft_named_by_schema() -> None:
    # Draft 4 reads exclusiveMaximum as a boolean; 2020-12 as a number.
    draft4 = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "number",
        "maximum": 5,
        "exclusiveMaximum": True,
    }
    assert registry.check_spec(spec("json-schema", draft4)) == []
    assert not run(spec("json-schema", draft4), "5").passed
    assert run(spec("json-schema", draft4), "4").passed
    problems = registry.check_spec(spec("json-schema", {**draft4, "$schema": None}))
    assert problems == ["schema $schema must be a string (a draft URI)"]
    # Under 2020-12 a boolean exclusiveMaximum is an invalid schema.
    problems = registry.check_spec(
        spec("json-schema", {k: v for k, v in draft4.items() if k != "$schema"})
    )
    assert len(problems) == 1
    assert problems[0].startswith("invalid JSON Schema at $.exclusiveMaximum: True is not of type")


def test_json_schema_check_problems() -> None:
    assert registry.check_spec(spec("json-schema")) == ["json-schema needs a value (a mapping)"]
    assert registry.check_spec(spec("json-schema", "object"))[0].startswith(
        "value must be a mapping"
    )
    bad = registry.check_spec(spec("json-schema", {"properties": {"a": {"type": "numbr"}}}))
    assert bad == [
        "invalid JSON Schema at $.properties.a.type: 'numbr' is not valid under any of the given"
        " schemas"
    ]
    unknown = registry.check_spec(spec("json-schema", {"$schema": "http://example.com/mine"}))
    assert "is not a JSON Schema draft" in unknown[0]


def test_json_schema_refs() -> None:
    good = {"$defs": {"p": {"type": "number"}}, "properties": {"a": {"$ref": "#/$defs/p"}}}
    assert registry.check_spec(spec("json-schema", good)) == []
    assert not run(spec("json-schema", good), '{"a": "x"}').passed
    missing = {"properties": {"a": {"$ref": "#/$defs/p"}}}
    assert registry.check_spec(spec("json-schema", missing)) == [
        "schema $ref '#/$defs/p' points to nothing in the schema"
    ]
    remote = {"$ref": "https://example.com/s.json"}
    assert "never fetches" in registry.check_spec(spec("json-schema", remote))[0]
    # Not seen at load time -> a failed assertion at score time, never an exception.
    r = run(spec("json-schema", remote), "{}")
    assert not r.passed and "cannot be resolved" in r.message
    # A "$ref" inside enum data is data, not a reference.
    data = {"enum": [{"$ref": "https://example.com/x"}]}
    assert registry.check_spec(spec("json-schema", data)) == []


def test_json_schema_against_schemastore_schema() -> None:
    schema = json.loads((DATA / "schemas" / "github-action.json").read_text("utf-8"))
    assert registry.check_spec(spec("json-schema", schema)) == []
    action = {"name": "x", "description": "y", "runs": {"using": "node20", "main": "index.js"}}
    assert run(spec("json-schema", schema), json.dumps(action)).passed
    assert not run(spec("json-schema", schema), json.dumps({"name": "x"})).passed


def test_json_path_formatting() -> None:
    assert json_path([]) == "$"
    assert json_path(["items", 2, "price"]) == "$.items[2].price"
    assert json_path(["a-b", "ok"]) == '$["a-b"].ok'


# --- number --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("42", 42.0),
        ("-3e2", -300.0),
        ("$1,234.50", 1234.5),
        ("-$3.20", -3.2),
        ("The total is $1,234.50 today.", 1234.5),
        ("about 1,000,000 people", 1_000_000.0),
        ("It is \u221212.5 degrees", -12.5),
        ("gpt-4o has 128k context", 4.0),
        ("45%", 45.0),
        (".5", 0.5),
        ("1,2345", 1.0),
        ("no digits", None),
        ("", None),
        ("1e999", None),
        ("nan", None),
    ],
)
def test_extract_number(text: str, want: float | None) -> None:
    assert extract_number(text) == want


def test_parse_number_is_whole_text_only() -> None:
    assert parse_number(" 1,234 ") == 1234.0
    assert parse_number("about 3") is None


def test_number_exact_and_tolerances() -> None:
    assert run(spec("number", 1234.5), "That costs $1,234.50.").passed
    r = run(spec("number", 100), "It is 101.")
    assert not r.passed and r.score == 0.0
    assert r.message == "expected 100, found 101 in 'It is 101.'"
    assert run(spec("number", 100, tolerance=1), "101").passed
    assert not run(spec("number", 100, tolerance=0.5), "101").passed
    assert run(spec("number", 200, relative_tolerance=0.05), "210").passed
    assert not run(spec("number", 200, relative_tolerance=0.05), "210.5").passed
    assert run(spec("number", 0.3, tolerance=0.1), "0.4").passed  # 0.4 - 0.3 > 0.1 in floats
    ok = run(spec("number", 100, tolerance=2), "99")
    assert ok.message == "expected 100 ± 2, found 99"


def test_number_defaults_to_expected_including_text_from_csv() -> None:
    assert run(spec("number"), "-300", expected=-300).passed
    assert run(spec("number"), "Total: 1234.5", expected="$1,234.50").passed
    bad = run(spec("number"), "5", expected="five")
    assert not bad.passed and "is not a number" in bad.message
    assert run(spec("number"), "5").message == NO_VALUE_MESSAGE
    assert not run(spec("number"), "1", expected=True).passed


def test_number_no_number_in_output() -> None:
    r = run(spec("number", 3), "")
    assert not r.passed
    assert r.message == "expected 3, found no number in ''"


def test_number_check() -> None:
    assert registry.check_spec(spec("number", 3, tolerance=0.5)) == []
    assert registry.check_spec(spec("number", True))[0].startswith("value must be a number")
    assert "tolerance must be >= 0" in registry.check_spec(spec("number", 3, tolerance=-1))[0]
    assert "did you mean 'tolerance'" in registry.check_spec(spec("number", 3, tolerence=1))[0]
    assert "must be a number" in registry.check_spec(spec("number", 3, relative_tolerance="5%"))[0]
