"""Tool-call assertions: tool-called, tool-not-called, tool-args, tool-order.

They read ``Output.extra["tool_calls"]``: a list of ``{"id", "name", "arguments"}`` as the openai
and anthropic providers store it, with the arguments parsed from JSON when they parse and kept as
the model wrote them otherwise. ``python`` and ``command`` targets return that list themselves, so
the vendors' own shapes are read too: OpenAI's ``{"function": {"name", "arguments"}}`` and
Anthropic's ``{"name", "input"}``, and arguments given as a JSON string are parsed here.

Tool names and arguments come from the model: they are untrusted and appear in messages only
through ``excerpt``. Negation follows the text assertions (``not-contains``): a separate type,
``tool-not-called``, rather than a ``not:`` key.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ci_gate.assertions.base import AssertionResult, Output
from ci_gate.assertions.registry import register
from ci_gate.assertions.spec_rules import DEFAULT_LAYERS, check_shape, option
from ci_gate.assertions.structured import schema_error, schema_problems
from ci_gate.assertions.text import excerpt, no_value, result
from ci_gate.suite.model import JSON, AssertionSpec, Case

LAYER = DEFAULT_LAYERS["tool-called"]

SHOWN_NAMES = 8
NAME_CHARS = 40


@dataclass(frozen=True)
class ToolCall:
    """One call as the assertions see it. ``parsed`` is False when ``arguments`` is the raw text
    the model wrote and it is not JSON."""

    name: str | None
    arguments: JSON
    parsed: bool


def _arguments(raw: JSON) -> tuple[JSON, bool]:
    if raw is None:
        return {}, True
    if isinstance(raw, str):
        try:
            return json.loads(raw), True
        except (ValueError, RecursionError):
            return raw, False
    return raw, True


def _one_call(item: JSON) -> ToolCall:
    if not isinstance(item, dict):
        return ToolCall(None, item, False)
    fn = item.get("function")
    source = fn if isinstance(fn, dict) else item
    name = source.get("name")
    raw = source.get("arguments", source.get("input"))
    arguments, parsed = _arguments(raw)
    return ToolCall(name if isinstance(name, str) else None, arguments, parsed)


def tool_calls(output: Output) -> list[ToolCall]:
    """The calls the target made, in order; empty when it made none."""
    raw = output.extra.get("tool_calls")
    if not isinstance(raw, list):
        return []
    return [_one_call(item) for item in raw]


def show_name(name: str | None) -> str:
    return "(a call without a name)" if name is None else excerpt(name, NAME_CHARS)


def show_names(names: Sequence[str | None], sep: str = ", ") -> str:
    shown = sep.join(show_name(n) for n in names[:SHOWN_NAMES])
    more = len(names) - SHOWN_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def _no_calls(output: Output) -> AssertionResult:
    said = f"; it answered {excerpt(output.text)}" if output.text else ""
    return result(False, 0.0, f"no tool calls were made{said}")


def _wanted(value: JSON) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _duplicates(names: list[str]) -> list[str]:
    return sorted(n for n, k in Counter(names).items() if k > 1)


# --- tool-called / tool-not-called ---------------------------------------------------------------


def _check_names(spec: AssertionSpec) -> list[str]:
    problems = check_shape(spec)
    if problems or spec.value is None:
        return problems
    names = _wanted(spec.value)
    if "" in names:
        problems.append("value must not contain an empty tool name")
    twice = _duplicates(names)
    if twice:
        hint = " (use times: 2 to require two calls)" if spec.type == "tool-called" else ""
        problems.append(f"value lists {show_names(twice)} more than once{hint}")
    return problems


@register("tool-called", layer=LAYER, check=_check_names)
def tool_called(spec: AssertionSpec, output: Output, case: Case) -> AssertionResult:
    """Every named tool was called (exactly ``times`` times when set); the score is the fraction
    of names that were."""
    if spec.value is None:
        return no_value()
    wanted = _wanted(spec.value)
    calls = tool_calls(output)
    if not calls:
        return _no_calls(output)
    counts = Counter(c.name for c in calls)
    times = option(spec, "times")
    if isinstance(times, int):
        wrong = [n for n in wanted if counts[n] != times]
        if not wrong:
            each = " each" if len(wanted) > 1 else ""
            return result(True, 1.0, f"called {show_names(wanted)} {times} time(s){each}")
        detail = ", ".join(f"{show_name(n)} {counts[n]}x" for n in wrong[:SHOWN_NAMES])
        return result(
            False,
            1.0 - len(wrong) / len(wanted),
            f"expected exactly {times} call(s) of each; called {detail}"
            f" (calls made: {show_names([c.name for c in calls])})",
        )
    missing = [n for n in wanted if counts[n] == 0]
    if not missing:
        return result(True, 1.0, f"called {show_names(wanted)}")
    return result(
        False,
        1.0 - len(missing) / len(wanted),
        f"not called: {show_names(missing)} (calls made: {show_names([c.name for c in calls])})",
    )


@register("tool-not-called", layer=LAYER, check=_check_names)
def tool_not_called(spec: AssertionSpec, output: Output, case: Case) -> AssertionResult:
    """None of the named tools was called; the score is the fraction that were not."""
    if spec.value is None:
        return no_value()
    forbidden = _wanted(spec.value)
    counts = Counter(c.name for c in tool_calls(output))
    hits = [n for n in forbidden if counts[n]]
    if not hits:
        return result(True, 1.0, f"did not call {show_names(forbidden)}")
    detail = ", ".join(f"{show_name(n)} ({counts[n]}x)" for n in hits[:SHOWN_NAMES])
    return result(False, 1.0 - len(hits) / len(forbidden), f"called forbidden {detail}")


# --- tool-args -----------------------------------------------------------------------------------


def _check_args(spec: AssertionSpec) -> list[str]:
    problems = check_shape(spec)
    tool, schema = spec.options.get("tool"), spec.options.get("schema")
    if tool is None:
        problems.append("tool-args needs tool (the name of the tool whose arguments to check)")
    elif tool == "":
        problems.append("tool must not be empty")
    if schema is None:
        problems.append("tool-args needs schema (a JSON Schema for the tool's arguments)")
    if isinstance(schema, dict) and not problems:
        problems.extend(schema_problems(schema))  # each names the schema already
    return problems


@register("tool-args", layer=LAYER, check=_check_args)
def tool_args(spec: AssertionSpec, output: Output, case: Case) -> AssertionResult:
    """Every call of ``tool`` has arguments that validate against ``schema``; the score is the
    fraction of its calls that do. A tool that was not called fails."""
    tool, schema = spec.options.get("tool"), spec.options.get("schema")
    if not isinstance(tool, str) or not isinstance(schema, dict):
        return result(False, 0.0, "tool-args needs tool and schema")
    calls = tool_calls(output)
    if not calls:
        return _no_calls(output)
    mine = [c for c in calls if c.name == tool]
    if not mine:
        return result(
            False,
            0.0,
            f"{show_name(tool)} was not called (calls made: {show_names([c.name for c in calls])})",
        )
    failures: list[str] = []
    for number, call in enumerate(mine, start=1):
        if not call.parsed:
            failures.append(
                f"call {number}: arguments are not JSON: {excerpt(str(call.arguments))}"
            )
            continue
        error = schema_error(schema, call.arguments, what="arguments")
        if error is not None:
            failures.append(f"call {number}: {error}")
    valid = len(mine) - len(failures)
    if not failures:
        return result(True, 1.0, f"{len(mine)} call(s) of {show_name(tool)}: arguments valid")
    return result(
        False,
        valid / len(mine),
        f"{len(failures)} of {len(mine)} call(s) of {show_name(tool)} have invalid arguments;"
        f" {failures[0]}",
    )


# --- tool-order ----------------------------------------------------------------------------------


def _check_order(spec: AssertionSpec) -> list[str]:
    problems = check_shape(spec)
    if problems or spec.value is None:
        return problems
    if not isinstance(spec.value, list):
        problems.append("value must be a list of tool names, in the order they must be called")
    elif "" in spec.value:
        problems.append("value must not contain an empty tool name")
    return problems


def _common_length(a: Sequence[str | None], b: Sequence[str | None]) -> int:
    """Length of the longest common subsequence: how much of the order was kept."""
    row = [0] * (len(b) + 1)
    for x in a:
        prev_diag = 0
        for j, y in enumerate(b, start=1):
            prev_diag, row[j] = row[j], prev_diag + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


def _first_out_of_order(wanted: list[str], names: list[str | None]) -> str:
    at = 0
    for step, name in enumerate(wanted):
        while at < len(names) and names[at] != name:
            at += 1
        if at == len(names):
            if step == 0:
                return f"{show_name(name)} was not called"
            return f"{show_name(name)} was not called after {show_name(wanted[step - 1])}"
        at += 1
    return "the order was kept"  # not reached: the caller knows the order was broken


@register("tool-order", layer=LAYER, check=_check_order)
def tool_order(spec: AssertionSpec, output: Output, case: Case) -> AssertionResult:
    """The tools were called in this order, other calls allowed in between (``exact: true``: the
    calls are exactly this sequence). The score is the longest common subsequence of the two
    sequences over the length of the expected one (of the longer one when exact)."""
    if spec.value is None:
        return no_value()
    wanted = _wanted(spec.value)
    calls = tool_calls(output)
    if not calls:
        return _no_calls(output)
    names = [c.name for c in calls]
    common = _common_length(wanted, names)
    arrow = " → "
    if option(spec, "exact"):
        if names == wanted:
            return result(True, 1.0, f"called exactly {show_names(wanted, arrow)}")
        pairs = zip(names, wanted, strict=False)  # a length difference is reported below
        at = next((i for i, (x, y) in enumerate(pairs) if x != y), None)
        if at is not None:
            why = f"call {at + 1} is {show_name(names[at])}, expected {show_name(wanted[at])}"
        else:
            why = f"{len(names)} call(s), expected {len(wanted)}"
        return result(
            False,
            common / max(len(wanted), len(names)),
            f"expected exactly {show_names(wanted, arrow)}; got {show_names(names, arrow)} ({why})",
        )
    if common == len(wanted):
        return result(True, 1.0, f"called {show_names(wanted, arrow)} in order")
    return result(
        False,
        common / len(wanted),
        f"expected {show_names(wanted, arrow)} in order; {_first_out_of_order(wanted, names)}"
        f" (calls made: {show_names(names, arrow)})",
    )
