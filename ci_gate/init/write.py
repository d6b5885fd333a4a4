"""Writing init's files all together or not at all.

Every file is checked before the first is written: one that exists with other content (without
``--force``), or a folder where a file should go, stops init with nothing written. Each file is
written atomically; should a write still fail (a full disk), the files this call created are
removed again, and ``.gitignore``, the one file appended to, is written last.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ci_gate.atomic import write_text_atomic
from ci_gate.errors import EXIT_USAGE, GateError, UsageError

GITIGNORE = ".gitignore"
CACHE_LINE = ".ci-gate/cache/"
_CACHE_LINES = frozenset(
    {".ci-gate/cache", ".ci-gate/cache/", "/.ci-gate/cache", "/.ci-gate/cache/"}
)


class InitWriteError(GateError):
    """A file could not be written; the files init created before it were removed."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class NewFile:
    path: str  # relative to the repository root, POSIX separators
    text: str


@dataclass(frozen=True)
class Written:
    path: str
    how: str  # "wrote", "overwrote", "unchanged", "appended to", "kept", "could not read"


def plan_conflicts(root: Path, files: Mapping[str, str | None], force: bool) -> None:
    """Refuse, before anything is written, when a file is in the way.

    ``files`` maps each path to its new text, or to None when that is not known yet (before the
    questions): then any file already there is in the way.
    """
    in_the_way: list[str] = []
    for path, text in files.items():
        target = root / path
        for parent in list(reversed(target.parents))[len(root.parents) + 1 :]:
            if parent.exists() and not parent.is_dir():
                raise UsageError(
                    f"init: {_show(root, parent)} is a file, but {path} must go inside it;"
                    " nothing was written (move it, or choose another path with --suite)"
                )
        if target.is_dir():
            raise UsageError(
                f"init: {_show(root, target)} is a folder, not a file; nothing was written"
                " (move it, or choose another path with --suite)"
            )
        if target.exists() and not force and (text is None or _read(target) != text):
            in_the_way.append(_show(root, target))
    if in_the_way:
        more = f" (and {len(in_the_way) - 1} more)" if len(in_the_way) > 1 else ""
        raise UsageError(
            f"init: {in_the_way[0]} already exists{more}; nothing was written"
            " (--force overwrites; --suite PATH writes the suite elsewhere)"
        )


def write_all(root: Path, files: Sequence[NewFile], gitignore: bool) -> list[Written]:
    """Write ``files`` (after ``plan_conflicts``), then add the cache to ``.gitignore``."""
    done: list[Written] = []
    created: list[Path] = []
    try:
        for file in files:
            target = root / file.path
            existed = target.exists()
            if existed and _read(target) == file.text:
                done.append(Written(file.path, "unchanged"))
                continue
            mode = target.stat().st_mode & 0o777 if existed else _new_file_mode()
            write_text_atomic(target, file.text)
            if not existed:
                created.append(target)
            # The temporary file behind an atomic write is private (0600); these files are
            # the repository's, readable as the user's other files are.
            target.chmod(mode)
            done.append(Written(file.path, "overwrote" if existed else "wrote"))
        if gitignore:
            done.append(Written(GITIGNORE, _add_cache_line(root / GITIGNORE)))
    except OSError as exc:
        for path in created:
            with contextlib.suppress(OSError):
                path.unlink()
        what = exc.filename if exc.filename else "a file"
        raise InitWriteError(
            f"init: cannot write {what}: {exc.strerror or exc}; the files init had created were"
            " removed again"
        ) from None
    return done


def _add_cache_line(path: Path) -> str:
    """Append the cache folder to ``.gitignore`` unless a line already names it."""
    old = _read(path) if path.exists() else ""
    if old is None:  # not UTF-8, or not readable: rewriting it could lose what it says
        return "could not read"
    if any(line.strip() in _CACHE_LINES for line in old.splitlines()):
        return "kept"
    sep = "" if not old or old.endswith("\n") else "\n"
    mode = path.stat().st_mode & 0o777 if path.exists() else _new_file_mode()
    write_text_atomic(path, f"{old}{sep}# ci-gate's response cache\n{CACHE_LINE}\n")
    path.chmod(mode)
    return "appended to"


def _new_file_mode() -> int:
    """What ``open()`` would give a new file: 0666 less the umask (which can only be read by
    setting it, so it is set back at once)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _show(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
