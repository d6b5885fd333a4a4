"""Assertion types by name, and scoring a record's output against a case's assertions."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

from ci_gate.assertions.base import (
    LAYERS,
    AssertionFn,
    AssertionResult,
    AssertionType,
    AsyncAssertionFn,
    Grader,
    Output,
    ScorerError,
    Scoring,
)
from ci_gate.results.model import AssertionOutcome
from ci_gate.suite.model import AssertionSpec, Case

# Modules whose import registers the built-in assertion types.
_BUILTIN_MODULES = (
    "ci_gate.assertions.text",
    "ci_gate.assertions.structured",
    "ci_gate.assertions.refusal",
    "ci_gate.assertions.tools",
    "ci_gate.assertions.retrieval",
    "ci_gate.assertions.judged",
    "ci_gate.assertions.similarity",
    "ci_gate.assertions.custom",
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


def register_async(
    name: str,
    *,
    layer: str,
    check: Callable[[AssertionSpec], list[str]] | None = None,
    grader: Grader = "none",
    models: Callable[[AssertionSpec, str | None], Sequence[str]] | None = None,
) -> Callable[[AsyncAssertionFn], AsyncAssertionFn]:
    """Register an assertion that calls models or programs (see ``Scoring``)."""
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}")

    def deco(fn: AsyncAssertionFn) -> AsyncAssertionFn:
        _REGISTRY[name] = AssertionType(
            name=name,
            fn=None,
            layer=layer,
            check=check or _no_check,
            afn=fn,
            grader=grader,
            models=models,
        )
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


def needs_scoring(specs: Sequence[AssertionSpec]) -> bool:
    """Whether any of ``specs`` calls a model or a program (and so needs ``score_async``)."""
    return any(get(s.type).afn is not None for s in specs)


def models_of(spec: AssertionSpec, default_judge: str | None) -> tuple[str, ...]:
    """The target ids ``spec`` calls (judges, embedders); empty for most assertions."""
    kind = get(spec.type)
    return tuple(kind.models(spec, default_judge)) if kind.models is not None else ()


def is_judged(spec: AssertionSpec) -> bool:
    """Whether ``spec`` is graded by a judge model, and so subject to calibration."""
    return get(spec.type).grader == "judge"


Scored = tuple[tuple[AssertionOutcome, ...], bool, float]


def _outcome(
    spec: AssertionSpec, kind: AssertionType, result: AssertionResult, advisory: str | None = None
) -> AssertionOutcome:
    return AssertionOutcome(
        name=spec.name,
        type=spec.type,
        passed=result.passed,
        score=result.score,
        weight=spec.weight,
        blocking=spec.blocking and advisory is None,
        layer=spec.layer or kind.layer,
        tag=spec.tag,
        message=result.message,
        advisory=advisory if spec.blocking else None,
    )


def _crashed(exc: Exception) -> AssertionResult:
    return AssertionResult(False, 0.0, f"assertion raised {type(exc).__name__}: {exc}")


def _summary(outcomes: list[AssertionOutcome]) -> Scored:
    """The case passes when all its blocking assertions pass; its score is the weighted mean of
    the assertion scores (1.0 when there are none)."""
    passed = all(o.passed for o in outcomes if o.blocking)
    total_weight = sum(o.weight for o in outcomes)
    value = sum(o.score * o.weight for o in outcomes) / total_weight if total_weight else 1.0
    return tuple(outcomes), passed, value


def score(specs: Sequence[AssertionSpec], output: Output, case: Case) -> Scored:
    """Run every (synchronous) assertion of a case; see ``_summary``."""
    outcomes: list[AssertionOutcome] = []
    for spec in specs:
        kind = get(spec.type)
        assert kind.fn is not None, f"{spec.type} calls models: use score_async"
        try:
            result = kind.fn(spec, output, case)
        except Exception as exc:  # an assertion bug must not lose the run's other results
            result = _crashed(exc)
        outcomes.append(_outcome(spec, kind, result))
    return _summary(outcomes)


async def score_async(
    specs: Sequence[AssertionSpec], output: Output, case: Case, scoring: Scoring
) -> Scored:
    """Like ``score``, for cases with assertions that call models or programs. Raises
    ScorerError when one of those could not be done: the record is then an error."""
    outcomes: list[AssertionOutcome] = []
    for spec in specs:
        kind = get(spec.type)
        advisory = None
        try:
            if kind.afn is not None:
                result = await kind.afn(spec, output, case, scoring)
                advisory = scoring.advisory(spec) if kind.grader == "judge" else None
            else:
                assert kind.fn is not None
                result = kind.fn(spec, output, case)
        except ScorerError:
            raise
        except Exception as exc:  # an assertion bug must not lose the run's other results
            result = _crashed(exc)
        outcomes.append(_outcome(spec, kind, result, advisory))
    return _summary(outcomes)
