"""The ``spec:`` section: building it, folding its trade-offs into the gate, checking links.

The schema has checked shapes; what remains are the rules that need the whole suite: names are
unique (across behaviours and failure modes too, so a name in a report means one thing), every
link names something the spec defines, and a trade-off knows which metric must improve.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ci_gate.errors import Problem
from ci_gate.suite.build import Where
from ci_gate.suite.model import Behaviour, Case, FailureMode, Spec
from ci_gate.suite.schema_check import did_you_mean

LINK_KEYS = ("behaviours", "failure_modes")
_TRADEOFF_WHEN = ("quality.pass_rate", "quality.score")


def build_spec(raw: Mapping[str, Any] | None) -> Spec | None:
    if raw is None:
        return None
    optimise_for = raw.get("optimise_for")
    tradeoffs = []
    for item in raw.get("tradeoffs") or []:
        rule = {k: v for k, v in item.items() if k != "description"}
        if "when" not in rule and optimise_for in _TRADEOFF_WHEN:
            rule["when"] = optimise_for
        tradeoffs.append(rule)
    return Spec(
        goal=raw.get("goal"),
        optimise_for=optimise_for,
        behaviours=tuple(Behaviour(b["name"], b["description"]) for b in raw.get("behaviours", [])),
        failure_modes=tuple(
            FailureMode(f["name"], f["description"], f["severity"])
            for f in raw.get("failure_modes", [])
        ),
        tradeoffs=tuple(tradeoffs),
    )


def gate_with_tradeoffs(gate: Mapping[str, Any], spec: Spec | None) -> Mapping[str, Any]:
    """The gate section with the spec's trade-offs after its own: the gate honours both, and a
    results file records the rules that were in force."""
    if spec is None or not spec.tradeoffs:
        return gate
    own = gate.get("tradeoffs")
    return {**gate, "tradeoffs": [*(own if isinstance(own, list) else []), *spec.tradeoffs]}


def check_spec(
    spec: Spec | None,
    top: Where,
    gate: Mapping[str, Any],
    cases: tuple[tuple[Case, Where], ...],
    default_asserts: tuple[tuple[Mapping[str, Any], Where], ...],
) -> list[Problem]:
    problems: list[Problem] = []
    if spec is not None:
        problems += _unique_names(spec, top.at("spec"))
        problems += _tradeoffs(spec, top, gate)
    problems += _gate_rules(spec, top, gate)
    seen: set[str] = set()
    for problem in _links(spec, top, cases, default_asserts):
        # A link in defaults.assert is in every case: report it once.
        if str(problem) not in seen:
            seen.add(str(problem))
            problems.append(problem)
    return problems


def _unique_names(spec: Spec, where: Where) -> Iterator[Problem]:
    first: dict[str, str] = {}
    named = [("behaviours", i, b.name) for i, b in enumerate(spec.behaviours)]
    named += [("failure_modes", i, f.name) for i, f in enumerate(spec.failure_modes)]
    for key, index, name in named:
        here = f"spec.{key}[{index}]"
        if name in first:
            yield where.at(key, index, "name").problem(
                f"the name {name!r} is used twice",
                f"first at {first[name]}; every behaviour and failure mode needs its own name",
            )
        first.setdefault(name, here)


def _tradeoffs(spec: Spec, top: Where, gate: Mapping[str, Any]) -> Iterator[Problem]:
    own = gate.get("tradeoffs")
    listed = own if isinstance(own, list) else []
    gate_names = {t.get("name") for t in listed if isinstance(t, Mapping)}
    for index, rule in enumerate(spec.tradeoffs):
        where = top.at("spec", "tradeoffs", index)
        if "when" not in rule:
            yield where.problem(
                "the trade-off does not say which quality metric must improve",
                "add when: quality.pass_rate (or quality.score), or set spec.optimise_for to one"
                " of them",
            )
        if rule.get("name") is not None and rule.get("name") in gate_names:
            yield where.at("name").problem(
                f"gate.tradeoffs already has a trade-off named {rule['name']!r}",
                "keep each trade-off in one place, the spec or the gate",
            )


def _gate_rules(spec: Spec | None, top: Where, gate: Mapping[str, Any]) -> Iterator[Problem]:
    quality = gate.get("quality")
    if not isinstance(quality, Mapping):
        return
    for key in LINK_KEYS:
        rules = quality.get(key)
        if not isinstance(rules, Mapping):
            continue
        items = (spec.behaviours if key == "behaviours" else spec.failure_modes) if spec else ()
        known = [item.name for item in items]
        what = "behaviour" if key == "behaviours" else "failure mode"
        for name in rules:
            if name not in known:
                yield top.at("gate", "quality", key, name).problem(
                    f"no {what} named {name!r} in the spec",
                    did_you_mean(name, known) or f"define it under spec.{key}",
                )


def _links(
    spec: Spec | None,
    top: Where,
    cases: tuple[tuple[Case, Where], ...],
    default_asserts: tuple[tuple[Mapping[str, Any], Where], ...],
) -> Iterator[Problem]:
    known = {
        "behaviours": [b.name for b in spec.behaviours] if spec else [],
        "failure_modes": [f.name for f in spec.failure_modes] if spec else [],
    }
    defaults = len(default_asserts)
    for case, where in cases:
        yield from _names(spec, known, where, case.behaviours, case.failure_modes)
        for index, assertion in enumerate(case.assertions):
            at = (
                default_asserts[index][1]
                if index < defaults
                else where.at("assert", index - defaults)
            )
            yield from _names(spec, known, at, assertion.behaviours, assertion.failure_modes)


def _names(
    spec: Spec | None,
    known: Mapping[str, list[str]],
    where: Where,
    behaviours: tuple[str, ...],
    failure_modes: tuple[str, ...],
) -> Iterator[Problem]:
    for key, names in (("behaviours", behaviours), ("failure_modes", failure_modes)):
        for name in names:
            if name in known[key]:
                continue
            what = "behaviour" if key == "behaviours" else "failure mode"
            if spec is None:
                yield where.at(key).problem(
                    f"links to the {what} {name!r}, but the suite has no spec: section",
                    f"define it under spec.{key}; see docs/suite.md#spec",
                )
                continue
            other = "failure_modes" if key == "behaviours" else "behaviours"
            if name in known[other]:
                hint = f"{name!r} is under spec.{other}; link it with {other}: instead"
            else:
                close = did_you_mean(name, known[key])
                listed = ", ".join(known[key][:20]) or "none yet"
                hint = close or f"define it under spec.{key} (the spec's {what}s: {listed})"
            yield where.at(key).problem(f"no {what} named {name!r} in the spec", hint)
