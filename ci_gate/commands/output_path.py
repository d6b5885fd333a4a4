"""Files named on the command line to be written, checked before any work is done: a run must
not pay for its calls and only then find that its results file can never be written."""

from __future__ import annotations

from pathlib import Path

from ci_gate.errors import UsageError


def check_output(path: str | None, option: str) -> None:
    """``UsageError`` when ``path`` is a directory or lies under a file; missing folders are fine
    (the writer creates them)."""
    if not path:
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{option} {path}: is a directory; give the path of a file to write")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(
                    f"{option} {path}: {parent} is a file, not a directory; choose another path"
                )
            return
