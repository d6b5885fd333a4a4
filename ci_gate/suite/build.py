"""Turning schema-valid suite data into the frozen model: targets, prompts, assertions, cases.

Input here has passed the schema, so shapes and types are known; what remains are the defaults
the format documents and the merging of ``defaults:`` into every case. Problems that need the
built objects (references, placeholders, assertion configuration) are found by ``checks``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ci_gate.errors import Problem
from ci_gate.suite.model import (
    AssertionSpec,
    Budget,
    Case,
    JudgeConfig,
    Label,
    Message,
    PairwiseConfig,
    Price,
    Prompt,
    Retry,
    Target,
)
from ci_gate.suite.yaml_source import KeyPath, format_path, line_of

# Keys of a target that have their own field; every other key is a provider option.
TARGET_FIELDS = frozenset({"id", "provider", "model", "params", "timeout_s", "cache"})
OPTION_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "openai": {"base_url": "https://api.openai.com/v1", "api_key_env": "OPENAI_API_KEY"},
    "anthropic": {"base_url": "https://api.anthropic.com", "api_key_env": "ANTHROPIC_API_KEY"},
    "http": {"method": "POST"},
    "command": {"output": "text"},
    "fake": {"default_output": "echo"},
}
# Responses of code ci-gate cannot see (http, command, python) are not cached unless asked.
CACHED_BY_DEFAULT = frozenset({"openai", "anthropic", "fake"})
LLM_PROVIDERS = frozenset({"openai", "anthropic"})
DEFAULT_MODELS: Mapping[str, str] = {"fake": "fake-model"}
ANTHROPIC_MAX_TOKENS = 1024

ASSERT_FIELDS = frozenset(
    {
        "type",
        "name",
        "value",
        "weight",
        "blocking",
        "tag",
        "layer",
        "description",
        "behaviours",
        "failure_modes",
    }
)


@dataclass(frozen=True)
class Where:
    """Where something was written: a file, its line map and the key path inside it."""

    file: str
    lines: Mapping[KeyPath, int]
    path: KeyPath = ()

    def at(self, *sub: str | int) -> Where:
        return Where(self.file, self.lines, (*self.path, *sub))

    @property
    def line(self) -> int | None:
        return line_of(self.lines, self.path)

    def problem(self, message: str, hint: str | None = None) -> Problem:
        return Problem(self.file, self.line, format_path(self.path), message, hint)

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


def build_target(raw: Mapping[str, Any], where: Where) -> Target:
    provider = raw["provider"]
    options = {**OPTION_DEFAULTS.get(provider, {})}
    options.update({k: v for k, v in raw.items() if k not in TARGET_FIELDS})
    params = dict(raw.get("params") or {})
    if provider == "anthropic":
        params.setdefault("max_tokens", ANTHROPIC_MAX_TOKENS)
    return Target(
        id=raw["id"],
        provider=provider,
        model=raw.get("model", DEFAULT_MODELS.get(provider)),
        params=params,
        options=options,
        timeout_s=float(raw.get("timeout_s", 60.0)),
        cache=bool(raw.get("cache", provider in CACHED_BY_DEFAULT)),
        line=where.line,
    )


def build_prompt(raw: Mapping[str, Any]) -> Prompt:
    if "messages" in raw:
        messages = tuple(Message(m["role"], m["content"]) for m in raw["messages"])
    else:
        system = [Message("system", raw["system"])] if "system" in raw else []
        messages = (*system, Message("user", raw["template"]))
    return Prompt(raw["id"], messages)


def spec_from_raw(raw: Mapping[str, Any], name: str | None = None) -> AssertionSpec:
    """One assertion; type-specific keys go into ``options``."""
    return AssertionSpec(
        type=raw["type"],
        name=name or raw.get("name") or raw["type"],
        value=raw.get("value"),
        options={k: v for k, v in raw.items() if k not in ASSERT_FIELDS},
        weight=float(raw.get("weight", 1.0)),
        blocking=bool(raw.get("blocking", True)),
        tag=raw.get("tag"),
        layer=raw.get("layer"),
        behaviours=tuple(raw.get("behaviours") or ()),
        failure_modes=tuple(raw.get("failure_modes") or ()),
    )


def build_assertions(
    items: list[tuple[Mapping[str, Any], Where]],
) -> tuple[tuple[AssertionSpec, ...], list[Problem]]:
    """Specs in order, named: explicit names must be unique; a defaulted name (the type) gets
    the first free suffix -2, -3... so that reports and gates can address each one."""
    problems: list[Problem] = []
    taken: dict[str, Where] = {}
    for raw, where in items:
        name = raw.get("name")
        if name is None:
            continue
        if name in taken:
            problems.append(
                where.at("name").problem(
                    f"duplicate assertion name {name!r} in this case",
                    f"first used at {taken[name]}; give each assertion its own name",
                )
            )
        taken.setdefault(name, where.at("name"))
    names: set[str] = set(taken)
    specs: list[AssertionSpec] = []
    for raw, _ in items:
        name = raw.get("name")
        if name is None:
            name, n = raw["type"], 2
            while name in names:
                name, n = f"{raw['type']}-{n}", n + 1
            names.add(name)
        specs.append(spec_from_raw(raw, name))
    return tuple(specs), problems


@dataclass(frozen=True)
class CaseDefaults:
    vars: Mapping[str, Any]
    tags: tuple[str, ...]
    asserts: tuple[tuple[Mapping[str, Any], Where], ...]
    prompt: str | None


def build_case(
    raw: Mapping[str, Any],
    where: Where,
    source: str,
    extra_tags: tuple[str, ...],
    defaults: CaseDefaults,
    extra_links: Mapping[str, Any] | None = None,
) -> tuple[Case, list[Problem]]:
    """One case with the defaults merged in; ``extra_tags`` and ``extra_links`` (behaviours and
    failure modes) come from the ``- file:`` entry that included it."""
    extra = extra_links or {}
    own = [(a, where.at("assert", i)) for i, a in enumerate(raw.get("assert") or [])]
    specs, problems = build_assertions([*defaults.asserts, *own])
    tags = _unique([*(raw.get("tags") or []), *extra_tags, *defaults.tags])
    case = Case(
        id=raw["id"],
        vars={**defaults.vars, **(raw.get("vars") or {})},
        tags=tuple(tags),
        expected=raw.get("expected"),
        assertions=specs,
        prompt=raw.get("prompt", defaults.prompt),
        group=raw.get("group"),
        source=source,
        line=where.line,
        labels=tuple(
            build_label(label, where.at("labels", i))
            for i, label in enumerate(raw.get("labels") or [])
        ),
        behaviours=tuple(_unique([*(raw.get("behaviours") or []), *extra.get("behaviours", [])])),
        failure_modes=tuple(
            _unique([*(raw.get("failure_modes") or []), *extra.get("failure_modes", [])])
        ),
    )
    return case, problems


def build_label(raw: Mapping[str, Any], where: Where) -> Label:
    return Label(
        output=raw["output"],
        passed=raw["pass"],
        assertion=raw.get("assertion"),
        context=raw.get("context"),
        line=where.line,
    )


def build_judge(raw: Mapping[str, Any]) -> JudgeConfig:
    base = JudgeConfig()
    return JudgeConfig(
        target=raw.get("target"),
        calibration=raw.get("calibration"),
        min_self_agreement=float(raw.get("min_self_agreement", base.min_self_agreement)),
        min_kappa=(
            None
            if raw.get("min_kappa", base.min_kappa) is None
            else float(raw.get("min_kappa", base.min_kappa))
        ),
        min_labels=int(raw.get("min_labels", base.min_labels)),
    )


def build_pairwise(raw: Mapping[str, Any] | None) -> PairwiseConfig | None:
    if raw is None:
        return None
    return PairwiseConfig(rubric=raw["rubric"], judge=raw.get("judge"))


def build_retry(raw: Mapping[str, Any]) -> Retry:
    base = Retry()
    return Retry(
        max_attempts=int(raw.get("max_attempts", base.max_attempts)),
        backoff_s=float(raw.get("backoff_s", base.backoff_s)),
        max_backoff_s=float(raw.get("max_backoff_s", base.max_backoff_s)),
    )


def build_budget(raw: Mapping[str, Any]) -> Budget:
    cost = raw.get("max_cost_usd")
    return Budget(
        max_cost_usd=float(cost) if cost is not None else None, max_calls=raw.get("max_calls")
    )


def build_prices(raw: Mapping[str, Any]) -> dict[str, Price]:
    return {model: Price(float(p["input"]), float(p["output"])) for model, p in raw.items()}


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
