"""``SampleScoring``: what the assertions of one record may call, and what those calls cost."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ci_gate.assertions.base import ScorerError
from ci_gate.results.model import JudgeUsage
from ci_gate.run.graders import Graders
from ci_gate.suite.model import AssertionSpec, Case, Message


@dataclass(frozen=True)
class ScoringSetup:
    """The run-wide part: graders, the suite's judge, and which judged assertions are advisory."""

    graders: Graders
    default_judge: str | None
    base_dir: Path
    env: Mapping[str, str]
    advisory: Callable[[AssertionSpec], str | None] = field(default=lambda spec: None)


@dataclass
class SampleScoring:
    """Implements ``ci_gate.assertions.base.Scoring`` for one record."""

    setup: ScoringSetup
    case: Case
    sample: int
    request_text: str
    calls: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0
    latency_ms: float = 0.0

    @property
    def base_dir(self) -> Path:
        return self.setup.base_dir

    @property
    def env(self) -> Mapping[str, str]:
        return self.setup.env

    def judge_of(self, spec: AssertionSpec) -> str:
        chosen = spec.options.get("judge") or self.setup.default_judge
        if not isinstance(chosen, str):  # the suite loader requires a judge for these
            raise ScorerError("config", f"assertion {spec.name!r} has no judge target")
        return chosen

    def advisory(self, spec: AssertionSpec) -> str | None:
        return self.setup.advisory(spec)

    def _count(
        self,
        cached: bool,
        cost: float | None,
        latency_ms: float,
        input_tokens: int | None,
        output_tokens: int | None,
    ) -> None:
        self.calls += 1
        self.cached += int(cached)
        self.input_tokens += input_tokens or 0
        self.output_tokens += output_tokens or 0
        self.latency_ms += latency_ms
        # An unknown price makes the total unknown rather than silently low.
        self.cost = None if self.cost is None or cost is None else self.cost + cost

    async def complete(
        self, target_id: str, messages: Sequence[Message], *, identity: Mapping[str, Any]
    ) -> str:
        got = await self.setup.graders.complete(
            target_id, self.case.id, self.sample, messages, identity
        )
        r = got.response
        self._count(got.cached, got.cost_usd, r.latency_ms, r.input_tokens, r.output_tokens)
        return r.output

    async def embed(self, target_id: str, texts: Sequence[str]) -> list[list[float]]:
        got = await self.setup.graders.embed(target_id, texts)
        e = got.embeddings
        self._count(got.cached, got.cost_usd, e.latency_ms, e.input_tokens, 0)
        return e.vectors

    def usage(self) -> JudgeUsage | None:
        if self.calls == 0:
            return None
        return JudgeUsage(
            calls=self.calls,
            cached=self.cached,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cost_usd=None if self.cost is None else round(self.cost, 10),
            latency_ms=round(self.latency_ms, 3),
        )
