"""What a case is expected to cost a shard, so that ``--shard`` splits work, not case counts.

A case's weight is, in characters, what its calls send and read back: the rendered prompt plus an
allowance for the answer, once for the target and once more for every judge or embedder call its
assertions make, times the repeats. Characters stand in for tokens and time alike: both grow with
them, and every job of a matrix computes the same integers from the same suite, with no clock or
randomness, so the jobs agree on the split without talking to each other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ci_gate.assertions import registry
from ci_gate.suite.model import Case, Suite
from ci_gate.suite.template import render_messages

# What reading an answer back and scoring it weighs, beyond the prompt: a short answer's worth.
ANSWER_CHARS = 400


def _prompt_chars(suite: Suite, case: Case) -> int:
    if case.prompt is None:  # the vars are the request (python, command and http targets)
        return len(json.dumps(dict(case.vars), default=str))
    return sum(len(m.content) for m in render_messages(suite, case))


def _model_calls(suite: Suite, case: Case) -> int:
    """Calls per sample: the target's, and one per judge or embedder an assertion calls."""
    return 1 + sum(len(registry.models_of(s, suite.judge.target)) for s in case.assertions)


def case_costs(suite: Suite, cases: Sequence[Case], repeats: int) -> list[int]:
    return [
        (_prompt_chars(suite, c) + ANSWER_CHARS) * _model_calls(suite, c) * repeats for c in cases
    ]
