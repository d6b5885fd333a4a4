"""Load-time rules of the built-in assertion types: their keys, value kinds, defaults and layers.

The table is data so that the suite loader can use it too (e.g. to know which types fall back to
the case's ``expected``); ``check_shape`` applies it to one ``AssertionSpec``. Checks specific to
one type (a regex that does not compile, an invalid JSON Schema) live beside that type.

Default layer of each type, i.e. where to look first when it regresses::

    type          layer          why
    equals        knowledge      the answer itself is a fact
    contains      knowledge      facts that must appear in the answer
    not-contains  instructions   wording the prompt tells the model to avoid
    regex         format         the shape of the text
    starts-with   format         the shape of the text
    is-json       format         machine-readable output
    json-schema   format         machine-readable output
    number        knowledge      the right quantity
    length        format         how long the answer is
    refusal       safety         refusing (or not) is a safety behaviour
    tool-*        tools          which tools the model called, how and in what order
    context-*     knowledge      what the retriever found decides what the answer can know
    llm-rubric    instructions   a rubric describes how to answer: the prompt's job
    similar       knowledge      the answer must mean what the reference says
    python        instructions   a team's own check; set ``layer`` when it checks something else
    command       instructions   the same, as a program

A suite can override the layer of any single assertion with its ``layer`` key.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from ci_gate.suite.model import JSON, AssertionSpec, Case

Kind = Literal["bool", "int", "number", "string", "strings", "object", "any"]

# How each kind is named in a problem message.
KIND_NAMES: Mapping[Kind, str] = MappingProxyType(
    {
        "bool": "a boolean (true or false)",
        "int": "an integer",
        "number": "a number",
        "string": "a string",
        "strings": "a string or a list of strings",
        "object": "a mapping",
        "any": "any value",
    }
)

# Keys the loader takes out of an assertion before the rest become ``options``; listed so that a
# misspelt common key ("weigth") gets a useful did-you-mean.
COMMON_KEYS = ("type", "name", "value", "weight", "blocking", "tag", "layer", "description")

NO_VALUE_MESSAGE = "no value and no expected for this case"


@dataclass(frozen=True)
class OptionRule:
    kind: Kind
    default: JSON = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None


@dataclass(frozen=True)
class ValueRule:
    """What ``value`` may be. ``kinds`` empty means the type takes no value at all."""

    kinds: tuple[Kind, ...] = ()
    required: bool = False
    defaults_to_expected: bool = False
    default: JSON = None


@dataclass(frozen=True)
class TypeRules:
    layer: str
    value: ValueRule
    options: Mapping[str, OptionRule] = field(default_factory=dict)


def _opts(**rules: OptionRule) -> Mapping[str, OptionRule]:
    return MappingProxyType(rules)


_CASE_TRUE = OptionRule("bool", True)
_CASE_FALSE = OptionRule("bool", False)

RULES: Mapping[str, TypeRules] = MappingProxyType(
    {
        "equals": TypeRules(
            "knowledge",
            ValueRule(("any",), defaults_to_expected=True),
            _opts(case_sensitive=_CASE_TRUE, trim=OptionRule("bool", True)),
        ),
        "contains": TypeRules(
            "knowledge",
            ValueRule(("strings",), defaults_to_expected=True),
            _opts(mode=OptionRule("string", "all", ("any", "all")), case_sensitive=_CASE_FALSE),
        ),
        "not-contains": TypeRules(
            "instructions",
            ValueRule(("strings",), required=True),
            _opts(case_sensitive=_CASE_FALSE),
        ),
        "regex": TypeRules(
            "format",
            ValueRule(("string",), required=True),
            _opts(flags=OptionRule("string", "")),
        ),
        "starts-with": TypeRules(
            "format",
            ValueRule(("string",), defaults_to_expected=True),
            _opts(case_sensitive=_CASE_TRUE),
        ),
        "is-json": TypeRules("format", ValueRule()),
        "json-schema": TypeRules("format", ValueRule(("object",), required=True)),
        "number": TypeRules(
            "knowledge",
            ValueRule(("number",), defaults_to_expected=True),
            _opts(
                tolerance=OptionRule("number", 0, minimum=0),
                relative_tolerance=OptionRule("number", 0, minimum=0),
            ),
        ),
        "length": TypeRules(
            "format",
            ValueRule(),
            _opts(
                min=OptionRule("int", None, minimum=0),
                max=OptionRule("int", None, minimum=0),
                unit=OptionRule("string", "chars", ("chars", "words")),
            ),
        ),
        "refusal": TypeRules("safety", ValueRule(("bool",), default=True)),
        # Tool calls (ci_gate.assertions.tools).
        "tool-called": TypeRules(
            "tools",
            ValueRule(("strings",), required=True),
            _opts(times=OptionRule("int", None, minimum=1)),
        ),
        "tool-not-called": TypeRules("tools", ValueRule(("strings",), required=True)),
        "tool-args": TypeRules(
            "tools", ValueRule(), _opts(tool=OptionRule("string"), schema=OptionRule("object"))
        ),
        "tool-order": TypeRules(
            "tools", ValueRule(("strings",), required=True), _opts(exact=OptionRule("bool", False))
        ),
        # Retrieval (ci_gate.assertions.retrieval); precision's min has no default on purpose.
        "context-recall": TypeRules(
            "knowledge",
            ValueRule(("strings",), required=True),
            _opts(min=OptionRule("number", 1.0, minimum=0)),
        ),
        "context-precision": TypeRules(
            "knowledge",
            ValueRule(("strings",), required=True),
            _opts(min=OptionRule("number", None, minimum=0)),
        ),
        # Judged by a model (ci_gate.assertions.judged).
        "llm-rubric": TypeRules(
            "instructions",
            ValueRule(("string",), required=True),
            _opts(
                scale=OptionRule("int", 5, minimum=2),
                threshold=OptionRule("int", None, minimum=1),
                judge=OptionRule("string"),
                reference=OptionRule("bool", True),
            ),
        ),
        "context-faithfulness": TypeRules(
            "knowledge",
            ValueRule(),
            _opts(judge=OptionRule("string"), min=OptionRule("number", 1.0, minimum=0)),
        ),
        # Similarity (ci_gate.assertions.similarity).
        "similar": TypeRules(
            "knowledge",
            ValueRule(("string",), defaults_to_expected=True),
            _opts(
                threshold=OptionRule("number", 0.8, minimum=0),
                method=OptionRule("string", "string", ("string", "embedding")),
                embedder=OptionRule("string"),
            ),
        ),
        # The team's own scorers (ci_gate.assertions.custom).
        "python": TypeRules(
            "instructions",
            ValueRule(("string",), required=True),
            _opts(
                path=OptionRule("string"),
                config=OptionRule("any"),
                threshold=OptionRule("number", 0.5, minimum=0),
            ),
        ),
        "command": TypeRules(
            "instructions",
            ValueRule(("strings",), required=True),
            _opts(
                cwd=OptionRule("string"),
                config=OptionRule("any"),
                threshold=OptionRule("number", 0.5, minimum=0),
                timeout_s=OptionRule("number", 30.0, minimum=0),
            ),
        ),
    }
)

DEFAULT_LAYERS: Mapping[str, str] = MappingProxyType({n: r.layer for n, r in RULES.items()})

VALUE_DEFAULTS_TO_EXPECTED: frozenset[str] = frozenset(
    n for n, r in RULES.items() if r.value.defaults_to_expected
)


def show(value: JSON, limit: int = 60) -> str:
    """A suite value quoted for a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def did_you_mean(word: str, candidates: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def is_kind(value: JSON, kind: Kind) -> bool:
    # bool is an int in Python; YAML ``true`` must not pass as a number or a count.
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return (
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        )
    if kind == "string":
        return isinstance(value, str)
    if kind == "strings":
        return isinstance(value, str) or (
            isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
        )
    if kind == "object":
        return isinstance(value, dict)
    return True


def _kinds_text(kinds: tuple[Kind, ...]) -> str:
    return " or ".join(KIND_NAMES[k] for k in kinds)


def check_shape(spec: AssertionSpec) -> list[str]:
    """Problems with the keys and value kinds of ``spec`` according to ``RULES``."""
    rules = RULES.get(spec.type)
    if rules is None:
        return [f"unknown assertion type {spec.type!r}{did_you_mean(spec.type, list(RULES))}"]
    problems: list[str] = []
    allowed = sorted(rules.options)
    for key in spec.options:
        if key in rules.options:
            continue
        hint = did_you_mean(str(key), [*allowed, *COMMON_KEYS])
        if not hint:
            hint = f" ({spec.type} takes " + (
                ", ".join(allowed) + ")" if allowed else "no extra keys)"
            )
        problems.append(f"unknown key {show(key)} for {spec.type}{hint}")
    for key, rule in rules.options.items():
        if key not in spec.options:
            continue
        got = spec.options[key]
        if not is_kind(got, rule.kind):
            problems.append(f"{key} must be {KIND_NAMES[rule.kind]}, got {show(got)}")
        elif rule.choices and got not in rule.choices:
            choices = " or ".join(repr(c) for c in rule.choices)
            problems.append(f"{key} must be {choices}, got {show(got)}")
        elif rule.minimum is not None and got < rule.minimum:
            problems.append(f"{key} must be >= {rule.minimum:g}, got {show(got)}")
    problems.extend(_check_value(spec, rules.value))
    return problems


def _check_value(spec: AssertionSpec, rule: ValueRule) -> list[str]:
    if spec.value is None:
        if rule.required:
            return [f"{spec.type} needs a value ({KIND_NAMES[rule.kinds[0]]})"]
        return []
    if not rule.kinds:
        return [f"{spec.type} takes no value; remove `value`"]
    if any(is_kind(spec.value, k) for k in rule.kinds):
        return []
    hint = ""
    if isinstance(spec.value, (int, float)) and {"string", "strings"} & set(rule.kinds):
        hint = " (quote it to make it a string)"
    return [f"value must be {_kinds_text(rule.kinds)}, got {show(spec.value)}{hint}"]


def option(spec: AssertionSpec, key: str) -> JSON:
    """The option ``key`` of ``spec``, or its documented default."""
    if key in spec.options:
        return spec.options[key]
    return RULES[spec.type].options[key].default


def value_or_expected(spec: AssertionSpec, case: Case) -> JSON:
    """``spec.value``, else the case's ``expected`` for types that default to it, else the type's
    default value. None when there is nothing to compare with (see ``NO_VALUE_MESSAGE``)."""
    if spec.value is not None:
        return spec.value
    rule = RULES[spec.type].value
    if rule.defaults_to_expected:
        return case.expected
    return rule.default
