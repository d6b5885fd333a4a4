"""Cross-checks of a built suite: unique ids, references, placeholders, assertion configuration.

These are the mistakes a JSON Schema cannot see. Each is reported where it was written, with a
did-you-mean when a name is close to an existing one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ci_gate.assertions import registry
from ci_gate.assertions.spec_rules import VALUE_DEFAULTS_TO_EXPECTED
from ci_gate.errors import Problem
from ci_gate.providers.fake_script import script_problems
from ci_gate.suite.build import LLM_PROVIDERS, Where, spec_from_raw
from ci_gate.suite.model import (
    AssertionSpec,
    Case,
    JudgeConfig,
    PairwiseConfig,
    Prompt,
    Target,
)
from ci_gate.suite.schema_check import did_you_mean, show
from ci_gate.suite.template import MissingValue, lookup, placeholders

# What an http target's templates can see (see ci_gate.providers.http_target).
HTTP_TEMPLATE_ROOTS = ("vars", "messages", "prompt", "case_id", "sample", "params", "env")


@dataclass(frozen=True)
class Draft:
    """A suite's built parts with where each was written."""

    top: Where
    targets: tuple[tuple[Target, Where], ...]
    prompts: tuple[tuple[Prompt, Where], ...]
    cases: tuple[tuple[Case, Where], ...]
    default_asserts: tuple[tuple[Mapping[str, Any], Where], ...]
    default_target: str | None
    default_prompt: str | None
    gate: Mapping[str, Any]
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    pairwise: PairwiseConfig | None = None


def check_all(draft: Draft) -> list[Problem]:
    problems: list[Problem] = []
    problems += _unique("target", [(t.id, w) for t, w in draft.targets])
    problems += _unique("prompt", [(p.id, w) for p, w in draft.prompts])
    problems += _unique("case", [(c.id, w) for c, w in draft.cases])
    problems += _references(draft)
    problems += _llm_prompts(draft)
    problems += _placeholders(draft)
    problems += _assertions(draft)
    for target, where in draft.targets:
        if target.provider == "http":
            problems += _http_templates(target, where)
        elif target.provider == "fake":
            problems += _fake(target, where, {c.id for c, _ in draft.cases})
    problems += _gate_names(draft)
    problems += _graders(draft)
    problems += _labels(draft)
    return problems


def _unique(kind: str, items: list[tuple[str, Where]]) -> Iterator[Problem]:
    first: dict[str, Where] = {}
    for ident, where in items:
        if ident in first:
            yield where.at("id").problem(
                f"duplicate {kind} id {ident!r}",
                f"first defined at {first[ident].at('id')}; {kind} ids must be unique",
            )
        else:
            first[ident] = where


def _missing_ref(where: Where, kind: str, name: str, known: list[str]) -> Problem:
    listing = f"{kind}s: {', '.join(known)}" if known else f"the suite has no {kind}s"
    close = did_you_mean(name, known)
    return where.problem(f"unknown {kind} {name!r}", f"{close} {listing}" if close else listing)


def _references(draft: Draft) -> Iterator[Problem]:
    target_ids = [t.id for t, _ in draft.targets]
    prompt_ids = [p.id for p, _ in draft.prompts]
    if draft.default_target is not None and draft.default_target not in target_ids:
        where = draft.top.at("default_target")
        yield _missing_ref(where, "target", draft.default_target, target_ids)
    if draft.default_prompt is not None and draft.default_prompt not in prompt_ids:
        where = draft.top.at("defaults", "prompt")
        yield _missing_ref(where, "prompt", draft.default_prompt, prompt_ids)
    for case, where in draft.cases:
        known = case.prompt is None or case.prompt in prompt_ids
        if not known and case.prompt != draft.default_prompt:
            yield _missing_ref(where.at("prompt"), "prompt", str(case.prompt), prompt_ids)


def _grader_only(draft: Draft) -> set[str]:
    """Targets named only as judges or embedders: they are sent ci-gate's own prompts."""
    named = {draft.judge.target, draft.pairwise.judge if draft.pairwise else None}
    for raw, _ in draft.default_asserts:
        named |= {raw.get("judge"), raw.get("embedder")}
    for case, _ in draft.cases:
        named |= {s.options.get("judge") for s in case.assertions}
        named |= {s.options.get("embedder") for s in case.assertions}
    default = draft.default_target or (draft.targets[0][0].id if draft.targets else None)
    return {n for n in named if isinstance(n, str) and n != default}


def _llm_prompts(draft: Draft) -> Iterator[Problem]:
    graders = _grader_only(draft)
    llm = [(t, w) for t, w in draft.targets if t.provider in LLM_PROVIDERS and t.id not in graders]
    if not llm:
        return
    target, where = llm[0]
    if not draft.prompts:
        yield where.problem(
            f"{target.provider} target {target.id!r} needs a prompt, but the suite has no prompts",
            "add a 'prompts:' section, e.g. - {id: main, template: \"{{ question }}\"}",
        )
        return
    for case, case_where in draft.cases:
        if case.prompt is None:
            yield case_where.problem(
                f"case {case.id!r} has no prompt, but {target.provider} target "
                f"{target.id!r} needs one",
                "set 'prompt:' on the case or 'defaults.prompt'",
            )


def _placeholders(draft: Draft) -> Iterator[Problem]:
    prompts = {p.id: p for p, _ in draft.prompts}
    for case, where in draft.cases:
        prompt = prompts.get(case.prompt) if case.prompt is not None else None
        if prompt is None:
            continue
        reported: set[str] = set()
        for message in prompt.messages:
            for name in sorted(placeholders(message.content)):
                if name in reported:
                    continue
                try:
                    lookup(case.vars, name)
                except MissingValue:
                    reported.add(name)
                    yield where.problem(
                        f"prompt {prompt.id!r} uses {{{{ {name} }}}} but case {case.id!r} "
                        f"has no var {name.split('.')[0]!r}"
                        if name.split(".")[0] not in case.vars
                        else f"prompt {prompt.id!r} uses {{{{ {name} }}}} but case "
                        f"{case.id!r} has no such value",
                        "add it to the case's vars or to defaults.vars",
                    )


def _assertions(draft: Draft) -> Iterator[Problem]:
    known = _registered()
    for raw, where in draft.default_asserts:
        yield from _check_spec(spec_from_raw(raw), where, known)
    n_defaults = len(draft.default_asserts)
    for case, where in draft.cases:
        for index, spec in enumerate(case.assertions):
            own = index >= n_defaults
            at = where.at("assert", index - n_defaults) if own else where
            if own:
                yield from _check_spec(spec, at, known)
            fallback = spec.type in VALUE_DEFAULTS_TO_EXPECTED and spec.value is None
            if fallback and case.expected is None:
                origin = "" if own else f" (from defaults.assert[{index}])"
                yield at.problem(
                    f"assertion {spec.name!r}{origin} has no value and case {case.id!r} "
                    "has no expected",
                    "set 'value:' on the assertion or 'expected:' on the case",
                )


def _registered() -> list[str]:
    try:
        return registry.names()
    except ImportError:  # the built-in types failed to import: every type looks unknown
        return []


def _check_spec(spec: AssertionSpec, where: Where, known: list[str]) -> Iterator[Problem]:
    if spec.type not in known:
        close = did_you_mean(spec.type, known)
        listing = "types: " + ", ".join(known)
        yield where.at("type").problem(
            f"unknown assertion type {spec.type!r}", f"{close} {listing}" if close else listing
        )
        return
    try:
        messages = registry.check_spec(spec)
    except Exception as exc:  # a checker bug must not hide the suite's other problems
        messages = [f"cannot check this assertion ({type(exc).__name__}: {exc})"]
    for message in messages:
        yield where.problem(" ".join(str(message).split()))


def _strings(
    value: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    if isinstance(value, str):
        yield value, path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _http_templates(target: Target, where: Where) -> Iterator[Problem]:
    for key in ("url", "headers", "body"):
        for text, path in _strings(target.options.get(key), (key,)):
            for name in sorted(placeholders(text)):
                root = name.split(".")[0]
                if root in HTTP_TEMPLATE_ROOTS:
                    continue
                close = f"{{{{ vars.{name} }}}}" if root not in ("var", "input") else None
                yield where.at(*path).problem(
                    f"unknown placeholder {{{{ {name} }}}}",
                    (f"did you mean {close}? " if close else "")
                    + "http templates see: "
                    + ", ".join(HTTP_TEMPLATE_ROOTS),
                )


def _fake(target: Target, where: Where, case_ids: set[str]) -> Iterator[Problem]:
    for index, rule in enumerate(target.options.get("rules") or []):
        try:
            re.compile(rule["match"])
        except re.error as exc:
            yield where.at("rules", index, "match").problem(
                f"invalid regular expression {show(rule['match'])}: {exc}",
                "use Python regex syntax",
            )
        yield from _fake_script(where.at("rules", index, "output"), rule.get("output"))
    outputs = target.options.get("outputs") or {}
    for case_id in outputs:
        if case_id not in case_ids:
            close = did_you_mean(case_id, sorted(case_ids))
            yield where.at("outputs", case_id).problem(
                f"no case has the id {case_id!r}", close or "outputs are keyed by case id"
            )
        yield from _fake_script(where.at("outputs", case_id), outputs[case_id])
    if "default_output" in target.options:
        yield from _fake_script(where.at("default_output"), target.options["default_output"])


def _fake_script(where: Where, value: Any) -> Iterator[Problem]:
    """What the schema cannot say as plainly about a scripted output (see fake_script)."""
    for problem in script_problems(value):
        yield where.at(*problem.path).problem(problem.message, problem.hint)


def _gate_names(draft: Draft) -> Iterator[Problem]:
    quality = draft.gate.get("quality") or {}
    names = sorted({a.name for c, _ in draft.cases for a in c.assertions})
    tags = sorted({t for c, _ in draft.cases for t in c.tags})
    for key, known, kind in (("assertions", names, "assertion"), ("tags", tags, "tag")):
        for name in quality.get(key) or {}:
            if name not in known:
                close = did_you_mean(name, known)
                yield draft.top.at("gate", "quality", key, name).problem(
                    f"no case has the {kind} {name!r}",
                    close or f"the suite's {kind}s: {', '.join(known[:20]) or 'none'}",
                )


def _target_ref(draft: Draft, where: Where, target_id: str, role: str) -> Iterator[Problem]:
    known = [t.id for t, _ in draft.targets]
    if target_id not in known:
        close = did_you_mean(target_id, known)
        yield where.problem(
            f"no target has the id {target_id!r} (named as {role})",
            close or f"the suite's targets: {', '.join(known)}",
        )


def _graders(draft: Draft) -> Iterator[Problem]:
    """Judges and embedders name targets of the suite; a judged assertion has a judge."""
    default = draft.judge.target
    if default is not None:
        yield from _target_ref(draft, draft.top.at("judge", "target"), default, "judge.target")
    if draft.pairwise is not None:
        chosen = draft.pairwise.judge or default
        where = draft.top.at("pairwise")
        if chosen is None:
            yield where.problem(
                "pairwise needs a judge", "set pairwise.judge or judge.target to a target id"
            )
        elif draft.pairwise.judge is not None:
            yield from _target_ref(draft, where.at("judge"), chosen, "pairwise.judge")
    known = _registered()
    specs = [(spec_from_raw(raw), where) for raw, where in draft.default_asserts]
    n_defaults = len(draft.default_asserts)
    for case, where in draft.cases:
        own = case.assertions[n_defaults:]
        specs += [(spec, where.at("assert", i)) for i, spec in enumerate(own)]
    for spec, at in specs:
        if spec.type not in known:
            continue
        if registry.is_judged(spec) and not registry.models_of(spec, default):
            yield at.problem(
                f"{spec.type} assertion {spec.name!r} has no judge",
                "set judge: on the assertion, or judge.target in the suite",
            )
        for key in ("judge", "embedder"):
            named = spec.options.get(key)
            if isinstance(named, str):
                yield from _target_ref(draft, at.at(key), named, f"the {key}")


def _labels(draft: Draft) -> Iterator[Problem]:
    """Labels name one of their case's judged assertions (or the only one)."""
    known = _registered()
    if not known:
        return
    for case, where in draft.cases:
        judged = [s.name for s in case.assertions if s.type in known and registry.is_judged(s)]
        for index, label in enumerate(case.labels):
            at = where.at("labels", index)
            if not judged:
                yield at.problem(
                    f"case {case.id!r} has labels but no judged assertion (llm-rubric,"
                    " context-faithfulness)",
                    "labels calibrate a judge; remove them or add a judged assertion",
                )
                break
            if label.assertion is None:
                if len(judged) > 1:
                    yield at.problem(
                        f"case {case.id!r} has {len(judged)} judged assertions; say which one"
                        " this label is for",
                        f"add assertion: one of {', '.join(judged)}",
                    )
            elif label.assertion not in judged:
                close = did_you_mean(label.assertion, judged)
                yield at.at("assertion").problem(
                    f"case {case.id!r} has no judged assertion named {label.assertion!r}",
                    close or f"its judged assertions: {', '.join(judged)}",
                )
