"""Stable hashes of what decides a run's results, so that two runs can be compared safely.

Each component is ``sha256:<hex>`` over canonical JSON (sorted keys, no whitespace, UTF-8), so
key order, YAML formatting and comments never change a hash, and any change of meaning does.
Per-case hashes leave out the case's tags and its choice of prompt: prompts are what a pull
request changes, and changing them must not make a case incomparable with its baseline.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_gate.assertions import registry
from ci_gate.judge.prompts import PROMPT_VERSION
from ci_gate.pricing.table import lookup
from ci_gate.results.model import Fingerprint
from ci_gate.suite.build import spec_from_raw
from ci_gate.suite.model import AssertionSpec, Case, Prompt, Suite, Target

# Header names whose values are credentials: hashing them would tie results to a rotating key.
_SECRET_HEADER_WORDS = ("authorization", "cookie", "key", "token", "secret", "password")
# Options that change how a call is made, not what it answers.
_IGNORED_OPTIONS = frozenset({"timeout_s", "cache", "api_key", "concurrency"})
# Options holding paths relative to the suite file: kept relative so checkouts compare equal.
_PATH_OPTIONS = frozenset({"cwd", "path"})


def canonical(value: Any) -> str:
    return json.dumps(
        _plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical(value).encode("utf-8")).hexdigest()


def fingerprint(suite: Suite, target: Target) -> Fingerprint:
    target_hash = digest(target_identity(target))
    prompts = {p.id: digest(prompt_identity(p)) for p in suite.prompts}
    assertions = digest([spec_identity(s) for s in _default_specs(suite)])
    repeats = digest(suite.repeats)
    prices = digest(_prices(suite, target))
    graders = grader_hashes(suite)
    cases = {c.id: digest(case_identity(c, graders, suite.judge.target)) for c in suite.cases}
    whole = {
        "target": target_hash,
        "prompts": prompts,
        "assertions": assertions,
        "repeats": repeats,
        "prices": prices,
        "cases": cases,
    }
    return Fingerprint(
        suite=digest(whole),
        target=target_hash,
        prompts=prompts,
        assertions=assertions,
        repeats=repeats,
        prices=prices,
        cases=cases,
    )


def target_identity(target: Target) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key, value in target.options.items():
        if key in _IGNORED_OPTIONS:
            continue
        if key == "headers" and isinstance(value, Mapping):
            value = {k: v for k, v in value.items() if not _secret_header(str(k))}
        elif key in _PATH_OPTIONS and isinstance(value, str):
            value = _relative(value)
        options[key] = value
    if target.provider == "command":
        options.setdefault("cwd", ".")  # no cwd means the suite file's folder
    return {
        "provider": target.provider,
        "model": target.model,
        "params": target.params,
        "options": options,
    }


def prompt_identity(prompt: Prompt) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in prompt.messages]


def spec_identity(spec: AssertionSpec) -> dict[str, Any]:
    return {
        "type": spec.type,
        "name": spec.name,
        "value": spec.value,
        "options": spec.options,
        "weight": spec.weight,
        "blocking": spec.blocking,
        "tag": spec.tag,
        "layer": spec.layer,
    }


def grader_hashes(suite: Suite) -> dict[str, str]:
    """The identity of each target that judges or embeds, with the judge prompts' version: a
    different judge model or judge wording grades differently, so cases it grades differ too."""
    used = {m for c in suite.cases for s in c.assertions for m in _models(s, suite.judge.target)}
    return {
        t.id: digest({"target": target_identity(t), "prompts": PROMPT_VERSION})
        for t in suite.targets
        if t.id in used
    }


def _models(spec: AssertionSpec, default_judge: str | None) -> tuple[str, ...]:
    try:
        return registry.models_of(spec, default_judge)
    except KeyError:  # a type this version does not know: nothing to add
        return ()


def case_identity(
    case: Case, graders: Mapping[str, str] | None = None, default_judge: str | None = None
) -> dict[str, Any]:
    identity = {
        "id": case.id,
        "vars": case.vars,
        "expected": case.expected,
        "assertions": [spec_identity(s) for s in case.assertions],
        "group": case.group,
    }
    # Only cases graded by a model carry the key, so every other case keeps its hash.
    used = sorted({m for s in case.assertions for m in _models(s, default_judge)})
    if used and graders:
        identity["graders"] = {m: graders.get(m) for m in used}
    return identity


def _default_specs(suite: Suite) -> list[AssertionSpec]:
    defaults = suite.raw.get("defaults") or {}
    items = defaults.get("assert") or [] if isinstance(defaults, Mapping) else []
    # Named as in the first case (where defaults come first), so auto-suffixes match.
    first = suite.cases[0].assertions[: len(items)] if suite.cases else ()
    if len(first) == len(items):
        return list(first)
    return [spec_from_raw(raw) for raw in items if isinstance(raw, Mapping) and "type" in raw]


def _prices(suite: Suite, target: Target) -> dict[str, Any]:
    price = lookup(suite.prices, target.model)
    entry = (
        None if price is None else {"input": price.input_per_mtok, "output": price.output_per_mtok}
    )
    return {"model": target.model, "price": entry, "date": suite.prices.date}


def _secret_header(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_HEADER_WORDS)


def _relative(value: str) -> str:
    return Path(os.path.normpath(value)).as_posix()


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
