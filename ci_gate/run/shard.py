"""Shards of a run: which cases one job of a parallel (matrix) run takes.

Cases are dealt to shards by their expected cost (``ci_gate.run.shard_cost``): the most
expensive first, each to the shard with the least work so far (ties: the lower index). Every job
computes the same split from the same suite without talking to the others; cases of equal cost
are dealt in turn, so case k of a suite of equal cases goes to shard ``k % count + 1``. A shard
runs its cases in suite order, and ``ci-gate merge`` puts the records back in suite order from
the fingerprint's list of cases.

This module imports nothing from ``ci_gate.results``: the results model records a run's ``Shard``,
so an import the other way would be a cycle.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from ci_gate.errors import UsageError

MAX_SHARDS = 256

_T = TypeVar("_T")
# ASCII digits only: int() would also take "1_0", "+1" and non-ASCII digits.
_SHARD_RE = re.compile(r"\s*([0-9]{1,9})\s*/\s*([0-9]{1,9})\s*", re.ASCII)


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` (from 1) of ``count``."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not valid_shard(self.index, self.count):
            raise ValueError(f"invalid shard {self.index}/{self.count}")

    def describe(self) -> str:
        return f"{self.index}/{self.count}"


def valid_shard(index: object, count: object) -> bool:
    return (
        isinstance(index, int)
        and isinstance(count, int)
        and not isinstance(index, bool)
        and not isinstance(count, bool)
        and 1 <= index <= count <= MAX_SHARDS
    )


def parse_shard(text: str, where: str = "--shard") -> Shard:
    """``"2/4"`` -> ``Shard(2, 4)``; anything else is a one-line ``UsageError`` naming ``where``."""
    shown = repr(text if len(text) <= 40 else text[:40] + "...")
    match = _SHARD_RE.fullmatch(text)
    if match is None:
        why = "expected INDEX/COUNT"
    else:
        index, count = int(match.group(1)), int(match.group(2))
        if valid_shard(index, count):
            return Shard(index, count)
        if index < 1 or count < 1:
            why = "INDEX and COUNT start at 1"
        elif count > MAX_SHARDS:
            why = f"COUNT is at most {MAX_SHARDS}"
        else:
            why = f"INDEX {index} is greater than COUNT {count}"
    raise UsageError(
        f"{where}: {why}, got {shown} (e.g. 2/4 for the second of four shards; "
        f"1 <= INDEX <= COUNT <= {MAX_SHARDS})"
    )


def assign(costs: Sequence[int], count: int) -> list[int]:
    """The shard (from 1) of each case: largest cost first, each to the least-loaded shard. Greedy
    is within 4/3 of the best split, and exact enough when no case dwarfs a shard's share."""
    loads = [(0, index) for index in range(1, count + 1)]
    owner = [0] * len(costs)
    for k in sorted(range(len(costs)), key=lambda k: (-costs[k], k)):
        load, index = heapq.heappop(loads)
        owner[k] = index
        heapq.heappush(loads, (load + costs[k], index))
    return owner


def select(
    cases: Sequence[_T], shard: Shard | None, costs: Sequence[int] | None = None
) -> list[_T]:
    """The cases of ``shard`` in suite order (all of them when ``shard`` is None); without
    ``costs`` every case counts the same."""
    if shard is None:
        return list(cases)
    owner = assign(costs if costs is not None else [1] * len(cases), shard.count)
    return [case for case, index in zip(cases, owner, strict=True) if index == shard.index]


def suite_position(shard: Shard, k: int) -> int:
    """Where the shard's k-th case (from 0) stood in a suite of equal cases: the inverse of
    ``select`` without costs, for results files that do not carry their suite's case order."""
    return k * shard.count + shard.index - 1
