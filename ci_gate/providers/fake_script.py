"""What the fake provider answers: output specs in ``outputs``, ``rules[].output`` and
``default_output``.

An output spec is one of:

- a string: the output text;
- a mapping with the key ``output``: ``{output, tool_calls, context}``. ``tool_calls`` is a list
  of ``{id?, name, arguments}`` (arguments a mapping, or a string as a model would write it, which
  need not be valid JSON: that is how a broken call is scripted); ``context`` a list of document
  ids or ``{id, text}`` mappings. They go to ``ProviderResponse.extra`` as given, exactly as a
  ``python`` or ``command`` target returns them, for the tool and retrieval assertions;
- a non-empty list of the above: the answer for sample ``n`` is item ``n % len``, so that repeats
  can differ (a judge that disagrees with itself, a flaky bot);
- any other JSON value (a number, a boolean, a mapping without ``output``): written out as JSON
  text, as before output specs existed. A mapping with ``tool_calls`` or ``context`` but no
  ``output`` is a mistake, not text.

``script_problems`` is the single place that decides what is valid: the provider raises its first
problem at build time and the suite checks report each one at its line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KeyPath = tuple[str | int, ...]

SPEC_KEYS = ("output", "tool_calls", "context")
CALL_KEYS = ("id", "name", "arguments")
_ONE = "a string or {output, tool_calls, context}"


@dataclass(frozen=True)
class Scripted:
    """One canned answer: its text and the structured parts assertions read."""

    text: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScriptProblem:
    """``path`` is below the output spec, e.g. ``(1, "tool_calls", 0, "name")``."""

    path: KeyPath
    message: str
    hint: str | None = None


def show_path(path: KeyPath) -> str:
    """``.tool_calls[0].name`` style, to append to the option's name."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {bool: "a boolean", str: "a string", list: "a list", dict: "a mapping"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )


def script_problems(value: Any) -> list[ScriptProblem]:
    """Why ``value`` is not a usable output spec; empty when it is."""
    if not isinstance(value, list):
        return _one_problems(value, ())
    if not value:
        return [ScriptProblem((), "an empty list of outputs", "give at least one; see docs")]
    problems: list[ScriptProblem] = []
    for i, item in enumerate(value):
        if isinstance(item, list):
            problems.append(ScriptProblem((i,), "a list inside a list of outputs", f"use {_ONE}"))
        else:
            problems += _one_problems(item, (i,))
    return problems


def _one_problems(value: Any, at: KeyPath) -> list[ScriptProblem]:
    if value is None:
        return [ScriptProblem(at, "no output given", f"write {_ONE}")]
    if not isinstance(value, Mapping):
        return []
    if "output" not in value:
        scripted = [k for k in ("tool_calls", "context") if k in value]
        if scripted:
            return [
                ScriptProblem(
                    at, f"{scripted[0]} without output", "add output: the text of the answer"
                )
            ]
        return []  # a JSON value, written out as text
    problems = [
        ScriptProblem((*at, str(k)), f"unknown key {str(k)!r}", "keys: output, tool_calls, context")
        for k in value
        if k not in SPEC_KEYS
    ]
    if not isinstance(value["output"], str):
        problems.append(
            ScriptProblem((*at, "output"), f"output must be a string, got {_kind(value['output'])}")
        )
    if "tool_calls" in value:
        problems += _calls_problems(value["tool_calls"], (*at, "tool_calls"))
    if "context" in value:
        problems += _context_problems(value["context"], (*at, "context"))
    return problems


def _calls_problems(calls: Any, at: KeyPath) -> list[ScriptProblem]:
    if not isinstance(calls, list):
        return [
            ScriptProblem(
                at,
                f"tool_calls must be a list, got {_kind(calls)}",
                "e.g. [{name: lookup_order, arguments: {id: 7}}]",
            )
        ]
    problems: list[ScriptProblem] = []
    for i, call in enumerate(calls):
        here = (*at, i)
        if not isinstance(call, Mapping):
            problems.append(
                ScriptProblem(
                    here,
                    f"a tool call must be a mapping, got {_kind(call)}",
                    "write {id?, name, arguments}",
                )
            )
            continue
        problems += [
            ScriptProblem((*here, str(k)), f"unknown key {str(k)!r}", "keys: id, name, arguments")
            for k in call
            if k not in CALL_KEYS
        ]
        name = call.get("name")
        if not isinstance(name, str) or not name:
            problems.append(ScriptProblem((*here, "name"), "a tool call needs a name (a string)"))
        if "id" in call and not isinstance(call["id"], str):
            problems.append(
                ScriptProblem((*here, "id"), f"id must be a string, got {_kind(call['id'])}")
            )
        arguments = call.get("arguments")
        if arguments is not None and not isinstance(arguments, Mapping | str):
            problems.append(
                ScriptProblem(
                    (*here, "arguments"),
                    f"arguments must be a mapping or a JSON string, got {_kind(arguments)}",
                )
            )
    return problems


def _context_problems(context: Any, at: KeyPath) -> list[ScriptProblem]:
    if not isinstance(context, list):
        return [
            ScriptProblem(
                at,
                f"context must be a list, got {_kind(context)}",
                "list document ids or {id, text} mappings",
            )
        ]
    problems: list[ScriptProblem] = []
    for i, doc in enumerate(context):
        here = (*at, i)
        if isinstance(doc, str):
            continue
        if not isinstance(doc, Mapping):
            problems.append(
                ScriptProblem(here, f"a document must be an id or a mapping, got {_kind(doc)}")
            )
            continue
        if "id" not in doc and "text" not in doc:
            problems.append(ScriptProblem(here, "a document needs an id or a text"))
        ident = doc.get("id")
        if ident is not None and (isinstance(ident, bool) or not isinstance(ident, str | int)):
            problems.append(ScriptProblem((*here, "id"), "id must be a string or an integer"))
        if "text" in doc and not isinstance(doc["text"], str):
            problems.append(ScriptProblem((*here, "text"), "text must be a string"))
    return problems


def scripted(value: Any) -> tuple[Scripted, ...]:
    """The answers of a valid output spec (see ``script_problems``), one per sample in turn."""
    items = value if isinstance(value, list) else [value]
    return tuple(_one(item) for item in items)


def _one(value: Any) -> Scripted:
    if isinstance(value, str):
        return Scripted(value)
    if isinstance(value, Mapping) and "output" in value:
        extra = {k: value[k] for k in ("tool_calls", "context") if k in value}
        return Scripted(str(value["output"]), extra)
    return Scripted(json.dumps(value, ensure_ascii=False))
