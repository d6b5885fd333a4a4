"""Shards of a run: which cases one job of a parallel (matrix) run takes.

Case k of the suite (0-based, in the suite's case order) belongs to shard ``k % count + 1``, so
shards differ in size by at most one case, every job computes the same split without talking to
the others, and ``ci-gate merge`` can put the records back in suite order.

This module imports nothing from ``ci_gate.results``: the results model records a run's ``Shard``,
so an import the other way would be a cycle.
"""

from __future__ import annotations

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


def select(cases: Sequence[_T], shard: Shard | None) -> list[_T]:
    """The cases of ``shard`` in suite order; all of them when ``shard`` is None."""
    if shard is None:
        return list(cases)
    return list(cases[shard.index - 1 :: shard.count])


def suite_position(shard: Shard, k: int) -> int:
    """Where the shard's k-th case (from 0) stands in the suite: the inverse of ``select``."""
    return k * shard.count + shard.index - 1
