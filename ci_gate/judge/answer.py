"""Reading a judge's answer: one JSON object, valid against the question's JSON Schema."""

from __future__ import annotations

import json
import re
from typing import Any

from ci_gate.assertions.structured import schema_error

_CODE_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)


class InvalidAnswer(Exception):
    """The answer is not one JSON object valid against the schema; the message says why."""


def parse_answer(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The answer's JSON object. Models often wrap JSON in a markdown code fence, which is
    accepted; prose around the object is not, because "the object somewhere in the text" could be
    a quotation of the judged output."""
    body = text.strip()
    match = _CODE_FENCE.match(body)
    if match:
        body = match.group(1).strip()
    if not body:
        raise InvalidAnswer("the answer was empty")
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidAnswer(f"the answer is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise InvalidAnswer(f"the answer is JSON {type(value).__name__}, not an object")
    problem = schema_error(schema, value, what="answer")
    if problem is not None:
        raise InvalidAnswer(f"the answer does not match the schema: {problem}")
    return value
