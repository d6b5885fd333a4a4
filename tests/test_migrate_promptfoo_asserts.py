"""promptfoo assertions as ci-gate assertions: what each becomes, and that the converted ones pass
and fail where promptfoo's do (scored by ci-gate's own assertion code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ci_gate.assertions import registry
from ci_gate.assertions.base import Output
from ci_gate.migrate.promptfoo_tests import assertion_from_string
from tests.test_migrate_promptfoo import Converted, convert

HEAD = "prompts: ['{{q}}']\nproviders: [echo]\n"


def one(tmp_path: Path, assertion: str, extra: str = "") -> Converted:
    """A config with one test holding ``assertion`` (YAML flow mapping)."""
    return convert(
        tmp_path, f"{HEAD}{extra}tests:\n  - vars: {{q: hi}}\n    assert: [{assertion}]\n"
    )


def converted_asserts(converted: Converted) -> list[dict[str, Any]]:
    case = converted.data["cases"][0]
    return [*converted.data.get("defaults", {}).get("assert", []), *case.get("assert", [])]


def verdicts(converted: Converted, output: str) -> list[bool]:
    case = converted.suite.cases[0]
    outcomes, _, _ = registry.score(case.assertions, Output(output), case)
    return [o.passed for o in outcomes]


# (promptfoo assertion, what ci-gate gets)
MAPPED = [
    (
        "{type: contains, value: Paris}",
        {"type": "contains", "value": "Paris", "case_sensitive": True},
    ),
    ("{type: icontains, value: Paris}", {"type": "contains", "value": "Paris"}),
    (
        "{type: contains-any, value: [a, b]}",
        {"type": "contains", "value": ["a", "b"], "mode": "any", "case_sensitive": True},
    ),
    ("{type: icontains-all, value: 'a, b'}", {"type": "contains", "value": ["a", "b"]}),
    ("{type: icontains-any, value: [a]}", {"type": "contains", "value": ["a"], "mode": "any"}),
    (
        "{type: not-contains, value: x}",
        {"type": "not-contains", "value": "x", "case_sensitive": True},
    ),
    ("{type: not-icontains-any, value: [x, y]}", {"type": "not-contains", "value": ["x", "y"]}),
    ("{type: equals, value: 42}", {"type": "equals", "value": "42", "trim": False}),
    ("{type: equals, value: {a: 1}}", {"type": "json-schema", "value": {"const": {"a": 1}}}),
    ("{type: not-equals, value: a.b}", {"type": "regex", "value": r"\A(?!a\.b\Z)"}),
    (
        "{type: regex, value: '(?<y>\\d{4})\\k<y>'}",
        {"type": "regex", "value": r"(?P<y>\d{4})(?P=y)"},
    ),
    ("{type: not-regex, value: '\\d'}", {"type": "regex", "value": r"\A(?![\s\S]*?(?:\d))"}),
    ("{type: starts-with, value: Dear}", {"type": "starts-with", "value": "Dear"}),
    ("{type: not-starts-with, value: Sorry}", {"type": "regex", "value": r"\A(?!Sorry)"}),
    ("{type: is-json}", {"type": "is-json"}),
    (
        "{type: is-json, value: {type: object, required: [a]}}",
        {"type": "json-schema", "value": {"type": "object", "required": ["a"]}},
    ),
    ("{type: contains-json}", {"type": "is-json"}),
    ("{type: is-refusal}", {"type": "refusal", "value": True}),
    ("{type: not-is-refusal}", {"type": "refusal", "value": False}),
    (
        "{type: word-count, value: {min: 2, max: 9}}",
        {"type": "length", "unit": "words", "min": 2, "max": 9},
    ),
    (
        "{type: tool-call-f1, value: [lookup, refund]}",
        {"type": "tool-called", "value": ["lookup", "refund"]},
    ),
    (
        "{type: icontains, value: ok, metric: polite, weight: 2, metricOnly: true}",
        {"type": "contains", "value": "ok", "name": "polite", "weight": 2, "blocking": False},
    ),
    (
        "{type: contains, value: '{{q}}!'}",
        {"type": "contains", "value": "hi!", "case_sensitive": True},
    ),
]


@pytest.mark.parametrize(("source", "expected"), MAPPED)
def test_each_assertion_maps_to_its_ci_gate_form(
    tmp_path: Path, source: str, expected: dict[str, Any]
) -> None:
    converted = one(tmp_path, source)
    assert converted_asserts(converted) == [expected]
    assert converted.whats == []


# (promptfoo assertion, output, whether promptfoo passes it)
BEHAVIOUR = [
    ("{type: contains, value: Paris}", "paris is nice", False),
    ("{type: icontains, value: PARIS}", "paris is nice", True),
    ("{type: contains-any, value: [a, b]}", "only b", True),
    ("{type: contains-all, value: [x, y]}", "has x", False),
    ("{type: not-contains, value: x}", "X marks", True),
    ("{type: not-icontains, value: x}", "X marks", False),
    ("{type: equals, value: '42'}", " 42", False),
    ("{type: equals, value: 42}", "42", True),
    ("{type: equals, value: {a: 1}}", '{"a": 1}', True),
    ("{type: equals, value: {a: 1}}", '{"a": 2}', False),
    ("{type: not-equals, value: 'no'}", "no", False),
    ("{type: not-equals, value: 'no'}", "no way", True),
    ("{type: not-regex, value: '\\d'}", "abc", True),
    ("{type: not-regex, value: '\\d'}", "a\n1", False),
    ("{type: not-starts-with, value: Sorry}", "Sorry, no", False),
    ("{type: not-starts-with, value: Sorry}", "OK. Sorry", True),
    ("{type: regex, value: '(?<y>\\d{4})'}", "in 1999", True),
    ("{type: not-contains-any, value: [x, y]}", "has y", False),
]


@pytest.mark.parametrize(("source", "output", "passes"), BEHAVIOUR)
def test_converted_assertions_pass_and_fail_where_promptfoo_does(
    tmp_path: Path, source: str, output: str, passes: bool
) -> None:
    assert verdicts(one(tmp_path, source), output) == [passes]


# (promptfoo assertion, the `what` listed as not converted)
LEFT_OUT = [
    ("{type: javascript, value: output.length < 9}", "assertion type 'javascript'"),
    ("{type: latency, threshold: 500}", "assertion type 'latency'"),
    ("{type: cost, threshold: 0.01}", "assertion type 'cost'"),
    ("{type: levenshtein, value: hi, threshold: 2}", "assertion type 'levenshtein'"),
    ("{type: rouge-n, value: hi}", "assertion type 'rouge-n'"),
    ("{type: context-faithfulness}", "assertion type 'context-faithfulness'"),
    ("{type: not-contains-all, value: [a, b]}", "assertion type 'not-contains-all'"),
    ("{type: not-similar, value: hi}", "assertion type 'not-similar'"),
    ("{type: regex, value: '[[:alpha:]]'}", "assertion type 'regex'"),
    ("{type: contains-any, value: [a, '']}", "assertion type 'contains-any'"),
    ("{type: python, value: 'output == \"hi\"'}", "inline python assertion"),
    ("{type: is-valid-openai-tools-call}", "assertion type 'is-valid-openai-tools-call'"),
    ("{type: similar, value: [a, b]}", "assertion type 'similar'"),
    ("{type: contains, value: '{{ q | upper }}'}", "Nunjucks '{{ q | upper }}' in the value"),
    ("{type: contains, value: x, transform: output.trim()}", "assertion with transform"),
    (
        "{type: assert-set, threshold: 0.5, assert: [{type: contains, value: a}]}",
        "assert-set with a threshold",
    ),
    ("{type: made-up}", "assertion type 'made-up'"),
    ("{value: no type}", """assertion '{"value": "no type"}'"""),
]


@pytest.mark.parametrize(("source", "what"), LEFT_OUT)
def test_assertions_without_an_equivalent_are_listed_and_left_out(
    tmp_path: Path, source: str, what: str
) -> None:
    converted = one(tmp_path, source)
    assert converted.whats == [what]
    assert converted_asserts(converted) == []
    why = converted.conversion.unconverted[0].why
    assert why and "\n" not in why


def test_rubric_thresholds_rescale_and_judges_become_targets(tmp_path: Path) -> None:
    converted = convert(
        tmp_path,
        HEAD
        + """tests:
  - vars: {q: hi}
    assert:
      - {type: llm-rubric, value: Is polite, threshold: 0.8}
      - type: llm-rubric
        value: Is short
        threshold: 0.5
        provider: anthropic:messages:claude-3-5-haiku-latest
      - {type: llm-rubric, value: Is kind}
      - {type: model-graded-closedqa, value: greets the user}
      - {type: factuality, value: Paris is in France}
""",
    )
    rubrics = converted_asserts(converted)
    assert rubrics[0] == {"type": "llm-rubric", "value": "Is polite", "threshold": 5}
    assert rubrics[1] == {
        "type": "llm-rubric",
        "value": "Is short",
        "threshold": 3,
        "judge": "grader-claude-3-5-haiku-latest",
    }
    assert rubrics[2] == {"type": "llm-rubric", "value": "Is kind"}
    assert rubrics[3] == {
        "type": "llm-rubric",
        "value": "The output meets this criterion: greets the user",
        "scale": 2,
        "threshold": 2,
    }
    assert rubrics[4]["value"].endswith("must not contradict it: Paris is in France")
    targets = {t.id: (t.provider, t.model) for t in converted.suite.targets}
    assert targets["grader"] == ("openai", "gpt-4.1")
    assert targets["grader-claude-3-5-haiku-latest"] == ("anthropic", "claude-3-5-haiku-latest")
    assert converted.suite.judge.target == "grader"
    notes = " ".join(converted.conversion.notes)
    assert "default grader" in notes and "yes/no" in notes


def test_similar_uses_an_embedder_target(tmp_path: Path) -> None:
    converted = one(tmp_path, "{type: similar, value: hello there}")
    assert converted_asserts(converted) == [
        {
            "type": "similar",
            "value": "hello there",
            "threshold": 0.75,
            "method": "embedding",
            "embedder": "embedder",
        }
    ]
    embedder = converted.suite.target("embedder")
    assert (embedder.provider, embedder.model) == ("openai", "text-embedding-3-large")


def test_python_files_become_python_scorers(tmp_path: Path) -> None:
    converted = convert(
        tmp_path,
        HEAD
        + """tests:
  - vars: {q: hi}
    assert:
      - {type: python, value: file://checks.py, threshold: 0.6}
      - {type: python, value: 'file://lib/grade.py:polite', config: {words: [please]}}
""",
        {"checks.py": "def get_assert(output, context):\n    return True\n", "lib/grade.py": ""},
    )
    assert converted_asserts(converted) == [
        {"type": "python", "value": "checks:get_assert", "threshold": 0.6},
        {"type": "python", "value": "grade:polite", "path": "lib", "config": {"words": ["please"]}},
    ]


def test_tools_valid_checks_the_one_tool_the_target_declares(tmp_path: Path) -> None:
    schema = "{type: object, required: [city]}"
    converted = one(
        tmp_path,
        "{type: is-valid-openai-tools-call}",
        extra="",
    ).conversion
    assert converted.unconverted  # no tools declared
    converted_with = convert(
        tmp_path / "b",
        f"""prompts: ['{{{{q}}}}']
providers:
  - id: openai:gpt-4o-mini
    config:
      tools: [{{type: function, function: {{name: weather, parameters: {schema}}}}}]
tests:
  - vars: {{q: hi}}
    assert: [{{type: is-valid-openai-tools-call}}]
""",
    )
    assert converted_asserts(converted_with) == [
        {"type": "tool-args", "tool": "weather", "schema": {"type": "object", "required": ["city"]}}
    ]


def test_metrics_name_assertions_uniquely_and_assert_sets_flatten(tmp_path: Path) -> None:
    converted = convert(
        tmp_path,
        HEAD
        + """tests:
  - vars: {q: hi}
    assert:
      - {type: icontains, value: a, metric: tone}
      - type: assert-set
        metric: tone
        assert: [{type: icontains, value: b}, {type: icontains, value: c, weight: 0}]
""",
    )
    assert [a.get("name") for a in converted_asserts(converted)] == ["tone", "tone-2", "tone-3"]
    assert [a.get("weight") for a in converted_asserts(converted)] == [None, None, None]
    notes = " ".join(converted.conversion.notes)
    assert "weight 0 became 1" in notes and "tone-2" in notes


def test_values_from_files_are_read(tmp_path: Path) -> None:
    converted = convert(
        tmp_path,
        HEAD
        + """tests:
  - vars: {q: hi}
    assert:
      - {type: llm-rubric, value: file://rubric.txt}
      - {type: is-json, value: file://schema.json}
      - {type: contains, value: file://make.js}
""",
        {"rubric.txt": "Is {{q}} polite?\n", "schema.json": '{"type": "object"}'},
    )
    assert converted_asserts(converted) == [
        {"type": "llm-rubric", "value": "Is hi polite?"},
        {"type": "json-schema", "value": {"type": "object"}},
    ]
    assert converted.whats == ["value computed by 'file://make.js'"]


@pytest.mark.parametrize(
    ("cell", "assertion"),
    [
        ("icontains:bonjour", {"type": "icontains", "value": "bonjour"}),
        ("contains-any:a, b", {"type": "contains-any", "value": ["a", "b"]}),
        ("not-regex:^x", {"type": "not-regex", "value": "^x"}),
        ("similar(0.9):hello", {"type": "similar", "value": "hello", "threshold": 0.9}),
        ("similar:hello", {"type": "similar", "value": "hello", "threshold": 0.8}),
        ("grade:Is polite", {"type": "llm-rubric", "value": "Is polite"}),
        ("llm-rubric:Is kind", {"type": "llm-rubric", "value": "Is kind"}),
        ("javascript: output.length > 2", {"type": "javascript", "value": "output.length > 2"}),
        ("file://check.js", {"type": "javascript", "value": "check.js"}),
        ("python: output == 'x'", {"type": "python", "value": "output == 'x'"}),
        ("file://check.py:ok", {"type": "python", "value": "file://check.py:ok"}),
        ("is-json", {"type": "is-json"}),
        ("Paris", {"type": "equals", "value": "Paris"}),
        ("contains : x", {"type": "equals", "value": "contains : x"}),
    ],
)
def test_expected_cells_read_like_promptfoo_reads_them(
    cell: str, assertion: dict[str, Any]
) -> None:
    assert assertion_from_string(cell) == assertion
