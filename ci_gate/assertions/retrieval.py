"""Retrieval assertions: context-recall and context-precision.

They read the documents a target says it retrieved, ``Output.extra["context"]``: a ``python`` or
``command`` target returns it as ``context`` beside ``output``, an ``http`` target names it with
``context_path``. Two shapes are understood, and may be mixed:

- a list of strings, each a document id: ``["refund-policy", "shipping"]``;
- a list of objects with an ``id`` (a string or an integer) and anything else:
  ``[{"id": "refund-policy", "text": "...", "score": 0.82}]``.

``value`` lists the ids of the documents that should be retrieved. Recall is the fraction of them
that were; precision is the fraction of the retrieved documents (each id counted once) that are
among them. A target that returns no context fails with a message saying how to return it: the
openai and anthropic targets call a model directly and cannot. Ids come from the team's code but
may echo model text, so they appear in messages only through ``excerpt``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ci_gate.assertions.base import AssertionResult, Output
from ci_gate.assertions.registry import register
from ci_gate.assertions.spec_rules import DEFAULT_LAYERS, check_shape, option, show
from ci_gate.assertions.text import excerpt, no_value, result
from ci_gate.suite.model import JSON, AssertionSpec, Case

LAYER = DEFAULT_LAYERS["context-recall"]

HOW_TO_RETURN = (
    "return the retrieved documents as `context` (python and command targets: a `context` list"
    " beside `output`; http targets: set context_path; see docs/suite.md, Retrieved context)"
)
SHOWN_IDS = 6
ID_CHARS = 40


@dataclass(frozen=True)
class Retrieved:
    """The distinct document ids in retrieval order, or why the context could not be read."""

    ids: tuple[str, ...] = ()
    problem: str | None = None


def _item_id(item: JSON) -> str | None:
    if isinstance(item, dict):
        item = item.get("id")
    if isinstance(item, str):
        return item
    if isinstance(item, int) and not isinstance(item, bool):
        return str(item)
    return None


def retrieved(output: Output) -> Retrieved:
    """The ids of the documents in ``output.extra["context"]``."""
    context = output.extra.get("context")
    if context is None:
        return Retrieved(problem=f"the target returned no retrieved context: {HOW_TO_RETURN}")
    if not isinstance(context, list):
        return Retrieved(
            problem=f"context is {type(context).__name__}, expected a list of document ids or"
            " of objects with an id"
        )
    ids: list[str] = []
    for index, item in enumerate(context):
        ident = _item_id(item)
        if ident is None:
            kind = "an object without an id" if isinstance(item, dict) else type(item).__name__
            return Retrieved(
                problem=f"context[{index}] is {kind}; each item must be a document id or an"
                " object with an id (a string or an integer)"
            )
        ids.append(ident)
    return Retrieved(tuple(dict.fromkeys(ids)))


def show_ids(ids: Sequence[str]) -> str:
    shown = ", ".join(excerpt(i, ID_CHARS) for i in ids[:SHOWN_IDS])
    more = len(ids) - SHOWN_IDS
    return (shown or "none") + (f" and {more} more" if more > 0 else "")


def _expected(value: JSON) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _check(spec: AssertionSpec) -> list[str]:
    problems = check_shape(spec)
    low = spec.options.get("min")
    if spec.type == "context-precision" and low is None:
        problems.append(
            "context-precision needs min (the lowest acceptable precision, e.g. min: 0.5);"
            " it depends on how many documents the retriever returns"
        )
    elif isinstance(low, (int, float)) and not isinstance(low, bool) and low > 1:
        problems.append(f"min must be between 0 and 1, got {show(low)}")
    if spec.value is not None and not problems:
        ids = _expected(spec.value)
        if "" in ids:
            problems.append("value must not contain an empty document id")
        twice = sorted(i for i, k in Counter(ids).items() if k > 1)
        if twice:
            problems.append(f"value lists {show_ids(twice)} more than once")
    return problems


def _threshold(spec: AssertionSpec) -> float:
    low = option(spec, "min")
    return float(low) if isinstance(low, (int, float)) else 1.0


@register("context-recall", layer=LAYER, check=_check)
def context_recall(spec: AssertionSpec, output: Output, case: Case) -> AssertionResult:
    """At least ``min`` (default 1.0: all) of the expected documents were retrieved."""
    if spec.value is None:
        return no_value()
    got = retrieved(output)
    if got.problem is not None:
        return result(False, 0.0, got.problem)
    expected = _expected(spec.value)
    found = [i for i in expected if i in got.ids]
    missing = [i for i in expected if i not in got.ids]
    recall, low = len(found) / len(expected), _threshold(spec)
    summary = f"recall {recall:.2f} ({len(found)} of {len(expected)} expected documents retrieved)"
    if not got.ids:
        return result(False, 0.0, "the target retrieved no documents (context is empty)")
    if recall >= low:
        return result(True, recall, summary)
    return result(
        False,
        recall,
        f"{summary}, below min {low:g}: missing {show_ids(missing)}"
        f" (retrieved {show_ids(got.ids)})",
    )


@register("context-precision", layer=LAYER, check=_check)
def context_precision(spec: AssertionSpec, output: Output, case: Case) -> AssertionResult:
    """At least ``min`` of the retrieved documents are expected ones."""
    if spec.value is None:
        return no_value()
    got = retrieved(output)
    if got.problem is not None:
        return result(False, 0.0, got.problem)
    if not got.ids:
        return result(False, 0.0, "the target retrieved no documents (context is empty)")
    expected = set(_expected(spec.value))
    relevant = [i for i in got.ids if i in expected]
    extra = [i for i in got.ids if i not in expected]
    precision, low = len(relevant) / len(got.ids), _threshold(spec)
    summary = (
        f"precision {precision:.2f} ({len(relevant)} of {len(got.ids)} retrieved documents"
        " expected)"
    )
    if precision >= low:
        return result(True, precision, summary)
    return result(False, precision, f"{summary}, below min {low:g}: not expected {show_ids(extra)}")
