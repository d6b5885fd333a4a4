"""Reading a promptfoo config and the files it references, and noting what is not converted.

Every place is named relative to the config's folder (``tests.csv:4: __expected``), so that the
lists written into the converted suite read the same wherever the command was run. Errors, which
stop the conversion, name files as the user can find them from the current directory.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ci_gate.errors import ConfigError, SuiteError
from ci_gate.providers.scrubbing import scrub
from ci_gate.suite.yaml_source import (
    KeyPath,
    display_path,
    format_path,
    line_of,
    parse_yaml,
    read_text,
)

# Referenced prompt, test and var files; a config itself is read with yaml_source's own limit.
MAX_FILE_BYTES = 50 * 1024 * 1024
FILE_PREFIX = "file://"
GLOB_CHARS = frozenset("*?[{")


class PromptfooError(ConfigError):
    """A promptfoo config that cannot be converted at all; one line, exit 2."""


@dataclass(frozen=True)
class Unconverted:
    """A part of the promptfoo config that has no place in the ci-gate suite."""

    where: str  # file and key path, with the line when known: "promptfooconfig.yaml:12: tests[3]"
    what: str  # e.g. "assertion type 'javascript'"
    why: str  # one sentence, and what to do instead


class Log:
    """What a conversion left out or converted approximately, each said once, in order. A note
    made at several places is said once, with the places."""

    PLACES_SHOWN = 5

    def __init__(self) -> None:
        self._skipped: dict[Unconverted, None] = {}
        self._notes: dict[str, list[str]] = {}

    def skip(self, where: str, what: str, why: str) -> None:
        self._skipped[Unconverted(where, what, why)] = None

    def note(self, text: str, where: str | None = None) -> None:
        places = self._notes.setdefault(text, [])
        if where is not None and where not in places:
            places.append(where)

    @property
    def unconverted(self) -> tuple[Unconverted, ...]:
        return tuple(self._skipped)

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(_placed(text, places) for text, places in self._notes.items())


def _placed(text: str, places: list[str]) -> str:
    if not places:
        return text
    if len(places) == 1:
        return f"{places[0]}: {text}"
    shown_places = ", ".join(places[: Log.PLACES_SHOWN])
    more = len(places) - Log.PLACES_SHOWN
    return f"{text} ({shown_places}{f' and {more} more' if more > 0 else ''})"


@dataclass(frozen=True)
class Doc:
    """A parsed file of the config (the config itself, a tests file, a CSV row), with the line
    of each key path when known."""

    label: str  # the path relative to the config's folder
    data: Any
    lines: Mapping[KeyPath, int] = field(default_factory=dict)

    def at(self, *path: str | int) -> At:
        return At(self, tuple(path))


@dataclass(frozen=True)
class At:
    """A place in a ``Doc``: a key path, shown as ``file:line: key.path``."""

    doc: Doc
    path: KeyPath

    def at(self, *more: str | int) -> At:
        return At(self.doc, (*self.path, *more))

    def line(self) -> int | None:
        return line_of(self.doc.lines, self.path)

    def where(self) -> str:
        line = self.line()
        place = self.doc.label if line is None else f"{self.doc.label}:{line}"
        key = format_path(self.path)
        return f"{place}: {key}" if key else place


@dataclass(frozen=True)
class Source:
    """The config being converted: its folder, which relative references are resolved against,
    and the folder the suite will be written to, which the suite's own paths are relative to."""

    folder: Path
    config: Doc
    suite_dir: Path

    def from_suite(self, path: Path) -> str:
        """``path`` relative to the suite's folder, as the suite writes paths, with ``/``."""
        try:
            return Path(os.path.relpath(path, self.suite_dir)).as_posix()
        except ValueError:  # another drive on Windows
            return path.as_posix()

    def path_of(self, ref: str) -> Path:
        """The file a reference names: ``file://`` dropped, relative to the config's folder."""
        name = ref.removeprefix(FILE_PREFIX)
        return (self.folder / name).resolve()

    def label(self, path: Path) -> str:
        """``path`` as written in messages: relative to the config's folder, with ``/``."""
        try:
            return Path(os.path.relpath(path, self.folder)).as_posix()
        except ValueError:  # another drive on Windows
            return path.as_posix()

    def read(self, ref: str, at: At) -> tuple[str, str]:
        """The text of the file ``ref`` names, and its label; a failure stops the conversion."""
        path = self.path_of(ref)
        try:
            return read_text(path, display_path(path), max_bytes=MAX_FILE_BYTES), self.label(path)
        except SuiteError as exc:
            first = exc.problems[0]
            raise PromptfooError(
                f"{at.where()}: cannot read {ref!r}: {first.message}"
                + (f" ({first.hint})" if first.hint else "")
                + " (paths are relative to the promptfoo config's folder)"
            ) from None

    def load(self, ref: str, at: At) -> Doc:
        """A YAML or JSON file the config references, parsed."""
        text, label = self.read(ref, at)
        if label.endswith(".json"):
            return Doc(label, parse_json(text, label))
        return parse_doc(text, label)

    def glob(self, ref: str) -> list[Path]:
        """The files a glob reference matches, sorted (promptfoo sorts them too)."""
        name = ref.removeprefix(FILE_PREFIX)
        if Path(name).is_absolute():
            anchor = Path(Path(name).anchor)
            return sorted(
                p for p in anchor.glob(str(Path(name).relative_to(anchor))) if p.is_file()
            )
        return sorted(p for p in self.folder.glob(name) if p.is_file())


def parse_doc(text: str, label: str, display: str | None = None) -> Doc:
    """A YAML document with its lines; a syntax error stops the conversion, naming the file as
    ``display`` (default: its label)."""
    try:
        doc = parse_yaml(text, display or label)
    except SuiteError as exc:
        raise PromptfooError(str(exc.problems[0])) from None
    return Doc(label, doc.data, doc.lines)


def parse_json(text: str, label: str, first_line: int = 1) -> Any:
    """A JSON document (starting on ``first_line`` of its file); lone surrogates, which no YAML
    file can hold, are refused."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        line = exc.lineno + first_line - 1
        raise PromptfooError(f"{label}:{line}: invalid JSON: {exc.msg}") from None
    if _has_surrogate(data):
        raise PromptfooError(f"{label}: a string holds a lone surrogate escape (\\ud800 ...)")
    return data


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, Mapping):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def is_glob(ref: str) -> bool:
    return any(c in GLOB_CHARS for c in ref)


def suffix(ref: str) -> str:
    """The file extension of a reference, lower case, without a ``:function`` part."""
    name = ref.removeprefix(FILE_PREFIX)
    name = re.sub(r":[A-Za-z_][A-Za-z0-9_]*$", "", name)
    return Path(name).suffix.lower()


_SECRET_NAME = re.compile(r"(?i)key|token|secret|passw|credential|auth|cookie|session")
_TEMPLATE = re.compile(r"\{\{|\{%")


def is_credential(name: str, value: Any, *, by_name: bool = True) -> bool:
    """Whether ``value`` is a credential written out in the config: shaped like a key, or (with
    ``by_name``) under a name that says it holds one. A template (``{{ env.X }}``) is not."""
    if not isinstance(value, str) or not value.strip() or _TEMPLATE.search(value):
        return False
    if by_name and _SECRET_NAME.search(name):
        return True
    return "***" in scrub(value) and "***" not in value


def shown(value: Any, limit: int = 60) -> str:
    """A value quoted for a message, on one line, cut to ``limit`` characters, with anything
    shaped like a key masked."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = scrub(" ".join(text.split()))
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def slug(text: str, limit: int = 60) -> str:
    """Lower-case words joined by ``-``, cut at a word boundary: ids from descriptions."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > limit:
            break
        out = candidate
    return out or (words[0][:limit] if words else "")


def ident(text: str, limit: int = 60) -> str:
    """``text`` as an id that keeps its dots and case (model names: ``gpt-4.1``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:limit]


class Ids:
    """Unique ids: a taken one gets ``-2``, ``-3``..."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{wanted}-{n}"
        self.taken.add(candidate)
        return candidate
