"""The results file, in memory: frozen dataclasses mirroring ``results/schema.json``.

One ``Record`` per case and sample. A record with ``error`` set was not scored: its ``passed`` is
None and its assertions are empty, so a provider failure can never count as a quality regression.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ci_gate.run.shard import Shard

RESULTS_FORMAT = "ci-gate-results"
RESULTS_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class AssertionOutcome:
    name: str
    type: str
    passed: bool
    score: float
    weight: float
    blocking: bool
    layer: str
    tag: str | None = None
    message: str = ""
    # Why a model-graded assertion written as blocking was only advisory in this run.
    advisory: str | None = None


@dataclass(frozen=True, slots=True)
class RecordError:
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class JudgeUsage:
    """What grading one record cost: the calls made to judges and embedders for it, kept apart
    from the target's own tokens, cost and latency so that a judge never counts as the product's
    cost or latency. ``cost_usd`` is at list price, cached calls included."""

    calls: int
    cached: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    latency_ms: float


@dataclass(frozen=True, slots=True)
class Record:
    case_id: str
    sample: int
    output: str | None
    passed: bool | None
    score: float | None
    assertions: tuple[AssertionOutcome, ...]
    latency_ms: float | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    cached: bool
    attempts: int
    cache_key: str
    error: RecordError | None = None
    reused: bool = False
    model: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    judge: JudgeUsage | None = None  # set when the case has assertions that call models


@dataclass(frozen=True, slots=True)
class SpecLinks:
    behaviours: tuple[str, ...] = ()
    failure_modes: tuple[str, ...] = ()


_NO_LINKS = SpecLinks()


@dataclass(frozen=True, slots=True)
class CaseInfo:
    """What a report needs to show about a case: its inputs, expectation and per-case hash."""

    id: str
    tags: tuple[str, ...]
    group: str | None
    vars: Mapping[str, Any]
    expected: Any
    fingerprint: str
    # Links to the suite's spec: the case's own, and each assertion's by assertion name.
    behaviours: tuple[str, ...] = ()
    failure_modes: tuple[str, ...] = ()
    assertion_links: Mapping[str, SpecLinks] = field(default_factory=dict)

    def links(self) -> SpecLinks:
        """Every behaviour and failure mode the case or one of its assertions names."""
        if not (self.assertion_links or self.behaviours or self.failure_modes):
            return _NO_LINKS  # most cases: a comparison asks once per case, 50,000 times
        inner = self.assertion_links.values()
        behaviours = [*self.behaviours, *(b for x in inner for b in x.behaviours)]
        modes = [*self.failure_modes, *(f for x in inner for f in x.failure_modes)]
        return SpecLinks(tuple(dict.fromkeys(behaviours)), tuple(dict.fromkeys(modes)))


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """``suite`` hashes everything below; the components say what changed between two runs."""

    suite: str
    target: str
    prompts: Mapping[str, str]
    assertions: str
    repeats: str
    prices: str
    cases: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class GitInfo:
    commit: str | None
    branch: str | None
    dirty: bool | None


@dataclass(frozen=True, slots=True)
class Totals:
    cases: int
    records: int
    passed: int
    failed: int
    errored: int
    not_run: int
    cached: int
    reused: int
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    cost_usd_spent: float
    judge_calls: int = 0
    judge_input_tokens: int = 0
    judge_output_tokens: int = 0
    judge_cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class JudgeStatus:
    """A judged assertion in a run: its judge, and why it was advisory (None: it could block)."""

    assertion: str
    type: str
    judge: str
    model: str | None
    advisory: str | None


@dataclass(frozen=True, slots=True)
class RunInfo:
    suite_name: str
    suite_version: str
    suite_path: str
    target_id: str
    provider: str
    model: str | None
    repeats: int
    fingerprint: Fingerprint
    git: GitInfo | None
    ci_gate_version: str
    started_at: str
    finished_at: str
    duration_s: float
    status: str  # "complete" | "interrupted" | "budget_exhausted"
    stop_reason: str | None
    totals: Totals
    prices_date: str
    gate: Mapping[str, Any] = field(default_factory=dict)
    shard: Shard | None = None  # set when the run took one shard of the cases (``--shard``)
    judges: tuple[JudgeStatus, ...] = ()  # judged assertions and whether each could block
    spec: Mapping[str, Any] = field(default_factory=dict)  # the suite's spec section, as run


@dataclass(frozen=True, slots=True)
class Results:
    run: RunInfo
    cases: Mapping[str, CaseInfo]
    records: tuple[Record, ...]


def measured_latencies(records: Iterable[Record]) -> list[float]:
    """Latencies measured in the run itself: answered calls, neither cached nor reused (those
    carry the latency of the run that made the call)."""
    return [
        r.latency_ms
        for r in records
        if r.error is None and r.latency_ms is not None and not r.cached and not r.reused
    ]
