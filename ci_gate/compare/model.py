"""What a comparison of two runs found: frozen dataclasses read by the gate and the reports.

Metric keys (stable, used by the gate's policy and by reports):
    quality.pass_rate, quality.score            overall, per case (repeats averaged first)
    quality.consistency                         verdict agreement within groups, per group
    quality.preference                          a judge's net preference for head's outputs
    assertion.<name>                            pass rate of one assertion
    tag.<tag>                                   pass rate over the cases with that tag (a slice)
    failure_mode.<name>, behaviour.<name>       the same over the cases linked to a spec name
    layer.<layer>                               pass rate of the assertions in that layer
    latency.p50, latency.p95, latency.p99       milliseconds, non-cached records only
    cost.per_case, cost.total                   dollars at list price
    tokens.input, tokens.output                 per case
    errors.rate                                 fraction of records that errored
Rates are fractions in [0, 1]; reports show them as percentages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ci_gate.results.model import RunInfo

if TYPE_CHECKING:  # preference.py builds on MetricDelta from this module
    from ci_gate.compare.preference import PreferenceSummary
    from ci_gate.compare.spec_impact import SpecImpact

MetricKind = Literal["rate", "score", "latency", "cost", "tokens", "errors"]
CaseStatus = Literal[
    "regressed",  # passed on base, fails on head
    "fixed",  # failed on base, passes on head
    "still_failing",
    "flaky",  # pass rate moved between 0 and 1 exclusive on either side (repeats)
    "errored",  # errored on head (never a regression)
    "unchanged",
]


@dataclass(frozen=True)
class MetricDelta:
    key: str
    kind: MetricKind
    label: str
    base: float | None
    head: float | None
    delta: float | None  # head - base
    low: float | None  # confidence interval on delta (None when it cannot be computed)
    high: float | None
    p_value: float | None  # two-sided; exact McNemar for pass/fail metrics
    p_worse: float | None  # one-sided: head worse than base
    n: int  # paired units (cases, or groups when clustered)
    regressed: int = 0  # cases that passed on base and fail on head
    fixed: int = 0
    higher_is_better: bool = True
    note: str | None = None


@dataclass(frozen=True)
class AssertionDiff:
    name: str
    type: str
    layer: str
    base_passed: bool | None
    head_passed: bool | None
    head_message: str


@dataclass(frozen=True)
class CaseChange:
    """One case whose outcome differs between the runs (or that errored)."""

    case_id: str
    status: CaseStatus
    tags: tuple[str, ...]
    group: str | None
    base_pass_rate: float | None  # over samples; None when every sample errored / absent
    head_pass_rate: float | None
    base_output: str | None  # first sample's output
    head_output: str | None
    vars: dict[str, object]
    expected: object
    assertions: tuple[AssertionDiff, ...]  # the assertions whose outcome changed or failed on head
    layers: tuple[str, ...]  # layers of the assertions that regressed
    severity: float  # for "worst first": drop in pass rate, then blocking, then score drop
    head_error: str | None = None


@dataclass(frozen=True)
class GroupChange:
    """One group of paraphrased cases on both runs (``ci_gate.compare.consistency``).

    Agreements are shares in [0, 1]: of the group's cases whose verdict is the group's majority
    verdict, and the mean pairwise similarity of their first paired outputs (None: not computed).
    """

    group: str
    cases: int
    base_agreement: float
    head_agreement: float
    base_passing: int  # cases whose majority verdict over paired samples is pass
    head_passing: int
    base_output_agreement: float | None = None
    head_output_agreement: float | None = None


@dataclass(frozen=True)
class ConsistencyDiff:
    """Consistency across groups: how many groups were compared and those that got less
    consistent, worst first (at most ``consistency.MAX_LISTED``; ``dropped_count`` is all)."""

    groups: int
    dropped_count: int
    dropped: tuple[GroupChange, ...]


@dataclass(frozen=True)
class Comparability:
    """What differs between the runs apart from what is under test."""

    added: tuple[str, ...]  # case ids only in head
    removed: tuple[str, ...]  # case ids only in base
    changed: tuple[str, ...]  # case ids whose per-case fingerprint differs
    compared: int  # cases paired and compared
    prompts_changed: tuple[str, ...]  # prompt ids whose text changed (added/removed included)
    target_changed: bool
    assertions_changed: bool  # the suite-wide default assertions
    repeats_changed: bool
    prices_changed: bool
    different_suite: bool  # names differ
    comparable: bool
    reasons: tuple[str, ...]  # why not comparable, when comparable is False


@dataclass(frozen=True)
class Comparison:
    base: RunInfo
    head: RunInfo
    quality: tuple[MetricDelta, ...]  # quality.pass_rate, quality.score, consistency, assertion.*
    slices: tuple[MetricDelta, ...]  # tag.*
    layers: tuple[MetricDelta, ...]  # layer.*
    latency: tuple[MetricDelta, ...]  # latency.p50/p95/p99
    cost: tuple[MetricDelta, ...]  # cost.per_case, cost.total, tokens.input, tokens.output
    errors: MetricDelta  # errors.rate
    cases: tuple[CaseChange, ...]  # worst first
    comparability: Comparability
    spent_base_usd: float = 0.0  # spent in that run (not served from a cache)
    spent_head_usd: float = 0.0
    settings: dict[str, object] = field(default_factory=dict)  # resamples, seed, confidence
    consistency: ConsistencyDiff | None = None  # None: no group with two compared cases
    preference: PreferenceSummary | None = None  # the pairwise judgement, when asked for
    spec_impact: tuple[SpecImpact, ...] = ()  # changed cases by failure mode and behaviour

    @property
    def confidence(self) -> float:
        """The intervals' confidence level (0.95 when the settings do not say)."""
        value = self.settings.get("confidence", 0.95)
        return float(value) if isinstance(value, (int, float)) else 0.95

    def metric(self, key: str) -> MetricDelta | None:
        for group in (self.quality, self.slices, self.layers, self.latency, self.cost):
            for m in group:
                if m.key == key:
                    return m
        return self.errors if key == self.errors.key else None
