"""Checks shared by the bad-input tests: the one-line error, and peak memory."""

from __future__ import annotations

import contextlib
import tracemalloc
from collections.abc import Iterator


def check_error(stderr: str, fragment: str, *, validate: bool = False) -> None:
    """``error: ...`` lines containing ``fragment``: one line, or for ``validate`` one per
    problem (at most 50 and a count of the rest); no traceback, no bug report."""
    assert "Traceback" not in stderr and "internal error" not in stderr
    lines = stderr.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), stderr
    assert len(lines) == 1 or (validate and len(lines) <= 51), stderr
    assert fragment in stderr, f"{fragment!r} not in {stderr!r}"


@contextlib.contextmanager
def peak_memory() -> Iterator[list[int]]:
    """The peak of Python allocations inside the block, in bytes (``box[0]`` after it)."""
    box = [0]
    tracemalloc.start()
    try:
        yield box
    finally:
        box[0] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
