"""Assertion types by name, and scoring a record's output against a case's assertions."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

from ci_gate.assertions.base import LAYERS, AssertionFn, AssertionResult, AssertionType, Output
from ci_gate.results.model import AssertionOutcome
from ci_gate.suite.model import AssertionSpec, Case

# Modules whose import registers the built-in assertion types.
_BUILTIN_MODULES = (
    "ci_gate.assertions.text",
    "ci_gate.assertions.structured",
    "ci_gate.assertions.refusal",
    "ci_gate.assertions.tools",
    "ci_gate.assertions.retrieval",
)

_REGISTRY: dict[str, AssertionType] = {}
_loaded = False


def _no_check(spec: AssertionSpec) -> list[str]:
    return []


def register(
    name: str, *, layer: str, check: Callable[[AssertionSpec], list[str]] | None = None
) -> Callable[[AssertionFn], AssertionFn]:
    """Register ``fn`` as the assertion type ``name`` with its default layer."""
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}")

    def deco(fn: AssertionFn) -> AssertionFn:
        _REGISTRY[name] = AssertionType(name=name, fn=fn, layer=layer, check=check or _no_check)
        return fn

    return deco


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in _BUILTIN_MODULES:
            importlib.import_module(module)


def names() -> list[str]:
    _ensure_loaded()
    return sorted(_REGISTRY)


def get(name: str) -> AssertionType:
    _ensure_loaded()
    return _REGISTRY[name]


def check_spec(spec: AssertionSpec) -> list[str]:
    """Problems with an assertion's configuration, found before any call is made."""
    _ensure_loaded()
    kind = _REGISTRY.get(spec.type)
    if kind is None:
        return [f"unknown assertion type {spec.type!r}"]
    return kind.check(spec)


def layer_of(spec: AssertionSpec) -> str:
    return spec.layer or get(spec.type).layer


def score(
    specs: Sequence[AssertionSpec], output: Output, case: Case
) -> tuple[tuple[AssertionOutcome, ...], bool, float]:
    """Run every assertion; the case passes when all its blocking assertions pass.

    The score is the weighted mean of the assertion scores (1.0 when there are none).
    """
    outcomes: list[AssertionOutcome] = []
    for spec in specs:
        kind = get(spec.type)
        try:
            result = kind.fn(spec, output, case)
        except Exception as exc:  # an assertion bug must not lose the run's other results
            result = AssertionResult(False, 0.0, f"assertion raised {type(exc).__name__}: {exc}")
        outcomes.append(
            AssertionOutcome(
                name=spec.name,
                type=spec.type,
                passed=result.passed,
                score=result.score,
                weight=spec.weight,
                blocking=spec.blocking,
                layer=spec.layer or kind.layer,
                tag=spec.tag,
                message=result.message,
            )
        )
    passed = all(o.passed for o in outcomes if o.blocking)
    total_weight = sum(o.weight for o in outcomes)
    value = sum(o.score * o.weight for o in outcomes) / total_weight if total_weight else 1.0
    return tuple(outcomes), passed, value
