"""promptfoo's deterministic assertions (text, JSON, tools) as ci-gate assertions, and why the
ones without an equivalent have none."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ci_gate.migrate.promptfoo_scope import Mapper, Out, Scope, Skip
from ci_gate.migrate.promptfoo_source import At

_CONTEXT = (
    "promptfoo judges it against a var or the query; ci-gate's context assertions read the "
    "documents the target returns (context-recall, context-precision, context-faithfulness)"
)
_LEXICAL = "ci-gate has no {kind} metric; use similar (string similarity) or a python scorer"
NO_EQUIVALENT = {
    "javascript": "ci-gate runs scorers in Python or as a program, not JavaScript; rewrite it as "
    "a python scorer (type: python, value: module:function)",
    "ruby": "ci-gate runs scorers in Python or as a program; rewrite it as a python scorer",
    "latency": "ci-gate gates latency against the baseline (gate.latency: p50, p95, p99), "
    "not per case",
    "cost": "ci-gate gates cost against the baseline and a budget (gate.cost), not per case",
    "levenshtein": "ci-gate has no edit distance; use similar (string similarity) or a python "
    "scorer",
    "rouge-n": _LEXICAL,
    "bleu": _LEXICAL,
    "gleu": _LEXICAL,
    "meteor": _LEXICAL,
    "answer-relevance": _CONTEXT,
    "context-relevance": _CONTEXT,
    "context-recall": _CONTEXT,
    "context-faithfulness": _CONTEXT,
    "conversation-relevance": _CONTEXT,
    "classifier": "ci-gate calls no classifier; use refusal, llm-rubric or a python scorer",
    "moderation": "ci-gate calls no moderation API; use refusal, llm-rubric or a python scorer",
    "guardrails": "ci-gate calls no guardrail service; use refusal or a python scorer",
    "pi": "ci-gate calls no prompt-injection classifier; use llm-rubric or a python scorer",
    "perplexity": "ci-gate does not read log-probabilities",
    "perplexity-score": "ci-gate does not read log-probabilities",
    "webhook": "use a command scorer (JSON in, JSON out) that calls your webhook",
    "select-best": "ci-gate compares runs, not the outputs of one run: a pairwise judge "
    "(pairwise:) compares base's and head's output of each case",
    "max-score": "ci-gate compares runs, not the outputs of one run: a pairwise judge "
    "(pairwise:) compares base's and head's output of each case",
    "human": "ci-gate records human verdicts as labels: on a case, for calibrating its judge",
    "finish-reason": "ci-gate does not record the finish reason",
}
_NO_CHECK = "ci-gate has no {kind} check; use a regex or a python scorer"
for _kind in ("is-sql", "contains-sql", "is-xml", "contains-xml", "is-html", "contains-html"):
    NO_EQUIVALENT[_kind] = _NO_CHECK
_JS_GROUP = re.compile(r"\(\?<(?![=!])")
_JS_BACKREF = re.compile(r"\\k<([A-Za-z_]\w*)>")


def _text(value: Any) -> str:
    """A value as promptfoo compares it with the output: JavaScript's String()."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _needles(value: Any) -> list[str]:
    if isinstance(value, list):
        return [_text(v) for v in value]
    if isinstance(value, str):
        return [v.strip() for v in value.split(",")]
    raise Skip("it needs a list of strings")


def _contains(raw: Mapping[str, Any], value: Any, at: At, scope: Scope) -> Out:
    kind = str(raw["type"])
    negate = kind.startswith("not-")
    base = kind[4:] if negate else kind
    if value is None:
        raise Skip("it has no value")
    many = base.endswith(("-any", "-all"))
    if negate and base.endswith("-all"):
        raise Skip(
            "ci-gate has no 'not all of these' check; list the strings that must not "
            "appear with not-contains"
        )
    out: Out = {"type": "not-contains" if negate else "contains"}
    out["value"] = _needles(value) if many else _text(value)
    if base.endswith("-any") and not negate:
        out["mode"] = "any"
    if not base.startswith("i"):
        out["case_sensitive"] = True
    return out


def _equals(raw: Mapping[str, Any], value: Any, at: At, scope: Scope) -> Out:
    if value is None:
        raise Skip("it has no value")
    negate = raw["type"] == "not-equals"
    if isinstance(value, (Mapping, list)):
        if negate:
            raise Skip("ci-gate has no 'not equal to this JSON' check")
        scope.log.note(
            "equals with a JSON value became json-schema with const "
            "(the output must parse as that JSON value)",
            at.where(),
        )
        return {"type": "json-schema", "value": {"const": value}}
    if negate:
        return {"type": "regex", "value": rf"\A(?!{re.escape(_text(value))}\Z)"}
    return {"type": "equals", "value": _text(value), "trim": False}


def _regex(raw: Mapping[str, Any], value: Any, at: At, scope: Scope) -> Out:
    if not isinstance(value, str):
        raise Skip("it has no pattern")
    pattern = _JS_BACKREF.sub(r"(?P=\1)", _JS_GROUP.sub("(?P<", value))
    if raw["type"] == "not-regex":
        pattern = rf"\A(?![\s\S]*?(?:{pattern}))"
    return {"type": "regex", "value": pattern}


def _starts_with(raw: Mapping[str, Any], value: Any, at: At, scope: Scope) -> Out:
    if value is None:
        raise Skip("it has no value")
    if raw["type"] == "not-starts-with":
        return {"type": "regex", "value": rf"\A(?!{re.escape(_text(value))})"}
    return {"type": "starts-with", "value": _text(value)}


def _json(raw: Mapping[str, Any], value: Any, at: At, scope: Scope) -> Out:
    if raw["type"] == "contains-json":
        scope.log.note(
            f"contains-json became {'json-schema' if value else 'is-json'}"
            ", which needs the whole output (or one ```json fence) to be JSON",
            at.where(),
        )
    if isinstance(value, str) and value.strip():
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise Skip("its schema is not JSON") from None
    if value is None or value == "":
        return {"type": "is-json"}
    return {"type": "json-schema", "value": value}


def _refusal(raw: Mapping[str, Any], value: Any, at: At, scope: Scope) -> Out:
    return {"type": "refusal", "value": raw["type"] == "is-refusal"}


def _tool_names(raw: Mapping[str, Any], value: Any, at: At, scope: Scope) -> Out:
    names = _needles(value) if value is not None else []
    if not names:
        raise Skip("it names no tools")
    scope.log.note(
        "tool-call-f1 became tool-called, which needs every named tool "
        "called and does not penalise extra calls",
        at.where(),
    )
    return {"type": "tool-called", "value": names}


def _tools_valid(raw: Mapping[str, Any], value: Any, at: At, scope: Scope) -> Out:
    if len(scope.tools) != 1:
        raise Skip(
            "ci-gate checks one tool's arguments at a time (tool-args with its schema); "
            "write one tool-args per tool you expect"
        )
    name, schema = scope.tools[0]
    scope.log.note(
        f"{raw['type']} became tool-args for {name}, which also needs the tool to be called",
        at.where(),
    )
    return {"type": "tool-args", "tool": name, "schema": schema or {"type": "object"}}


def _word_count(raw: Mapping[str, Any], value: Any, at: At, scope: Scope) -> Out:
    if isinstance(value, int) and not isinstance(value, bool):
        return {"type": "length", "min": value, "max": value, "unit": "words"}
    if isinstance(value, Mapping) and {"min", "max"} & set(value):
        out: Out = {"type": "length", "unit": "words"}
        out.update({k: value[k] for k in ("min", "max") if k in value})
        return out
    raise Skip("it needs a number or min/max")


def tools_of(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The (name, parameters schema) of each function tool in a target's params."""
    out = []
    for tool in params.get("tools") or []:
        if isinstance(tool, Mapping):
            function = tool.get("function", tool)
            if isinstance(function, Mapping) and isinstance(function.get("name"), str):
                schema = function.get("parameters", function.get("input_schema"))
                out.append((function["name"], schema))
    return tuple(out)


MAPPERS: dict[str, Mapper] = {
    "equals": _equals,
    "not-equals": _equals,
    "regex": _regex,
    "not-regex": _regex,
    "starts-with": _starts_with,
    "not-starts-with": _starts_with,
    "is-json": _json,
    "contains-json": _json,
    "is-refusal": _refusal,
    "not-is-refusal": _refusal,
    "tool-call-f1": _tool_names,
    "is-valid-openai-tools-call": _tools_valid,
    "is-valid-openai-function-call": _tools_valid,
    "word-count": _word_count,
}
for _base in ("contains", "icontains"):
    for _end in ("", "-any", "-all"):
        MAPPERS[_base + _end] = _contains
        MAPPERS["not-" + _base + _end] = _contains
