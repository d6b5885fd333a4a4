"""The changed cases in the spec's words: for each failure mode and behaviour, what moved.

A case counts under a name when the case itself links to it, or when one of its assertions
that links to it moved the same way as the case (went from passing to failing for a case that
regressed, the other way for one that was fixed). An assertion that links to "invents a refund
policy" and still passes does not make a regression in tone count against that failure mode.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ci_gate.compare.model import CaseChange
from ci_gate.results.model import CaseInfo

SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True)
class SpecItem:
    kind: Literal["failure_mode", "behaviour"]
    name: str
    description: str
    severity: str | None  # failure modes only


@dataclass(frozen=True)
class SpecImpact:
    """One behaviour or failure mode with cases that changed. Case ids are worst first."""

    item: SpecItem
    regressed: tuple[str, ...]
    fixed: tuple[str, ...]
    errored: tuple[str, ...]
    layers: tuple[str, ...]  # layers of the regressed cases, most cases first


def spec_items(spec: Mapping[str, Any]) -> tuple[SpecItem, ...]:
    """The behaviours and failure modes of a results file's ``run.spec``; a malformed entry
    (the file is untrusted) is skipped rather than trusted."""
    items: list[SpecItem] = []
    kinds: tuple[tuple[Literal["failure_mode", "behaviour"], str], ...] = (
        ("failure_mode", "failure_modes"),
        ("behaviour", "behaviours"),
    )
    for kind, key in kinds:
        entries = spec.get(key)
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
                continue
            description = entry.get("description")
            severity = entry.get("severity") if kind == "failure_mode" else None
            items.append(
                SpecItem(
                    kind,
                    entry["name"],
                    description if isinstance(description, str) else "",
                    severity if severity in SEVERITY_RANK else None,
                )
            )
    return tuple(items)


def _moved(change: CaseChange, info: CaseInfo | None) -> tuple[set[str], set[str]]:
    """The behaviours and failure modes a changed case counts under."""
    if info is None:
        return set(), set()
    behaviours, modes = set(info.behaviours), set(info.failure_modes)
    for diff in change.assertions:
        links = info.assertion_links.get(diff.name)
        if links is None:
            continue
        if change.status == "regressed":
            counts = diff.base_passed is True and diff.head_passed is False
        elif change.status == "fixed":
            counts = diff.base_passed is False and diff.head_passed is True
        else:
            counts = True
        if counts:
            behaviours.update(links.behaviours)
            modes.update(links.failure_modes)
    return behaviours, modes


def spec_impact(
    spec: Mapping[str, Any],
    cases: tuple[CaseChange, ...],
    infos: Mapping[str, CaseInfo],
) -> tuple[SpecImpact, ...]:
    """Failure modes first (most severe first), then behaviours; only those that moved."""
    items = spec_items(spec)
    if not items:
        return ()
    by_status: dict[tuple[str, str], dict[str, list[CaseChange]]] = {}
    for change in cases:
        if change.status not in ("regressed", "fixed", "errored"):
            continue
        behaviours, modes = _moved(change, infos.get(change.case_id))
        for kind, names in (("behaviour", behaviours), ("failure_mode", modes)):
            for name in names:
                by_status.setdefault((kind, name), {}).setdefault(change.status, []).append(change)
    out = []
    for item in items:
        found = by_status.get((item.kind, item.name))
        if not found:
            continue
        regressed = found.get("regressed", [])
        layers = Counter(layer for change in regressed for layer in dict.fromkeys(change.layers))
        out.append(
            SpecImpact(
                item=item,
                regressed=tuple(c.case_id for c in regressed),
                fixed=tuple(c.case_id for c in found.get("fixed", [])),
                errored=tuple(c.case_id for c in found.get("errored", [])),
                layers=tuple(name for name, _ in sorted(layers.items(), key=_by_count)),
            )
        )
    out.sort(key=_order)
    return tuple(out)


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def _order(impact: SpecImpact) -> tuple[int, int, int, str]:
    item = impact.item
    kind = 0 if item.kind == "failure_mode" else 1
    severity = SEVERITY_RANK.get(item.severity or "", len(SEVERITY_RANK))
    return kind, severity, -len(impact.regressed), item.name
