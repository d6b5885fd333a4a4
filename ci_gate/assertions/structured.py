"""Structured assertions: is-json, json-schema, number.

Models often wrap JSON in a Markdown fence (```json ... ```); is-json and json-schema strip one
fence that surrounds the whole output and say so in their message. Text around the fence is not
stripped: "Here is the JSON: ```json ...```" is not JSON output.

This is the only module that applies ``jsonschema`` to outputs, and it translates its exceptions:
schemas are checked at load time with the validator class their ``$schema`` names (Draft 2020-12
when absent), ``format`` keywords are asserted (where jsonschema can check them), and a ``$ref``
that cannot be resolved is a load-time problem when it can be seen then, and a failed assertion
otherwise. ci-gate never fetches a schema over the network.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable
from typing import Any

import jsonschema  # type: ignore[import-untyped]
from referencing.exceptions import Unresolvable

from ci_gate.assertions.base import AssertionResult, Output
from ci_gate.assertions.registry import register
from ci_gate.assertions.spec_rules import DEFAULT_LAYERS, check_shape, option, value_or_expected
from ci_gate.assertions.text import excerpt, no_value, one_line, result
from ci_gate.suite.model import JSON, AssertionSpec, Case

_FENCE = re.compile(
    r"\A\s*```[ \t]*(?:[Jj][Ss][Oo][Nn])?[ \t]*\r?\n(?P<body>.*?)\r?\n?[ \t]*```\s*\Z", re.DOTALL
)

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Data keywords: what is under them is JSON data, not schemas, so a "$ref" there is not a ref.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})


class NotJson(ValueError):
    """The output does not parse as JSON; the message says why and where."""


def _reject_constant(name: str) -> float:
    # Python's json accepts NaN and Infinity, which no other JSON parser does.
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text: str) -> tuple[JSON, bool]:
    """The JSON value of ``text`` (inside a surrounding ```json fence if any) and whether a fence
    was stripped. Raises ``NotJson``."""
    fence = _FENCE.match(text)
    body = fence.group("body") if fence else text
    where = " inside the ```json fence" if fence else ""
    if not body.strip():
        raise NotJson(f"empty output{where} is not JSON")
    try:
        return json.loads(body, parse_constant=_reject_constant), fence is not None
    except json.JSONDecodeError as exc:
        raise NotJson(
            f"not JSON{where}: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except ValueError as exc:  # NaN, or an integer with more digits than Python converts
        reason = str(exc).split(";")[0]  # drop Python's advice about sys.set_int_max_str_digits
        raise NotJson(f"not JSON{where}: {reason}") from exc
    except RecursionError as exc:
        raise NotJson(f"not JSON{where}: nested too deeply") from exc


def _kind(value: JSON) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    return "null" if value is None else "number"


def _fenced_note(fenced: bool) -> str:
    return " (inside a ```json fence, which was stripped)" if fenced else ""


@register("is-json", layer=DEFAULT_LAYERS["is-json"], check=check_shape)
def is_json(spec: AssertionSpec, output: Output, case: Case) -> AssertionResult:
    """The output parses as JSON (any JSON value)."""
    try:
        value, fenced = parse_json(output.text)
    except NotJson as exc:
        return result(False, 0.0, f"{exc}: {excerpt(output.text)}")
    return result(True, 1.0, f"valid JSON {_kind(value)}{_fenced_note(fenced)}")


# --- json-schema -------------------------------------------------------------------------------


def json_path(path: Iterable[Any]) -> str:
    """``$.items[2].price`` for a jsonschema error path; odd keys are quoted: ``$["a b"]``."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(str(part)):
            out += f".{part}"
        else:
            key = str(part)
            out += "[" + json.dumps(key if len(key) <= 40 else key[:39] + "…") + "]"
    return out


def _validator_class(schema: dict[str, Any]) -> Any:
    """The jsonschema validator class for ``schema``; None when its ``$schema`` is unknown."""
    if "$schema" not in schema:
        return jsonschema.validators.Draft202012Validator
    # With a default of None, an unknown $schema gives None instead of a DeprecationWarning.
    return jsonschema.validators.validator_for(schema, default=None)


def _walk_refs(node: JSON, ids: set[str], refs: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk_refs(item, ids, refs)
    elif isinstance(node, dict):
        for key, sub in node.items():
            if key == "$ref" and isinstance(sub, str):
                refs.append(sub)
            elif key == "$id" and isinstance(sub, str):
                ids.add(sub.split("#")[0])
            elif key not in _DATA_KEYWORDS:
                _walk_refs(sub, ids, refs)


def _pointer_resolves(schema: JSON, fragment: str) -> bool:
    node = schema
    for raw in fragment.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True


def _ref_problems(schema: dict[str, Any]) -> list[str]:
    """Refs that can be seen not to resolve: a local pointer to nothing, or another document
    that the schema does not itself contain (ci-gate never downloads one)."""
    ids: set[str] = set()
    refs: list[str] = []
    _walk_refs(schema, ids, refs)
    problems = []
    for ref in refs:
        doc, _, fragment = ref.partition("#")
        if not doc:
            if fragment.startswith("/") and not _pointer_resolves(schema, fragment):
                problems.append(f"schema $ref {ref!r} points to nothing in the schema")
        elif not any(i == doc or i.endswith("/" + doc) or doc.endswith(i) for i in ids if i):
            problems.append(
                f"schema $ref {ref!r} names another document, which ci-gate never fetches"
                " (copy it under $defs and use '#/$defs/...')"
            )
    return problems


def _check_schema(spec: AssertionSpec) -> list[str]:
    problems = check_shape(spec)
    if problems or not isinstance(spec.value, dict):
        return problems
    return schema_problems(spec.value)


def schema_problems(schema: dict[str, Any]) -> list[str]:
    """Load-time problems with a JSON Schema written in a suite (also used by tool-args)."""
    if "$schema" in schema and not isinstance(schema["$schema"], str):
        return ["schema $schema must be a string (a draft URI)"]
    cls = _validator_class(schema)
    if cls is None:
        return [
            f"schema $schema {schema['$schema']!r} is not a JSON Schema draft jsonschema knows"
            " (use https://json-schema.org/draft/2020-12/schema or leave it out)"
        ]
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        # check_schema already raises its best match (and best_match on a SchemaError crashes).
        where = json_path(exc.absolute_path)
        return [one_line(f"invalid JSON Schema at {where}: {exc.message}", 300)]
    return _ref_problems(schema)


def _document_order(path: Iterable[Any], instance: JSON) -> tuple[int, ...]:
    """Positions of a path's steps in the instance: object keys by where they appear."""
    order: list[int] = []
    node = instance
    for part in path:
        if isinstance(node, dict) and part in node:
            order.append(list(node).index(part))
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            order.append(part)
        else:
            order.append(0)
            node = None
            continue
        node = node[part]
    return tuple(order)


def _first_error(errors: list[Any], instance: JSON) -> Any:
    """The error to report: the shallowest, and among those the first in the document; then
    jsonschema's ``best_match`` picks the most useful reason within an anyOf/oneOf."""
    depth = min(len(e.path) for e in errors)
    shallow = [e for e in errors if len(e.path) == depth]
    first = min(_document_order(e.path, instance) for e in shallow)
    return jsonschema.exceptions.best_match(
        [e for e in shallow if _document_order(e.path, instance) == first]
    )


@functools.lru_cache(maxsize=128)
def _validator(schema_json: str) -> Any:
    # Keyed by the schema's canonical JSON: specs hold dicts, which are not hashable.
    schema = json.loads(schema_json)
    cls = _validator_class(schema) or jsonschema.validators.Draft202012Validator
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@register("json-schema", layer=DEFAULT_LAYERS["json-schema"], check=_check_schema)
def json_schema(spec: AssertionSpec, output: Output, case: Case) -> AssertionResult:
    """The output parses as JSON and validates against the schema in ``value``.

    The message names the first failing path (the shallowest, then in document order), e.g.
    ``$.items[2].price: 'abc' is not of type 'number'``, and how many other errors there were.
    """
    if not isinstance(spec.value, dict):
        return no_value()
    try:
        value, fenced = parse_json(output.text)
    except NotJson as exc:
        return result(False, 0.0, f"{exc}: {excerpt(output.text)}")
    error = schema_error(spec.value, value, what="output")
    if error is None:
        return result(True, 1.0, f"valid against the schema{_fenced_note(fenced)}")
    return result(False, 0.0, error)


def schema_error(schema: dict[str, Any], value: JSON, *, what: str) -> str | None:
    """None when ``value`` validates against ``schema`` (checked at load time by
    ``schema_problems``), else a one-line reason: the first failing path and how many other
    errors there were. ``what`` names the value ("output", "arguments") in other failures."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    try:
        errors = list(validator.iter_errors(value))
    except Unresolvable as exc:
        return one_line(f"the schema has a $ref that cannot be resolved: {exc}")
    except RecursionError:
        return f"the {what} is nested too deeply to validate"
    if not errors:
        return None
    best = _first_error(errors, value)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    message = one_line(best.message, 200)
    return f"{json_path(best.absolute_path)}: {message}{more}"


# --- number ------------------------------------------------------------------------------------

# An optional sign, an optional currency sign, then digits with optional comma thousands
# separators, a decimal part and an exponent. Not preceded by a letter or digit, so "gpt-4o" gives
# 4 and not -4. European "1.234,50" and space-separated thousands are not understood.
_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-+\u2212])? ?[$€£¥₹]? ?(?P<sign2>[-+\u2212])?"
    r"(?P<digits>(?:\d{1,3}(?:,\d{3}(?!\d))+|\d+)(?:\.\d*)?|\.\d+)"
    r"(?P<exp>[eE][-+]?\d+)?"
)


def _to_float(match: re.Match[str]) -> float | None:
    signs = (match["sign"] or "") + (match["sign2"] or "")
    negative = "-" in signs or "\u2212" in signs
    number = float(match["digits"].replace(",", "") + (match["exp"] or ""))
    if not math.isfinite(number):
        return None
    return -number if negative else number


def parse_number(text: str) -> float | None:
    """The whole text as a number ("-3e2", "$1,234.50"), else None."""
    stripped = text.strip()
    try:
        number = float(stripped)
    except ValueError:
        match = _NUMBER.fullmatch(stripped)
        return _to_float(match) if match else None
    return number if math.isfinite(number) else None


def extract_number(text: str) -> float | None:
    """The number an output states: the whole output if it is one, else the first number in it."""
    whole = parse_number(text)
    if whole is not None:
        return whole
    for match in _NUMBER.finditer(text):
        number = _to_float(match)
        if number is not None:
            return number
    return None


def show_number(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e16 else repr(x)


def _expected_number(value: JSON) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):  # CSV cases carry every expected value as text
        return parse_number(value)
    return None


@register("number", layer=DEFAULT_LAYERS["number"], check=check_shape)
def number(spec: AssertionSpec, output: Output, case: Case) -> AssertionResult:
    """The number in the output equals the value within ``tolerance`` (absolute) or
    ``relative_tolerance`` (a fraction of the value); whichever is larger applies."""
    value = value_or_expected(spec, case)
    if value is None:
        return no_value()
    want = _expected_number(value)
    if want is None:
        return result(False, 0.0, f"the expected value {excerpt(str(value), 40)} is not a number")
    tolerance = float(option(spec, "tolerance"))
    relative = float(option(spec, "relative_tolerance"))
    allowed = max(tolerance, relative * abs(want))
    shown = show_number(want) + (f" ± {show_number(allowed)}" if allowed else "")
    found = extract_number(output.text)
    if found is None:
        return result(False, 0.0, f"expected {shown}, found no number in {excerpt(output.text)}")
    # A few ulps of slack so that a tolerance that is exactly the difference still passes.
    slack = 4 * math.ulp(max(abs(want), abs(found)))
    if abs(found - want) <= allowed + slack:
        return result(True, 1.0, f"expected {shown}, found {show_number(found)}")
    return result(
        False,
        0.0,
        f"expected {shown}, found {show_number(found)} in {excerpt(output.text)}",
    )
