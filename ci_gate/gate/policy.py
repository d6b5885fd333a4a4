"""The gate policy: the ``gate:`` section of a suite, checked and turned into a frozen Policy.

The section was schema-checked when the suite was loaded, but it reaches the gate through a
results file, which can be edited by hand, so everything is checked again here; a problem is a
ConfigError naming the key path (``gate.quality.pass_rate.max_drop: ...``).

Amounts: ``2pt`` is percentage points (0.02 of a rate or of a 0..1 score), ``5%`` is relative to
the base run's value, a bare number is absolute in the metric's own unit (a fraction for rates,
milliseconds for latency, dollars for cost). For a floor (``min``) and the error budget a
percentage is a share (``80%`` is 0.8): there is nothing for it to be relative to.

Blocking: a rule written in the section blocks unless it says ``blocking: false``, except
slices (tags, and the spec's behaviours and failure modes), which only warn unless they say
``blocking: true``. Rules not written take defaults: pass rate may drop 2pt (blocking);
latency p50 and p95 may rise 25% (warn); cost per case may rise 20% (warn); every tag, behaviour
and failure mode may drop 5pt (warn); consistency across groups and the judge's pairwise
preference may drop 10pt (warn); at most 10% of records may error (blocking). A
quality rule with neither ``max_drop`` nor ``min`` gets ``max_drop`` 2pt (5pt for a tag, 10pt
for consistency and preference).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from ci_gate.errors import ConfigError
from ci_gate.gate.overrides import merge_overrides
from ci_gate.gate.policy_reader import Amount, Reader, kind_of

LAYER_NAMES = ("format", "knowledge", "instructions", "tools", "safety", "latency", "cost")
INCREASE_KEYS = ("latency.p50", "latency.p95", "latency.p99", "cost.per_case", "cost.total")
QUALITY_WHEN = ("quality.pass_rate", "quality.score")
VERDICTS = ("pass", "fail", "inconclusive", "error")
MAX_RESAMPLES = 1_000_000

_TOP_KEYS = (
    "alpha",
    "min_cases",
    "bootstrap",
    "quality",
    "latency",
    "cost",
    "errors",
    "tradeoffs",
    "release",
    "exit_codes",
)


@dataclass(frozen=True)
class QualityRule:
    max_drop: Amount | None
    min: Amount | None
    blocking: bool


@dataclass(frozen=True)
class IncreaseRule:
    max_increase: Amount
    blocking: bool


@dataclass(frozen=True)
class Tradeoff:
    name: str
    allow: str  # latency.p50 | latency.p95 | cost.per_case | cost.total
    up_to: Amount
    when: str  # quality.pass_rate | quality.score
    gains: Amount


def _amount(value: float, unit: Literal["pt", "%", "abs"], text: str) -> Amount:
    return Amount(value, unit, text)


DEFAULT_PASS_RATE = QualityRule(_amount(2.0, "pt", "2pt"), None, True)
DEFAULT_TAG = QualityRule(_amount(5.0, "pt", "5pt"), None, False)
# Consistency across groups (quality.consistency) and the judge's pairwise preference
# (quality.preference): warn-only unless written in the section.
DEFAULT_CONSISTENCY = QualityRule(_amount(10.0, "pt", "10pt"), None, False)
DEFAULT_PREFERENCE = QualityRule(_amount(10.0, "pt", "10pt"), None, False)
_OWN_DEFAULTS = {
    "quality.consistency": DEFAULT_CONSISTENCY,
    "quality.preference": DEFAULT_PREFERENCE,
}
DEFAULT_INCREASES = MappingProxyType(
    {
        "latency.p50": IncreaseRule(_amount(25.0, "%", "25%"), False),
        "latency.p95": IncreaseRule(_amount(25.0, "%", "25%"), False),
        "cost.per_case": IncreaseRule(_amount(20.0, "%", "20%"), False),
    }
)


@dataclass(frozen=True)
class Policy:
    """What the gate allows. ``quality`` holds the written quality rules by metric key
    (``quality.pass_rate``, ``quality.score``, ``quality.consistency``, ``assertion.<name>``,
    ``layer.<layer>``, ``tag.<tag>``); tags without a rule use ``default_tag``, consistency
    without one ``default_consistency``."""

    alpha: float = 0.05
    min_cases: int = 30
    resamples: int = 2000
    seed: int = 0
    quality: Mapping[str, QualityRule] = field(
        default_factory=lambda: MappingProxyType({"quality.pass_rate": DEFAULT_PASS_RATE})
    )
    default_tag: QualityRule = DEFAULT_TAG
    default_consistency: QualityRule = DEFAULT_CONSISTENCY
    increases: Mapping[str, IncreaseRule] = field(default_factory=lambda: DEFAULT_INCREASES)
    budget_usd: float | None = None
    error_budget: float = 0.10
    errors_blocking: bool = True
    tradeoffs: tuple[Tradeoff, ...] = ()
    release_margin: Amount | None = None  # None: the pass rate's max_drop
    release_alpha: float = 0.05
    exit_codes: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    # Where the policy came from, for reports; not part of what the policy says.
    origin: str = field(default="base", compare=False)
    section: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    overrides: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def rule_for(self, key: str) -> QualityRule | None:
        if key in self.quality:
            return self.quality[key]
        if key == "quality.consistency":
            return self.default_consistency
        if key == "quality.preference":
            return DEFAULT_PREFERENCE
        return self.default_tag if key.startswith(SLICE_PREFIXES) else None


# Sections of gate.quality that are keyed by name, and the metric prefix of each.
_SECTIONS = (
    ("assertions", "assertion"),
    ("layers", "layer"),
    ("tags", "tag"),
    ("behaviours", "behaviour"),
    ("failure_modes", "failure_mode"),
)
# Slices warn unless their rule says blocking: true.
SLICE_PREFIXES = ("tag.", "behaviour.", "failure_mode.")


def _quality_rule(
    rd: Reader, raw: Any, path: str, *, rate: bool, default: QualityRule
) -> QualityRule:
    m = rd.mapping(raw, path, ("max_drop", "min", "blocking"))
    max_drop = rd.amount(m["max_drop"], f"{path}.max_drop") if "max_drop" in m else None
    floor = rd.amount(m["min"], f"{path}.min") if "min" in m else None
    if floor is not None and rate and floor.share() > 1.0:
        raise rd.fail(f"{path}.min", f"a floor on a rate must be at most 100%, got {floor.text}")
    if max_drop is None and floor is None:
        max_drop = default.max_drop
    blocking = rd.boolean(m["blocking"], f"{path}.blocking") if "blocking" in m else None
    return QualityRule(max_drop, floor, default.blocking if blocking is None else blocking)


def _quality(rd: Reader, raw: Any) -> dict[str, QualityRule]:
    keys = (
        "pass_rate",
        "score",
        "consistency",
        "preference",
        "assertions",
        "tags",
        "layers",
        "behaviours",
        "failure_modes",
    )
    m = rd.mapping(raw, "quality", keys)
    rules: dict[str, QualityRule] = {"quality.pass_rate": DEFAULT_PASS_RATE}
    for name in ("pass_rate", "score"):
        if name in m:
            rules[f"quality.{name}"] = _quality_rule(
                rd, m[name], f"quality.{name}", rate=True, default=DEFAULT_PASS_RATE
            )
    for name in ("consistency", "preference"):
        if name in m:
            # Written, it blocks like any quality rule; its default drop stays its own.
            key = f"quality.{name}"
            written = QualityRule(_OWN_DEFAULTS[key].max_drop, None, True)
            rules[key] = _quality_rule(rd, m[name], key, rate=True, default=written)
    for section, prefix in _SECTIONS:
        if section not in m:
            continue
        allowed = LAYER_NAMES if section == "layers" else None
        sub = rd.mapping(m[section], f"quality.{section}", allowed)
        default = DEFAULT_TAG if f"{prefix}." in SLICE_PREFIXES else DEFAULT_PASS_RATE
        for name, rule in sub.items():
            rules[f"{prefix}.{name}"] = _quality_rule(
                rd, rule, f"quality.{section}.{name}", rate=True, default=default
            )
    return rules


def _increases(rd: Reader, latency: Any, cost: Any) -> tuple[dict[str, IncreaseRule], float | None]:
    rules = dict(DEFAULT_INCREASES)
    budget = None
    for section, raw, names in (
        ("latency", latency, ("p50", "p95", "p99")),
        ("cost", cost, ("per_case", "total", "budget_usd")),
    ):
        if raw is None:
            continue
        m = rd.mapping(raw, section, names)
        for name, value in m.items():
            path = f"{section}.{name}"
            if name == "budget_usd":
                budget = rd.number(value, path, 0.0, math.inf, open_high=True)
                continue
            rule = rd.mapping(value, path, ("max_increase", "blocking"))
            default_amount = (
                _amount(20.0, "%", "20%") if section == "cost" else _amount(25.0, "%", "25%")
            )
            amount = (
                rd.amount(rule["max_increase"], f"{path}.max_increase", points=False)
                if "max_increase" in rule
                else default_amount
            )
            blocking = (
                rd.boolean(rule["blocking"], f"{path}.blocking") if "blocking" in rule else True
            )
            rules[path] = IncreaseRule(amount, blocking)
    return rules, budget


def _tradeoffs(rd: Reader, raw: Any) -> tuple[Tradeoff, ...]:
    if not isinstance(raw, list):
        raise rd.fail("tradeoffs", f"expected a list of rules, got {kind_of(raw)}")
    out = []
    for i, item in enumerate(raw):
        path = f"tradeoffs[{i}]"
        m = rd.mapping(item, path, ("name", "allow", "up_to", "when", "gains"))
        for key in ("allow", "up_to", "when", "gains"):
            if key not in m:
                raise rd.fail(f"{path}.{key}", "is required (allow, up_to, when and gains)")
        allow, when = m["allow"], m["when"]
        if allow not in INCREASE_KEYS or allow == "latency.p99":
            raise rd.fail(
                f"{path}.allow", f"must be one of {INCREASE_KEYS[:2] + INCREASE_KEYS[3:]}"
            )
        if when not in QUALITY_WHEN:
            raise rd.fail(f"{path}.when", f"must be one of {QUALITY_WHEN}")
        name = m.get("name", f"{allow} for {when}")
        if not isinstance(name, str) or not name.strip():
            raise rd.fail(f"{path}.name", "expected a non-empty string")
        out.append(
            Tradeoff(
                name=name.strip(),
                allow=allow,
                up_to=rd.amount(m["up_to"], f"{path}.up_to", points=False),
                when=when,
                gains=rd.amount(m["gains"], f"{path}.gains"),
            )
        )
    return tuple(out)


def _resamples(rd: Reader, value: Any) -> int:
    resamples = rd.integer(value, "bootstrap.resamples", 100)
    if resamples > MAX_RESAMPLES:
        # Each interval holds one float per resample: a billion would exhaust the memory.
        raise rd.fail("bootstrap.resamples", f"must be at most {MAX_RESAMPLES}, got {resamples}")
    return resamples


def parse_policy(
    section: Mapping[str, Any] | None,
    *,
    overrides: Mapping[str, Any] | None = None,
    origin: str = "base",
    where: str = "gate",
) -> Policy:
    """Check ``section`` (a ``gate:`` mapping) with ``overrides`` (dotted keys) merged on top."""
    raw: Mapping[str, Any] = {} if section is None else section
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {kind_of(raw)}")
    merged, overridden = merge_overrides(raw, overrides or {}, where)
    rd = Reader(where, overridden)
    m = rd.mapping(merged, "", _TOP_KEYS)
    boot = rd.mapping(m.get("bootstrap", {}), "bootstrap", ("resamples", "seed"))
    errors = rd.mapping(m.get("errors", {}), "errors", ("max_rate", "blocking"))
    release = rd.mapping(m.get("release", {}), "release", ("margin", "alpha"))
    codes = rd.mapping(m.get("exit_codes", {}), "exit_codes", VERDICTS)
    increases, budget = _increases(rd, m.get("latency"), m.get("cost"))
    error_budget = 0.10
    if "max_rate" in errors:
        error_budget = rd.amount(errors["max_rate"], "errors.max_rate").share()
        if error_budget > 1.0:
            raise rd.fail("errors.max_rate", "an error rate is at most 100%")
    alpha_of = {
        key: rd.number(value, path, 0.0, 0.5, open_low=True, open_high=True)
        for key, value, path in (
            ("alpha", m.get("alpha", 0.05), "alpha"),
            ("release", release.get("alpha", 0.05), "release.alpha"),
        )
    }
    return Policy(
        alpha=alpha_of["alpha"],
        min_cases=rd.integer(m.get("min_cases", 30), "min_cases", 1),
        resamples=_resamples(rd, boot.get("resamples", 2000)),
        # The random generator takes no negative seed.
        seed=rd.integer(boot.get("seed", 0), "bootstrap.seed", 0, 2**63 - 1),
        quality=MappingProxyType(
            _quality(rd, m["quality"])
            if "quality" in m
            else {"quality.pass_rate": DEFAULT_PASS_RATE}
        ),
        increases=MappingProxyType(increases),
        budget_usd=budget,
        error_budget=error_budget,
        errors_blocking=rd.boolean(errors.get("blocking", True), "errors.blocking"),
        tradeoffs=_tradeoffs(rd, m["tradeoffs"]) if "tradeoffs" in m else (),
        release_margin=rd.amount(release["margin"], "release.margin")
        if "margin" in release
        else None,
        release_alpha=alpha_of["release"],
        exit_codes=MappingProxyType(
            {k: rd.integer(v, f"exit_codes.{k}", 0, 255) for k, v in codes.items()}
        ),
        origin=origin,
        section=raw,
        overrides=dict(overrides or {}),
    )
