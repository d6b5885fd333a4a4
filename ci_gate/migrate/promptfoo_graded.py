"""promptfoo's model-graded and scripted assertions: llm-rubric and its relatives become
ci-gate's llm-rubric with a judge target, similar an embedding similarity, a python file a python
scorer."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ci_gate.migrate.promptfoo_scope import Mapper, Out, Scope, Skip
from ci_gate.migrate.promptfoo_source import At, shown

SCALE = 5
_PY_REF = re.compile(r"^(?:file://)?(?P<path>[^:]+\.py)(?::(?P<fn>[A-Za-z_]\w*))?$")


def _judge(out: Out, raw: Mapping[str, Any], at: At, scope: Scope) -> Out:
    provider = raw.get("provider")
    judge = scope.graders.judge((provider, at.at("provider")) if provider is not None else None)
    if judge is not None:
        out["judge"] = judge
    return out


def _rubric(raw: Mapping[str, Any], value: Any, at: At, scope: Scope) -> Out:
    if not isinstance(value, str) or not value.strip():
        raise Skip("ci-gate rubrics are text; write the rubric as a string")
    kind = raw["type"]
    if kind == "model-graded-closedqa":
        scope.log.note(
            "model-graded-closedqa became an llm-rubric judged yes/no (scale 2, pass at 2)",
            at.where(),
        )
        out: Out = {
            "type": "llm-rubric",
            "value": f"The output meets this criterion: {value}",
            "scale": 2,
            "threshold": 2,
        }
        return _judge(out, raw, at, scope)
    if kind in ("factuality", "model-graded-factuality"):
        scope.log.note(
            f"{kind} became an llm-rubric that checks the output against the reference answer",
            at.where(),
        )
        value = (
            "The output is factually consistent with this reference answer; it may add "
            f"or leave out detail but must not contradict it: {value}"
        )
    elif kind == "g-eval":
        scope.log.note("g-eval became an llm-rubric with its criteria", at.where())
    out = {"type": "llm-rubric", "value": value}
    threshold = raw.get("threshold")
    if isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and threshold > 0:
        # promptfoo's score is 0 to 1; ci-gate's judge scores 1 to SCALE, rescaled the same way.
        lowest = min(SCALE, max(1, math.ceil(1 + float(threshold) * (SCALE - 1) - 1e-9)))
        out["threshold"] = lowest
        scope.log.note(
            f"threshold {threshold:g} on promptfoo's 0-1 score became "
            f"{lowest} on ci-gate's 1-{SCALE} scale",
            at.where(),
        )
    return _judge(out, raw, at, scope)


def _similar(raw: Mapping[str, Any], value: Any, at: At, scope: Scope) -> Out:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str):
        raise Skip(
            "ci-gate compares with one reference text; keep one, or write one "
            "assertion per reference"
        )
    threshold = raw.get("threshold", 0.75)
    provider = raw.get("provider")
    spec = (provider, at.at("provider")) if provider is not None else None
    return {
        "type": "similar",
        "value": value,
        "threshold": threshold,
        "method": "embedding",
        "embedder": scope.graders.embedder(spec),
    }


def _python(raw: Mapping[str, Any], value: Any, at: At, scope: Scope) -> Out:
    match = _PY_REF.match(value) if isinstance(value, str) else None
    if match is None:
        raise Skip(
            "ci-gate's python scorers are functions in a module; move the code into a "
            "function f(output, context) and name it as module:function",
            "inline python assertion",
        )
    path = scope.source.path_of(match.group("path"))
    if not path.stem.isidentifier():
        raise Skip(
            f"the module name {path.stem!r} cannot be imported; rename the file",
            f"python assertion {shown(value)}",
        )
    out: Out = {"type": "python", "value": f"{path.stem}:{match.group('fn') or 'get_assert'}"}
    folder = scope.source.from_suite(path.parent)
    if folder != ".":
        out["path"] = folder
    if "config" in raw:
        out["config"] = raw["config"]
    threshold = raw.get("threshold")
    if isinstance(threshold, (int, float)) and 0 <= threshold <= 1:
        out["threshold"] = threshold
    scope.log.note(
        "the python assertion calls the same function; ci-gate's "
        "context has vars, expected, config and request (promptfoo's prompt), and "
        "reads a returned reason only as message",
        at.where(),
    )
    return out


MAPPERS: dict[str, Mapper] = {
    "llm-rubric": _rubric,
    "model-graded-closedqa": _rubric,
    "factuality": _rubric,
    "model-graded-factuality": _rubric,
    "g-eval": _rubric,
    "similar": _similar,
    "similar:cosine": _similar,
    "python": _python,
}
