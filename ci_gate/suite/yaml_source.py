"""Reading suite text and YAML with a line number for every key and list item.

The only module that imports ``yaml``. Documents are built from libyaml's event stream rather
than with ``safe_load`` so that we keep line numbers, reject duplicate keys, bound nesting depth
(PyYAML's composers recurse and libyaml's crashes on deep input) and refuse alias "bombs"
(billion laughs) and cyclic anchors before anything downstream walks the data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode

from ci_gate.bounded_read import read_at_most
from ci_gate.errors import Problem, SuiteError

KeyPath = tuple[str | int, ...]

MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 100
# Nodes that aliases may add on top of the document itself; generous for anchors reused across
# thousands of cases, fatal for billion-laughs documents.
MAX_ALIAS_NODES = 1_000_000
# Values and collections written in one file. Real suites and case files take 16 bytes or more
# per node, so 10 MB of them stays below this; "[0,0,0,...]" takes 2 and, read to the end,
# would cost 40 s and 1.5 GB (each node keeps a key path and a line).
MAX_NODES = 500_000

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()
_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_PLAIN_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
}
_MAP_TAGS = {None, "!", "tag:yaml.org,2002:map"}
_SEQ_TAGS = {None, "!", "tag:yaml.org,2002:seq"}


def format_path(path: KeyPath) -> str:
    """``("targets", 1, "provider")`` -> ``targets[1].provider``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part and all(c.isalnum() or c in "_-" for c in part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def line_of(lines: Mapping[KeyPath, int], path: KeyPath) -> int | None:
    """The line of ``path``, or of its nearest ancestor that has one."""
    for end in range(len(path), -1, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


@dataclass(frozen=True)
class YamlDoc:
    """A parsed document: plain data (``None`` when empty) and the line of every key path."""

    file: str
    data: Any
    lines: Mapping[KeyPath, int] = field(default_factory=dict)

    def line(self, path: KeyPath) -> int | None:
        return line_of(self.lines, path)

    def problem(self, path: KeyPath, message: str, hint: str | None = None) -> Problem:
        return Problem(self.file, self.line(path), format_path(path), message, hint)


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` relative to the current directory when it is under it, else absolute."""
    full = Path(path).resolve()
    try:
        rel = os.path.relpath(full)
    except ValueError:  # another drive on Windows
        return str(full)
    return str(full) if rel.startswith("..") else rel


def read_text(path: Path, display: str, *, max_bytes: int = MAX_BYTES) -> str:
    """The file's text as UTF-8 (a BOM is dropped); every failure is one ``SuiteError``."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _fail(
                display,
                None,
                f"file is {_size(size)}, over the limit of {_size(max_bytes)}",
                "split the cases into several included case files",
            )
        raw = read_at_most(path, max_bytes)
        if raw is None:  # a device or a pipe, whose size said nothing
            raise _fail(
                display,
                None,
                f"more than the limit of {_size(max_bytes)} to read (a device or a pipe?)",
                "give the path of a regular file",
            )
    except FileNotFoundError:
        raise _fail(display, None, "file not found", None) from None
    except IsADirectoryError:
        raise _fail(display, None, "is a directory, not a file", None) from None
    except OSError as exc:
        raise _fail(display, None, f"cannot read the file: {exc.strerror or exc}", None) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.start + 1]
        raise _fail(
            display,
            line,
            f"not valid UTF-8: byte 0x{bad.hex()} at offset {exc.start}",
            "save the file as UTF-8",
        ) from None


def load_yaml(path: Path, display: str) -> YamlDoc:
    return parse_yaml(read_text(path, display), display)


def parse_yaml(text: str, display: str) -> YamlDoc:
    """Parse one YAML document; raises ``SuiteError`` with every problem found."""
    builder = _Builder(display)
    try:
        builder.run(yaml.parse(text, Loader=_Loader))
    except _Stop:
        pass
    except yaml.MarkedYAMLError as exc:
        builder.problems.append(_syntax_problem(display, text, exc))
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        what = (
            exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or " ")
        )
        builder.problems.append(
            Problem(
                display,
                line,
                "",
                f"invalid character U+{what:04X} at offset {exc.position}",
                "control characters are not allowed in YAML; remove it or use an escape in a "
                'double-quoted string ("\\x00")',
            )
        )
    except yaml.YAMLError as exc:
        builder.problems.append(Problem(display, None, "", f"invalid YAML: {_one_line(str(exc))}"))
    if builder.problems:
        raise SuiteError(sorted(builder.problems, key=lambda p: (p.line or 0, p.path)))
    return YamlDoc(display, builder.root, builder.lines)


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 1024:.1f} kB"


def _fail(display: str, line: int | None, message: str, hint: str | None) -> SuiteError:
    return SuiteError([Problem(display, line, "", message, hint)])


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _syntax_problem(display: str, text: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    what = _one_line(exc.problem or exc.context or "invalid YAML")
    if mark is None:
        return Problem(display, None, "", f"invalid YAML: {what}")
    all_lines = text.splitlines()
    line_text = all_lines[mark.line] if mark.line < len(all_lines) else ""
    column = mark.column + 1
    indent = line_text[: len(line_text) - len(line_text.lstrip(" \t"))]
    if "\t" in indent or line_text[mark.column : mark.column + 1] == "\t" or "tab" in what:
        return Problem(
            display,
            mark.line + 1,
            "",
            f"tab character in the indentation (column {column})",
            "indent YAML with spaces, never tabs",
        )
    message = f"invalid YAML at column {column}: {what}"
    if exc.context and exc.context_mark is not None and exc.context_mark is not mark:
        context = _one_line(exc.context)
        for prefix in ("while parsing ", "while scanning ", "a ", "an "):
            context = context.removeprefix(prefix)
        message += f" in the {context} that starts on line {exc.context_mark.line + 1}"
    hint = "check the indentation and quoting"
    if "mapping values are not allowed" in what:
        hint = "quote values that contain ': '"
    elif "found character that cannot start any token" in what:
        hint = "quote values that start with @, ` or %"
    return Problem(display, mark.line + 1, "", message, hint)


def _yaml11_only(tag: str, value: str) -> bool:
    """Scalars that only YAML 1.1 reads as non-strings stay text, as in YAML 1.2: ``no`` and
    ``on`` are words in a case's vars, ``1:20`` is not 80; dates stay text (suites are JSON)."""
    if tag == "tag:yaml.org,2002:bool":
        return value.lower() not in ("true", "false")
    if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
        return ":" in value
    return False


class _Stop(Exception):
    """Raised to abandon a document that must not be read any further (bomb, depth)."""


class _Anchor:
    __slots__ = ("open", "size", "value")

    def __init__(self) -> None:
        self.open = True
        self.value: Any = None
        self.size = 0


class _Frame:
    """A mapping or sequence being built."""

    __slots__ = ("anchor", "container", "is_key", "key", "key_lines", "merges", "path", "size")

    def __init__(self, path: KeyPath, container: Any, anchor: _Anchor | None, is_key: bool) -> None:
        self.path = path
        self.container = container
        self.anchor = anchor
        self.is_key = is_key
        self.size = 1
        self.key: str | _Marker | None = None  # a mapping's pending key
        self.key_lines: dict[str, int] = {}
        self.merges: list[tuple[Any, int]] = []


class _Marker:
    pass


_MERGE = _Marker()  # the pending key is ``<<``
_DROP = _Marker()  # the pending key was unusable; its value is ignored


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.lines: dict[KeyPath, int] = {}
        self.stack: list[_Frame] = []
        self.anchors: dict[str, _Anchor] = {}
        self.expanded = 0
        self.nodes = 0
        self.root: Any = None
        self.documents = 0
        self.constructor = SafeConstructor()

    def problem(self, line: int, path: KeyPath, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(self.file, line, format_path(path), message, hint))

    def run(self, events: Iterator[yaml.Event]) -> None:
        for event in events:
            line = event.start_mark.line + 1 if event.start_mark is not None else 0
            if isinstance(event, yaml.DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    self.problem(line, (), "more than one YAML document ('---') in the file")
                    raise _Stop
            elif isinstance(event, yaml.ScalarEvent):
                self.count(line)
                value = self.scalar(event, line)
                self.add(value, 1, line, event.anchor, is_scalar_key=True, raw=event)
            elif isinstance(event, yaml.AliasEvent):
                self.alias(event, line)
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                self.count(line)
                self.start(event, line)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                self.end()

    def count(self, line: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.problem(
                line,
                self.child_path_peek()[:3],
                f"more than {MAX_NODES} values in one file",
                "put the cases in JSONL or CSV case files",
            )
            raise _Stop

    def child_path(self, line: int) -> tuple[KeyPath, bool]:
        """Where the next node goes, recording its line; and whether it is a mapping key."""
        if not self.stack:
            self.lines[()] = line
            return (), False
        top = self.stack[-1]
        if isinstance(top.container, list):
            path = (*top.path, len(top.container))
            self.lines[path] = line
            return path, False
        if top.key is None:
            return top.path, True
        if isinstance(top.key, _Marker):  # kept apart so its lines cannot mask explicit keys
            return (*top.path, "<<"), False
        return (*top.path, top.key), False

    def scalar(self, event: yaml.ScalarEvent, line: int) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = _RESOLVER.resolve(ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
        if tag in (_STR, _TIMESTAMP) or _yaml11_only(tag, event.value):
            return event.value
        if tag in _PLAIN_TAGS:
            node = ScalarNode(tag, event.value)
            try:
                return self.constructor.construct_object(node)
            except ValueError:  # Python refuses to read an integer of over 4300 digits
                self.problem(
                    line,
                    self.child_path_peek(),
                    f"number of {len(event.value)} characters is too large",
                    "quote it if it is text",
                )
                return event.value
        if tag == "tag:yaml.org,2002:merge":
            return event.value
        self.problem(
            line,
            self.child_path_peek(),
            f"unsupported YAML tag {tag!r}",
            "suites hold plain strings, numbers, booleans, lists and mappings",
        )
        return event.value

    def child_path_peek(self) -> KeyPath:
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.container, list):
            return (*top.path, len(top.container))
        if isinstance(top.key, str):
            return (*top.path, top.key)
        return top.path

    def start(self, event: yaml.CollectionStartEvent, line: int) -> None:
        path, is_key = self.child_path(line)
        if len(self.stack) >= MAX_DEPTH:
            self.problem(line, path[:3], f"nested more than {MAX_DEPTH} levels deep")
            raise _Stop
        mapping = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (_MAP_TAGS if mapping else _SEQ_TAGS):
            self.problem(line, path, f"unsupported YAML tag {event.tag!r}")
        anchor = None
        if event.anchor is not None:
            anchor = self.anchors[event.anchor] = _Anchor()
        container: Any = {} if mapping else []
        self.stack.append(_Frame(path, container, anchor, is_key))
        if anchor is not None:
            anchor.value = container

    def end(self) -> None:
        frame = self.stack.pop()
        if isinstance(frame.container, dict):
            self.apply_merges(frame)
        if frame.anchor is not None:
            frame.anchor.open = False
            frame.anchor.size = frame.size
        line = self.lines.get(frame.path, 0)
        if frame.is_key:
            self.problem(line, frame.path, "a mapping key must be a plain string, not a collection")
            self.stack[-1].key = _DROP
            return
        self.add(frame.container, frame.size, line, None, is_scalar_key=False, raw=None)

    def alias(self, event: yaml.AliasEvent, line: int) -> None:
        path = self.child_path_peek()
        anchor = self.anchors.get(event.anchor or "")
        if anchor is None:
            self.problem(line, path, f"alias *{event.anchor} refers to no anchor defined before it")
            raise _Stop
        if anchor.open:
            self.problem(line, path, f"alias *{event.anchor} is cyclic: it refers to itself")
            raise _Stop
        self.expanded += anchor.size
        if self.expanded > MAX_ALIAS_NODES:
            self.problem(
                line,
                path,
                f"aliases expand to more than {MAX_ALIAS_NODES} nodes",
                "this looks like a YAML bomb; use fewer nested aliases",
            )
            raise _Stop
        if self.stack and self.stack[-1].key is None and isinstance(self.stack[-1].container, dict):
            self.problem(line, path, "an alias cannot be a mapping key")
            self.stack[-1].key = _DROP
            return
        self.add(anchor.value, anchor.size, line, None, is_scalar_key=False, raw=None)

    def add(
        self,
        value: Any,
        size: int,
        line: int,
        anchor_name: str | None,
        *,
        is_scalar_key: bool,
        raw: yaml.ScalarEvent | None,
    ) -> None:
        if anchor_name is not None:
            anchor = self.anchors[anchor_name] = _Anchor()
            anchor.open, anchor.value, anchor.size = False, value, size
        if not self.stack:
            self.root = value
            self.lines.setdefault((), line)
            return
        top = self.stack[-1]
        top.size += size
        if isinstance(top.container, list):
            item: KeyPath = (*top.path, len(top.container))
            self.lines[item] = line
            top.container.append(value)
            return
        if top.key is None:
            self.set_key(top, line, raw if is_scalar_key else None)
            return
        key, top.key = top.key, None
        if key is _MERGE:
            top.merges.append((value, line))
        elif isinstance(key, str):
            top.container[key] = value

    def set_key(self, top: _Frame, line: int, raw: yaml.ScalarEvent | None) -> None:
        if raw is None:
            top.key = _DROP
            return
        if raw.tag is None and raw.implicit[0] and raw.value == "<<":
            top.key = _MERGE
            return
        key = raw.value  # the key as written: `on:` and `1:` stay strings
        first = top.key_lines.get(key)
        if first is not None:
            self.problem(
                line,
                (*top.path, key),
                f"duplicate key {key!r}",
                f"first defined on line {first}; remove one of them",
            )
            top.key = _DROP
            return
        top.key_lines[key] = line
        at: KeyPath = (*top.path, key)
        self.lines[at] = line
        top.key = key

    def apply_merges(self, frame: _Frame) -> None:
        # YAML merge keys: explicit keys win, then earlier merged mappings over later ones.
        for value, line in frame.merges:
            sources = value if isinstance(value, list) else [value]
            if not all(isinstance(s, dict) for s in sources):
                self.problem(line, frame.path, "'<<' needs a mapping or a list of mappings")
                continue
            for source in sources:
                for key, item in source.items():
                    if key not in frame.container:
                        frame.container[key] = item
                        self.lines.setdefault((*frame.path, key), line)
