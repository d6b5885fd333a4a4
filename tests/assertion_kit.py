"""Builders for assertion tests: a spec as the suite loader would make it, and a bare case."""

from __future__ import annotations

from ci_gate.suite.model import JSON, AssertionSpec, Case


def spec(type_: str, value: JSON = None, **options: JSON) -> AssertionSpec:
    return AssertionSpec(type=type_, name=type_, value=value, options=options)


def bare_case(expected: JSON = None) -> Case:
    """A case with no vars, tags or assertions of its own; ``expected`` for equals-like checks."""
    return Case(
        id="c1",
        vars={},
        tags=(),
        expected=expected,
        assertions=(),
        prompt=None,
        group=None,
        source="suite.yaml",
    )
