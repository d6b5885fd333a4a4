from __future__ import annotations

import pytest

from ci_gate.assertions import registry
from ci_gate.assertions.base import AssertionResult, Output
from ci_gate.suite.model import JSON, AssertionSpec, Case

BUILTINS = [
    "command",
    "contains",
    "context-faithfulness",
    "context-precision",
    "context-recall",
    "equals",
    "is-json",
    "json-schema",
    "length",
    "llm-rubric",
    "not-contains",
    "number",
    "python",
    "refusal",
    "regex",
    "similar",
    "starts-with",
    "tool-args",
    "tool-called",
    "tool-not-called",
    "tool-order",
]


def spec(
    type_: str,
    value: JSON = None,
    *,
    name: str | None = None,
    weight: float = 1.0,
    blocking: bool = True,
    layer: str | None = None,
    tag: str | None = None,
    **options: JSON,
) -> AssertionSpec:
    return AssertionSpec(
        type=type_,
        name=name or type_,
        value=value,
        options=options,
        weight=weight,
        blocking=blocking,
        layer=layer,
        tag=tag,
    )


def case(*specs: AssertionSpec, expected: JSON = None) -> Case:
    return Case(
        id="c1",
        vars={},
        tags=(),
        expected=expected,
        assertions=specs,
        prompt=None,
        group=None,
        source="suite.yaml",
    )


def test_names_lists_all_builtin_types() -> None:
    assert registry.names() == BUILTINS
    for name in BUILTINS:
        assert registry.get(name).name == name


def test_no_assertions_scores_one_and_passes() -> None:
    outcomes, passed, score = registry.score((), Output("x"), case())
    assert outcomes == () and passed and score == 1.0


def test_blocking_failure_fails_the_case() -> None:
    specs = (spec("contains", "refund"), spec("length", max=5))
    outcomes, passed, score = registry.score(specs, Output("a refund, eventually"), case(*specs))
    assert not passed
    assert [o.passed for o in outcomes] == [True, False]
    assert score == pytest.approx((1.0 + 5 / 20) / 2)


def test_non_blocking_failure_does_not_fail_the_case_but_lowers_the_score() -> None:
    specs = (spec("contains", "refund"), spec("length", max=5, blocking=False))
    outcomes, passed, score = registry.score(specs, Output("a refund, eventually"), case(*specs))
    assert passed
    assert not outcomes[1].passed and not outcomes[1].blocking
    assert score < 1.0


def test_weights_make_a_weighted_mean() -> None:
    specs = (spec("equals", "yes", weight=3.0), spec("equals", "no", name="other", weight=1.0))
    _, passed, score = registry.score(specs, Output("yes"), case(*specs))
    assert not passed
    assert score == pytest.approx(0.75)


def test_outcomes_carry_layers_tags_and_messages() -> None:
    specs = (
        spec("is-json"),
        spec("contains", "x", layer="instructions", tag="style"),
        spec("refusal", False),
    )
    outcomes, _, _ = registry.score(specs, Output('{"x": 1}'), case(*specs))
    assert [o.layer for o in outcomes] == ["format", "instructions", "safety"]
    assert outcomes[1].tag == "style"
    assert outcomes[0].message == "valid JSON object"
    assert registry.layer_of(specs[0]) == "format"
    assert registry.layer_of(specs[1]) == "instructions"


def test_an_assertion_that_raises_does_not_lose_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(spec: AssertionSpec, output: Output, case: Case) -> AssertionResult:
        raise RuntimeError("kaboom")

    registry.names()  # load the built-ins before swapping in a throwaway copy of the registry
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry.register("test-explodes", layer="format")(explode)
    specs = (spec("contains", "a"), spec("test-explodes"), spec("equals", "a"))
    outcomes, passed, score = registry.score(specs, Output("a"), case(*specs))
    assert [o.passed for o in outcomes] == [True, False, True]
    assert outcomes[1].message == "assertion raised RuntimeError: kaboom"
    assert not passed
    assert score == pytest.approx(2 / 3)


def test_value_defaults_to_case_expected_through_score() -> None:
    specs = (spec("contains"), spec("number", name="n"))
    outcomes, passed, _ = registry.score(specs, Output("30 days"), case(*specs, expected="30 days"))
    assert outcomes[0].passed
    assert not outcomes[1].passed
    assert outcomes[1].message == "the expected value '30 days' is not a number"
    assert not passed


def test_check_spec_unknown_type_and_builtin_checks() -> None:
    assert registry.check_spec(spec("containz")) == ["unknown assertion type 'containz'"]
    assert registry.check_spec(spec("regex", "(")) != []
    assert registry.check_spec(spec("contains", "ok")) == []


@pytest.mark.parametrize("name", [n for n in BUILTINS if registry.get(n).fn is not None])
def test_every_builtin_survives_hostile_output(name: str) -> None:
    values: dict[str, JSON] = {
        "contains": "x",
        "equals": "x",
        "json-schema": {"type": "object"},
        "not-contains": "x",
        "number": 1,
        "regex": "x",
        "starts-with": "x",
        "tool-called": "x",
        "tool-not-called": "x",
        "tool-order": ["x"],
        "context-recall": ["x"],
        "context-precision": ["x"],
    }
    options: dict[str, JSON] = {
        "length": {"max": 3},
        "tool-args": {"tool": "x", "schema": {}},
        "context-precision": {"min": 0.5},
    }
    s = spec(name, values.get(name), **options.get(name, {}))
    assert registry.check_spec(s) == []
    for text in ("", "\x00\x1b[2J\r\n\u202e", "\ud800", "🙂" * 10_000, "```json\n\n```"):
        result = registry.get(name).fn(s, Output(text), case(s))
        assert 0.0 <= result.score <= 1.0
        assert "\n" not in result.message and "\r" not in result.message
        assert "\x1b" not in result.message
        assert len(result.message) <= 400
