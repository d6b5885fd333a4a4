"""promptfoo assertions as ci-gate assertions (see docs/migrating-from-promptfoo.md).

promptfoo renders an assertion's value with the test's vars before checking it; ci-gate does not
render assertion values, so each value is filled in here, per case. Every converted assertion is
checked with ci-gate's own checks (a regex that Python cannot compile, an empty string in a
list...) and listed as not converted when it fails them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ci_gate.assertions import registry
from ci_gate.migrate import promptfoo_nunjucks as nunjucks
from ci_gate.migrate.promptfoo_checks import MAPPERS as CHECKS
from ci_gate.migrate.promptfoo_checks import NO_EQUIVALENT
from ci_gate.migrate.promptfoo_graded import MAPPERS as GRADED
from ci_gate.migrate.promptfoo_scope import Mapper, Out, Scope, Skip
from ci_gate.migrate.promptfoo_source import At, Log, shown, suffix
from ci_gate.suite.build import spec_from_raw

__all__ = ["Out", "Scope", "convert_assertion"]

_COMMON = frozenset({"type", "value", "metric", "weight", "metricOnly", "threshold"})
_MAPPERS: dict[str, Mapper] = {**CHECKS, **GRADED}


def convert_assertion(raw: Any, at: At, scope: Scope) -> list[Out]:
    """The ci-gate assertions for one promptfoo assertion (none when it has no equivalent)."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("type"), str):
        scope.log.skip(at.where(), f"assertion {shown(raw)}", "an assertion needs a type")
        return []
    kind = raw["type"]
    if kind == "assert-set":
        return _assert_set(raw, at, scope)
    try:
        out = _convert(kind, raw, at, scope)
    except Skip as skip:
        scope.log.skip(at.where(), skip.what or f"assertion type {kind!r}", skip.why)
        return []
    _common(out, raw, at, scope.log)
    problems = registry.check_spec(spec_from_raw(out))
    if problems:
        scope.log.skip(
            at.where(),
            f"assertion type {kind!r}",
            f"ci-gate refuses the converted assertion: {problems[0]}",
        )
        return []
    return [out]


def _convert(kind: str, raw: Mapping[str, Any], at: At, scope: Scope) -> Out:
    for key in raw:
        if key in ("transform", "contextTransform", "rubricPrompt"):
            raise Skip(
                f"ci-gate checks the output as the target returns it, with its own "
                f"prompts; {key} has no equivalent",
                f"assertion with {key}",
            )
        if key not in _COMMON and key not in ("provider", "config"):
            scope.log.skip(
                at.at(key).where(),
                f"assertion option {key!r}",
                "ci-gate assertions have no such option",
            )
    mapper = _MAPPERS.get(kind)
    if mapper is None:
        base = kind[4:] if kind.startswith("not-") else kind
        if base in NO_EQUIVALENT:
            raise Skip(NO_EQUIVALENT[base].format(kind=base))
        if base != kind and base in _MAPPERS:
            raise Skip(f"ci-gate has no negated form of {base}")
        raise Skip("ci-gate has no such assertion; write a python scorer")
    value = _value(raw.get("value"), kind, at.at("value"), scope)
    return mapper(raw, value, at, scope)


def _value(value: Any, kind: str, at: At, scope: Scope) -> Any:
    """The value as promptfoo checks it: a ``file://`` value read, templates rendered."""
    if (
        isinstance(value, str)
        and value.startswith("file://")
        and kind not in ("python", "javascript")
    ):
        if suffix(value) in (".py", ".js", ".ts", ".mjs", ".cjs"):
            raise Skip(
                "ci-gate cannot run code to compute an assertion's value; write the "
                "value into suite.yaml",
                f"value computed by {shown(value)}",
            )
        if suffix(value) in (".json", ".yaml", ".yml"):
            return scope.source.load(value, at).data
        text, _ = scope.source.read(value, at)
        value = text.rstrip("\n")
    if kind in ("python", "javascript"):
        return value
    rendered = _rendered(value, at, scope)
    if rendered != value:
        scope.log.note(
            "assertion values that use vars were filled in for each case, as promptfoo renders "
            "them (ci-gate does not fill placeholders in assertion values)",
            at.where(),
        )
    return rendered


def _rendered(value: Any, at: At, scope: Scope) -> Any:
    if isinstance(value, list):
        return [_rendered(v, at, scope) for v in value]
    if not isinstance(value, str):
        return value
    out = nunjucks.render(value, scope.vars)
    if out.unsupported:
        raise Skip(
            "ci-gate does not render assertion values; write the value out, or put it in a var",
            f"Nunjucks {shown(out.unsupported[0])} in the value",
        )
    return out.text


def _common(out: Out, raw: Mapping[str, Any], at: At, log: Log) -> None:
    metric = raw.get("metric")
    if isinstance(metric, str) and metric:
        out["name"] = metric
    weight = raw.get("weight")
    if isinstance(weight, (int, float)) and not isinstance(weight, bool) and weight != 1:
        if weight > 0:
            out["weight"] = weight
        else:
            log.note(
                f"weight {weight} became 1 (ci-gate weights are above 0; "
                "use blocking: false for an assertion that must not fail its case)",
                at.where(),
            )
    if raw.get("metricOnly") is True:
        out["blocking"] = False


def _assert_set(raw: Mapping[str, Any], at: At, scope: Scope) -> list[Out]:
    if raw.get("threshold") is not None:
        scope.log.skip(
            at.where(),
            "assert-set with a threshold",
            "ci-gate passes a case when each blocking assertion passes; there is no "
            "score threshold over a group",
        )
        return []
    items = raw.get("assert")
    if not isinstance(items, list):
        items = []
    out: list[Out] = []
    for index, item in enumerate(items):
        if isinstance(item, Mapping) and raw.get("metric") and "metric" not in item:
            item = {**item, "metric": raw["metric"]}
        out += convert_assertion(item, at.at("assert", index), scope)
    return out
