"""Assertions graded by a judge model: llm-rubric and context-faithfulness.

Any target of the suite can judge (``judge:`` on the assertion, else the suite's ``judge.target``).
The judge's reply must be JSON valid against a schema; one invalid reply is asked again once, and
a judge that still fails makes the record an error, never a failed case (``ci_gate.judge.ask``).
Whether a failing judged assertion may fail its case depends on the judge's calibration: see
``ci_gate.judge.calibration``; the runner marks it advisory otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ci_gate.assertions.base import AssertionResult, Output, Scoring
from ci_gate.assertions.registry import register_async
from ci_gate.assertions.retrieval import HOW_TO_RETURN
from ci_gate.assertions.spec_rules import DEFAULT_LAYERS, check_shape, option, show
from ci_gate.assertions.text import excerpt, result
from ci_gate.judge.ask import ask
from ci_gate.judge.prompts import faithfulness_question, rubric_question
from ci_gate.suite.model import JSON, AssertionSpec, Case

REASON_CHARS = 160
SHOWN_CLAIMS = 3


def judge_models(spec: AssertionSpec, default_judge: str | None) -> Sequence[str]:
    chosen = spec.options.get("judge") or default_judge
    return (chosen,) if isinstance(chosen, str) else ()


def scale_of(spec: AssertionSpec) -> int:
    scale = option(spec, "scale")
    return scale if isinstance(scale, int) else 5


def threshold_of(spec: AssertionSpec) -> int:
    threshold = option(spec, "threshold")
    return threshold if isinstance(threshold, int) else scale_of(spec) - 1


def _check_rubric(spec: AssertionSpec) -> list[str]:
    problems = check_shape(spec)
    scale, threshold = spec.options.get("scale"), spec.options.get("threshold")
    if isinstance(scale, int) and scale > 10:
        problems.append(f"scale must be at most 10, got {show(scale)}")
    if isinstance(threshold, int) and threshold > scale_of(spec):
        problems.append(
            f"threshold {threshold} is above the scale's top score {scale_of(spec)};"
            " no output could pass"
        )
    if isinstance(spec.value, str) and not spec.value.strip():
        problems.append("value (the rubric) must not be blank")
    return problems


def _reference(spec: AssertionSpec, case: Case) -> str | None:
    if option(spec, "reference") is not True or case.expected is None:
        return None
    expected: JSON = case.expected
    return expected if isinstance(expected, str) else json.dumps(expected, ensure_ascii=False)


def _reason(answer: dict[str, JSON]) -> str:
    return excerpt(str(answer.get("reason", "")), REASON_CHARS)


@register_async(
    "llm-rubric",
    layer=DEFAULT_LAYERS["llm-rubric"],
    check=_check_rubric,
    grader="judge",
    models=judge_models,
)
async def llm_rubric(
    spec: AssertionSpec, output: Output, case: Case, scoring: Scoring
) -> AssertionResult:
    """The judge scores the output from 1 to ``scale``; it passes at ``threshold`` or above. The
    score is the judge's, rescaled to [0, 1]."""
    rubric = str(spec.value)
    scale, threshold = scale_of(spec), threshold_of(spec)
    question = rubric_question(
        rubric, scale, scoring.request_text, output.text, _reference(spec, case)
    )
    answer = await ask(scoring, scoring.judge_of(spec), question)
    score = int(answer["score"])
    passed = score >= threshold
    return result(
        passed,
        (score - 1) / (scale - 1),
        f"judge scored {score}/{scale} (pass at {threshold}): {_reason(answer)}",
    )


def documents(context: JSON) -> tuple[list[str], str | None]:
    """The retrieved documents' texts, labelled with their ids, or why there are none."""
    if context is None:
        return [], f"the target returned no retrieved context: {HOW_TO_RETURN}"
    if not isinstance(context, list):
        return [], f"context is {type(context).__name__}, expected a list of documents"
    texts: list[str] = []
    for item in context:
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            ident = item.get("id")
            texts.append(f"[{ident}] {item['text']}" if ident is not None else item["text"])
    if not texts:
        return [], (
            "the retrieved context has no document text to check the answer against; return"
            " documents as objects with an id and a text"
        )
    return texts, None


@register_async(
    "context-faithfulness",
    layer=DEFAULT_LAYERS["context-faithfulness"],
    check=check_shape,
    grader="judge",
    models=judge_models,
)
async def context_faithfulness(
    spec: AssertionSpec, output: Output, case: Case, scoring: Scoring
) -> AssertionResult:
    """The judge lists the answer's claims and which the retrieved context supports; the score is
    the supported share (1.0 for an answer that makes no claims), passing at ``min``."""
    docs, problem = documents(output.extra.get("context"))
    if problem is not None:
        return result(False, 0.0, problem)
    answer = await ask(scoring, scoring.judge_of(spec), faithfulness_question(docs, output.text))
    claims = [c for c in answer["claims"] if isinstance(c, dict)]
    low = option(spec, "min")
    threshold = float(low) if isinstance(low, (int, float)) else 1.0
    if not claims:
        return result(True, 1.0, f"the answer makes no factual claims: {_reason(answer)}")
    unsupported = [str(c["claim"]) for c in claims if c.get("supported") is not True]
    share = 1.0 - len(unsupported) / len(claims)
    if not unsupported:
        return result(True, 1.0, f"all {len(claims)} claim(s) are supported by the context")
    shown = "; ".join(excerpt(c, 80) for c in unsupported[:SHOWN_CLAIMS])
    more = len(unsupported) - SHOWN_CLAIMS
    return result(
        share >= threshold,
        share,
        f"{len(unsupported)} of {len(claims)} claim(s) not supported by the context: {shown}"
        + (f" and {more} more" if more > 0 else ""),
    )
