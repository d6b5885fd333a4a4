"""Asking a judge: one call, and one retry when the answer is not valid JSON for the schema."""

from __future__ import annotations

from typing import Any

from ci_gate.assertions.base import ScorerError, Scoring
from ci_gate.assertions.text import excerpt
from ci_gate.judge.answer import InvalidAnswer, parse_answer
from ci_gate.judge.prompts import RETRY, Question
from ci_gate.suite.model import Message


async def ask(scoring: Scoring, judge: str, question: Question) -> dict[str, Any]:
    """The judge's answer as a dict valid against ``question.schema``.

    A judge that answers badly twice raises ScorerError: the record becomes an error, because
    an unreadable verdict says nothing about the output.
    """
    first = await scoring.complete(judge, question.messages, identity=question.identity)
    try:
        return parse_answer(first, question.schema)
    except InvalidAnswer as exc:
        problem = str(exc)
    messages = (
        *question.messages,
        Message("assistant", first),
        Message("user", RETRY.format(problem=problem)),
    )
    identity = {"retry_of": question.identity, "first_answer": first}
    second = await scoring.complete(judge, messages, identity=identity)
    try:
        return parse_answer(second, question.schema)
    except InvalidAnswer as exc:
        raise ScorerError(
            "judge",
            f"judge {judge!r} gave no valid answer in two tries: {exc}"
            f" (its reply began {excerpt(second, 80)})",
        ) from None
