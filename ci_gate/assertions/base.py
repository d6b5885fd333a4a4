"""The assertion protocol: small functions registered by name.

An assertion sees the output and the case; it returns a pass/fail and a score in [0, 1]. It
never sees provider failures: a failed call is recorded as an error and not scored at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ci_gate.suite.model import AssertionSpec, Case

LAYERS = (
    "format",  # output format: JSON, schema, length
    "knowledge",  # knowledge / retrieval: facts in the answer
    "instructions",  # instructions / prompt: wording, style, what to say
    "tools",  # tool calls
    "safety",  # safety / refusal
    "latency",
    "cost",
)


@dataclass(frozen=True)
class Output:
    """What the target produced for one sample, as assertions see it."""

    text: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AssertionResult:
    passed: bool
    score: float
    message: str = ""

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score {self.score} outside [0, 1]")


class AssertionFn(Protocol):
    def __call__(self, spec: AssertionSpec, output: Output, case: Case) -> AssertionResult: ...


@dataclass(frozen=True)
class AssertionType:
    """A registered assertion: its function, default layer and a checker of its configuration.

    ``check`` runs at load time and returns a list of problems (messages) with the spec, so that a
    bad regex or schema is reported with the suite's line numbers before any call is made.
    """

    name: str
    fn: AssertionFn
    layer: str
    check: Callable[[AssertionSpec], list[str]]
