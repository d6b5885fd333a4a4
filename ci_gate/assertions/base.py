"""The assertion protocol: small functions registered by name.

An assertion sees the output and the case; it returns a pass/fail and a score in [0, 1]. It
never sees provider failures: a failed call is recorded as an error and not scored at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from ci_gate.suite.model import AssertionSpec, Case, Message

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


class ScorerError(Exception):
    """Scoring could not be done: a judge or embeddings call failed, a judge never gave a valid
    answer, a custom scorer crashed. The record becomes an error (``kind``), never a failed case:
    a broken grader says nothing about the output's quality."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class Scoring(Protocol):
    """What an asynchronous assertion may use besides the output: the suite's models (judges and
    embedders, by target id, through the run's cache, budget and retries), the suite's folder and
    the environment. One per record: the usage of every call made here is recorded on it, apart
    from the target's own."""

    @property
    def case(self) -> Case: ...

    @property
    def sample(self) -> int: ...

    @property
    def request_text(self) -> str:
        """The input the target answered: its last user message, or its vars as JSON."""
        ...

    @property
    def base_dir(self) -> Path: ...

    @property
    def env(self) -> Mapping[str, str]: ...

    def judge_of(self, spec: AssertionSpec) -> str:
        """The target id that judges ``spec``: its ``judge`` option, else the suite's judge."""
        ...

    async def complete(
        self, target_id: str, messages: Sequence[Message], *, identity: Mapping[str, Any]
    ) -> str:
        """One chat call to ``target_id``; its text. ``identity`` replaces the messages in the
        cache key, for prompts that embed a per-call random part. Raises ScorerError."""
        ...

    async def embed(self, target_id: str, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text from ``target_id``'s embeddings endpoint. Raises ScorerError."""
        ...

    def advisory(self, spec: AssertionSpec) -> str | None:
        """Why a model-graded ``spec`` may not block the gate (its judge is not calibrated well
        enough), or None when it may."""
        ...


class AsyncAssertionFn(Protocol):
    async def __call__(
        self, spec: AssertionSpec, output: Output, case: Case, scoring: Scoring
    ) -> AssertionResult: ...


# What an assertion needs from the suite's targets: nothing, a judge (model-graded, subject to
# calibration) or an embeddings model.
Grader = Literal["none", "judge", "embedder"]


@dataclass(frozen=True)
class AssertionType:
    """A registered assertion: its function, default layer and a checker of its configuration.

    ``check`` runs at load time and returns a list of problems (messages) with the spec, so that a
    bad regex or schema is reported with the suite's line numbers before any call is made.
    Exactly one of ``fn`` (pure, synchronous) and ``afn`` (may call models or programs) is set.
    ``models`` names the targets a spec of this type calls, given the suite's default judge.
    """

    name: str
    fn: AssertionFn | None
    layer: str
    check: Callable[[AssertionSpec], list[str]]
    afn: AsyncAssertionFn | None = None
    grader: Grader = "none"
    models: Callable[[AssertionSpec, str | None], Sequence[str]] | None = None
