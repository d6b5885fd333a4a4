"""Spec coverage: which behaviours and failure modes the suite's cases actually exercise.

A spec is only as good as the cases behind it: a failure mode nobody wrote a case for is a fear
the gate cannot see. ``ci-gate validate`` prints these gaps; they are warnings, not errors, so a
team can write the spec first and the cases after.
"""

from __future__ import annotations

from dataclasses import dataclass

from ci_gate.suite.model import SEVERITIES, Behaviour, FailureMode, Suite

_LISTED = 10


@dataclass(frozen=True)
class Coverage:
    behaviours: tuple[tuple[Behaviour, int], ...]  # each with the number of cases linking it
    failure_modes: tuple[tuple[FailureMode, int], ...]
    cases: int
    unlinked: tuple[str, ...]  # case ids that link to nothing

    @property
    def gaps(self) -> int:
        return (
            sum(1 for _, n in self.behaviours if n == 0)
            + sum(1 for _, n in self.failure_modes if n == 0)
            + len(self.unlinked)
        )


def coverage(suite: Suite) -> Coverage | None:
    """None when the suite has no spec."""
    if suite.spec is None:
        return None
    counts: dict[str, int] = {}
    unlinked = []
    for case in suite.cases:
        behaviours, modes = case.links()
        for name in (*behaviours, *modes):
            counts[name] = counts.get(name, 0) + 1
        if not behaviours and not modes:
            unlinked.append(case.id)
    return Coverage(
        behaviours=tuple((b, counts.get(b.name, 0)) for b in suite.spec.behaviours),
        failure_modes=tuple((f, counts.get(f.name, 0)) for f in suite.spec.failure_modes),
        cases=len(suite.cases),
        unlinked=tuple(unlinked),
    )


def coverage_lines(found: Coverage | None) -> list[str]:
    """What ``validate`` prints: one summary line, then one ``warning:`` line per gap."""
    if found is None:
        return [
            "spec: none (say what good looks like in a spec: section, then link cases to it;"
            " see docs/suite.md#spec)"
        ]
    covered_b = sum(1 for _, n in found.behaviours if n)
    covered_f = sum(1 for _, n in found.failure_modes if n)
    linked = found.cases - len(found.unlinked)
    lines = [
        f"spec coverage: behaviours {covered_b}/{len(found.behaviours)} with cases, "
        f"failure modes {covered_f}/{len(found.failure_modes)} tested, "
        f"cases {linked}/{found.cases} linked"
    ]
    for behaviour, n in found.behaviours:
        if n == 0:
            lines.append(
                f"warning: behaviour {behaviour.name!r} has no case (add one with "
                f"behaviours: [{behaviour.name}])"
            )
    untested = [f for f, n in found.failure_modes if n == 0]
    for mode in sorted(untested, key=lambda f: SEVERITIES.index(f.severity)):
        lines.append(
            f"warning: failure mode {mode.name!r} ({mode.severity}) is never tested (add a case "
            f"with failure_modes: [{mode.name}])"
        )
    if found.unlinked:
        shown = ", ".join(found.unlinked[:_LISTED])
        more = f" and {len(found.unlinked) - _LISTED} more" if len(found.unlinked) > _LISTED else ""
        lines.append(
            f"warning: {len(found.unlinked)} case(s) link to no behaviour or failure mode: "
            f"{shown}{more}"
        )
    return lines
