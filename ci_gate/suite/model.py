"""The validated form of a suite file: frozen dataclasses built once, at the edge, by ``load``.

Everything downstream (runner, providers, assertions, fingerprint, gate) reads these and never
the raw YAML. Mappings are ``types.MappingProxyType`` or plain dicts that nobody mutates; JSON-like
values (``JSON``) are whatever YAML/JSON produced (str, int, float, bool, None, list, dict).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

JSON = Any

SUITE_FORMAT_VERSION = 1

ProviderKind = Literal["openai", "anthropic", "http", "command", "python", "fake"]


@dataclass(frozen=True)
class Retry:
    """Retry policy for provider calls (429, 5xx, connection errors, timeouts)."""

    max_attempts: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0


@dataclass(frozen=True)
class Target:
    """What is evaluated: a provider with its settings.

    ``options`` holds the provider-specific keys exactly as validated by the schema, e.g. for
    ``openai``: ``base_url``, ``api_key_env``; for ``http``: ``url``, ``method``, ``headers``,
    ``body`` (template), ``output_path``; for ``command``: ``command`` (list), ``cwd``; for
    ``python``: ``function`` (``module:function``), ``path`` (extra sys.path entry); for
    ``fake``: ``outputs``, ``default_output``, ``latency_ms``, ``error_rate``, ``seed``.
    ``params`` are the sampling parameters sent to the model (temperature, max_tokens, ...).
    """

    id: str
    provider: ProviderKind
    model: str | None
    params: Mapping[str, JSON]
    options: Mapping[str, JSON]
    timeout_s: float = 60.0
    cache: bool = True
    line: int | None = None


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class Prompt:
    """A prompt template: chat messages whose contents may use ``{{ var }}`` placeholders."""

    id: str
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class AssertionSpec:
    """One assertion as configured. ``type`` names a registered assertion.

    ``value`` is the assertion's main argument (the expected text, regex, schema, number...);
    ``options`` holds the type-specific extras (``case_sensitive``, ``mode``, ``tolerance``,
    ``min``, ``max`` ...). ``layer`` is where to intervene when it regresses; None means the
    default layer of the assertion type.
    """

    type: str
    name: str
    value: JSON = None
    options: Mapping[str, JSON] = field(default_factory=dict)
    weight: float = 1.0
    blocking: bool = True
    tag: str | None = None
    layer: str | None = None
    # Names from the suite's spec; links, never part of what the assertion checks.
    behaviours: tuple[str, ...] = ()
    failure_modes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Label:
    """A human verdict on one output, for calibrating a judged assertion (``ci-gate calibrate``).

    ``assertion`` names the judged assertion it is for (None: the case's only one); ``context``
    is the retrieved context to show a judge that checks an answer against it.
    """

    output: str
    passed: bool
    assertion: str | None = None
    context: JSON = None
    line: int | None = None


@dataclass(frozen=True)
class Case:
    """One eval case. ``id`` is stable across runs and unique in the suite."""

    id: str
    vars: Mapping[str, JSON]
    tags: tuple[str, ...]
    expected: JSON
    assertions: tuple[AssertionSpec, ...]
    prompt: str | None
    group: str | None
    source: str
    line: int | None = None
    labels: tuple[Label, ...] = ()
    # Links to the suite's spec: the case's own, its file's and its assertions' (see ``links``).
    behaviours: tuple[str, ...] = ()
    failure_modes: tuple[str, ...] = ()

    def links(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Every behaviour and failure mode the case or any of its assertions names."""
        behaviours = [*self.behaviours, *(b for a in self.assertions for b in a.behaviours)]
        modes = [*self.failure_modes, *(f for a in self.assertions for f in a.failure_modes)]
        return tuple(dict.fromkeys(behaviours)), tuple(dict.fromkeys(modes))


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens."""

    input_per_mtok: float
    output_per_mtok: float


@dataclass(frozen=True)
class PriceTable:
    prices: Mapping[str, Price]
    date: str
    source: str


@dataclass(frozen=True)
class Budget:
    max_cost_usd: float | None = None
    max_calls: int | None = None


@dataclass(frozen=True)
class JudgeConfig:
    """The ``judge:`` section: the default judge and when judged assertions may block the gate.

    A judged assertion blocks only when ``calibration`` (a file written by ``ci-gate calibrate``,
    relative to the suite) holds a calibration of it, with this judge and rubric, that meets
    every threshold; otherwise it is advisory. ``min_kappa`` None means labels are not required.
    """

    target: str | None = None
    calibration: str | None = None
    min_self_agreement: float = 0.8
    min_kappa: float | None = 0.6
    min_labels: int = 10


@dataclass(frozen=True)
class PairwiseConfig:
    """The ``pairwise:`` section: a judge picks the better of the base and head outputs."""

    rubric: str
    judge: str | None = None


Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")  # worst first


@dataclass(frozen=True)
class Behaviour:
    name: str
    description: str


@dataclass(frozen=True)
class FailureMode:
    name: str
    description: str
    severity: Severity


@dataclass(frozen=True)
class Spec:
    """The ``spec:`` section: what good looks like, in the team's words.

    ``tradeoffs`` are the accepted trade-offs as gate rules (``when`` filled in from
    ``optimise_for``); the loader adds them to the gate's own, so the gate honours them.
    """

    goal: str | None
    optimise_for: str | None
    behaviours: tuple[Behaviour, ...]
    failure_modes: tuple[FailureMode, ...]
    tradeoffs: tuple[Mapping[str, JSON], ...] = ()

    def behaviour(self, name: str) -> Behaviour | None:
        return next((b for b in self.behaviours if b.name == name), None)

    def failure_mode(self, name: str) -> FailureMode | None:
        return next((f for f in self.failure_modes if f.name == name), None)


@dataclass(frozen=True)
class GateConfig:
    """The ``gate:`` section as validated JSON; interpreted by ``ci_gate.gate``."""

    raw: Mapping[str, JSON]


@dataclass(frozen=True)
class Suite:
    path: str
    name: str
    version: str
    description: str | None
    targets: tuple[Target, ...]
    default_target: str
    prompts: tuple[Prompt, ...]
    cases: tuple[Case, ...]
    repeats: int
    concurrency: int
    retry: Retry
    budget: Budget
    prices: PriceTable
    gate: GateConfig
    raw: Mapping[str, JSON] = field(repr=False, default_factory=dict)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    pairwise: PairwiseConfig | None = None
    spec: Spec | None = None

    def target(self, target_id: str | None = None) -> Target:
        wanted = target_id or self.default_target
        for t in self.targets:
            if t.id == wanted:
                return t
        raise KeyError(wanted)

    def prompt(self, prompt_id: str) -> Prompt:
        for p in self.prompts:
            if p.id == prompt_id:
                return p
        raise KeyError(prompt_id)
