"""Validating suite data against ``schema.json`` and explaining each error in one line.

The only module that imports ``jsonschema`` for suites. Every jsonschema error becomes one
``Problem`` with the file, line, key path, a plain-English message and a hint (did you mean,
expected one of, expected an integer...). Cascades are cut: a wrong type at a path hides the other
errors at that same path, anyOf/oneOf errors are replaced by their most relevant sub-error, and
identical problems are reported once.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import (  # type: ignore[import-untyped]
    ValidationError,
    best_match,
)
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ci_gate.errors import Problem
from ci_gate.suite.yaml_source import KeyPath, format_path, line_of

SCHEMA_ID = "https://ci-gate.dev/schema/suite-1.json"

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true or false)",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


@functools.cache
def schema_text() -> str:
    """The suite JSON Schema as shipped (for ``ci-gate schema``)."""
    return resources.files("ci_gate.suite").joinpath("schema.json").read_text("utf-8")


def schema() -> dict[str, Any]:
    """A fresh copy of the suite JSON Schema."""
    data: dict[str, Any] = json.loads(schema_text())
    return data


@functools.cache
def _root() -> dict[str, Any]:
    return schema()


@functools.cache
def _validator(definition: str | None) -> Draft202012Validator:
    root = _root()
    if definition is None:
        return Draft202012Validator(root)
    registry: Registry[Any] = Registry().with_resource(
        SCHEMA_ID, Resource.from_contents(root, default_specification=DRAFT202012)
    )
    return Draft202012Validator({"$ref": f"{SCHEMA_ID}#/$defs/{definition}"}, registry=registry)


def show(value: Any, limit: int = 60) -> str:
    """A value quoted on one line: strings with repr (newlines escaped), the rest as JSON."""
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
        except ValueError:  # circular data cannot come from our loaders, but never crash
            text = repr(value)
        text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return _TYPE_NAMES["boolean"]
    if isinstance(value, int):
        return _TYPE_NAMES["integer"]
    if isinstance(value, float):
        return _TYPE_NAMES["number"]
    if isinstance(value, str):
        return _TYPE_NAMES["string"]
    if isinstance(value, dict):
        return _TYPE_NAMES["object"]
    if isinstance(value, list):
        return _TYPE_NAMES["array"]
    if value is None:
        return "nothing (an empty value)"
    return type(value).__name__


PROBLEM_LIMIT = 200  # problems looked for in one document; far more than anyone reads


def check(
    data: Any,
    lines: Mapping[KeyPath, int],
    file: str,
    *,
    definition: str | None = None,
    prefix: KeyPath = (),
) -> list[Problem]:
    """Problems of ``data`` against the schema (or one of its ``$defs``), one per mistake.

    ``lines`` maps key paths in ``file`` to lines; ``prefix`` is where ``data`` sits in the file.
    """
    found: dict[tuple[str, str], tuple[KeyPath, Problem, bool]] = {}
    for error in _validator(definition).iter_errors(data):
        for path, problem, is_type in _explain(error, data, lines, file, prefix):
            found.setdefault((problem.path, problem.message), (path, problem, is_type))
        # A million wrong list items would take minutes and gigabytes to explain, one by one.
        if len(found) >= PROBLEM_LIMIT:
            break
    typed = {path for path, _, is_type in found.values() if is_type}
    kept = [p for path, p, is_type in found.values() if is_type or path not in typed]
    return sorted(kept, key=lambda p: (p.line or 0, p.path))


_Explained = list[tuple[KeyPath, Problem, bool]]


def _explain(
    error: ValidationError, data: Any, lines: Mapping[KeyPath, int], file: str, prefix: KeyPath
) -> _Explained:
    path: KeyPath = (*prefix, *error.absolute_path)
    here = error.schema if isinstance(error.schema, dict) else {}

    def one(at: KeyPath, message: str, hint: str | None, is_type: bool = False) -> _Explained:
        return [(at, Problem(file, line_of(lines, at), format_path(at), message, hint), is_type)]

    kind = error.validator
    value = error.instance
    if kind in ("anyOf", "oneOf"):
        if "x-message" in here or "x-hint" in here:
            return one(
                path, here.get("x-message", f"invalid value {show(value)}"), here.get("x-hint")
            )
        best = best_match(error.context or [])
        if best is None:
            return one(path, f"invalid value {show(value)}", None)
        return _explain(best, data, lines, file, prefix)
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = list(here.get("properties", {}))
        out: _Explained = []
        for key in value:
            if key in allowed:
                continue
            hint = did_you_mean(str(key), allowed) or _allowed_keys(allowed)
            out += one((*path, key), f"unknown key {show(key)}", hint)
        return out
    if kind == "required" and isinstance(value, dict):
        out = []
        for key in error.validator_value:
            if key not in value:
                prop = here.get("properties", {}).get(key)
                need: str | None = here.get("x-hint") or (
                    prop.get("description") if isinstance(prop, dict) else None
                )
                out += one(path, f"missing required key {show(key)}", need)
        return out
    if kind == "type":
        return one(
            path, f"invalid value {show(value)}", _type_hint(error.validator_value, value), True
        )
    if kind == "enum" and "propertyNames" in error.relative_schema_path:
        options = [str(o) for o in error.validator_value]
        return one((*path, value), f"unknown key {show(value)}", _choices(value, options))
    if kind == "enum":
        return one(path, f"invalid value {show(value)}", _choices(value, error.validator_value))
    if kind == "const":
        return one(path, f"invalid value {show(value)}", f"expected {show(error.validator_value)}")
    if kind == "pattern":
        hint = here.get("x-hint") or f"must match {error.validator_value}"
        return one(path, f"invalid value {show(value)}", hint)
    if kind in _BOUNDS:
        return one(path, f"invalid value {show(value)}", f"{_BOUNDS[kind]} {error.validator_value}")
    if kind == "minItems":
        n = error.validator_value
        return one(path, f"needs at least {n} item{'s' if n != 1 else ''}", None)
    if kind == "minLength":
        return one(path, "must not be empty", None)
    if kind is None:  # a `false` subschema: keys that must not appear together
        return _forbidden(error, data, path, lines, file)
    return one(path, _one_line(error.message)[:200], None)


_BOUNDS = {
    "minimum": "must be >=",
    "maximum": "must be <=",
    "exclusiveMinimum": "must be >",
    "exclusiveMaximum": "must be <",
}


def _forbidden(
    error: ValidationError, data: Any, path: KeyPath, lines: Mapping[KeyPath, int], file: str
) -> _Explained:
    # jsonschema reports a `false` property schema at the parent mapping without naming the key,
    # so find which forbidden keys the mapping has.
    chain = _schema_chain(list(error.absolute_schema_path))
    holder = chain[-2] if len(chain) >= 2 and isinstance(chain[-2], dict) else {}
    props = chain[-1] if chain and isinstance(chain[-1], dict) else {}
    hint = holder.get("x-hint")
    parent = _at(data, tuple(error.absolute_path))
    keys = [
        k for k, sub in props.items() if sub is False and isinstance(parent, dict) and k in parent
    ]
    at: KeyPath = (*path, keys[0]) if keys else path
    message = f"key {keys[0]!r} is not allowed here" if keys else "value not allowed here"
    return [(at, Problem(file, line_of(lines, at), format_path(at), message, hint), False)]


def _at(data: Any, path: KeyPath) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _schema_chain(tokens: list[Any]) -> list[Any]:
    """The schema objects along a schema path, following local ``$ref``s that it jumps over."""
    root = _root()
    node: Any = root
    chain: list[Any] = [node]
    for token in tokens:
        while isinstance(node, dict) and token not in node and "$ref" in node:
            node = _resolve(root, node["$ref"])
        try:
            node = node[token]
        except (KeyError, IndexError, TypeError):
            return chain
        chain.append(node)
    return chain


def _resolve(root: dict[str, Any], ref: str) -> Any:
    node: Any = root
    for part in ref.split("#", 1)[-1].strip("/").split("/"):
        if part:
            node = node[part]
    return node


def _allowed_keys(allowed: list[str]) -> str:
    return "allowed keys: " + ", ".join(allowed) if allowed else "no keys are allowed here"


def _choices(value: Any, options: Iterable[Any]) -> str:
    names = [str(o) for o in options]
    listing = "expected one of: " + ", ".join(names)
    close = did_you_mean(value, names) if isinstance(value, str) else None
    return f"{close} {listing}" if close else listing


def _type_hint(expected: Any, value: Any) -> str:
    wanted = [expected] if isinstance(expected, str) else list(expected)
    text = f"expected {' or '.join(_TYPE_NAMES.get(w, w) for w in wanted)}, got {type_name(value)}"
    if isinstance(value, str) and {"integer", "number"} & set(wanted):
        try:
            float(value)
        except ValueError:
            return text
        return text + "; remove the quotes"
    if "string" in wanted and isinstance(value, (int, float)):
        return text + "; put it in quotes"
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split())
