"""Writing a converted suite as YAML text: deterministic, readable, and read back exactly.

ci-gate reads suites with PyYAML (libyaml), so a string is written plain only when nothing in it
could be read as another type or as YAML syntax; anything else is double-quoted with escapes, and
text of several lines is a literal block. Mappings keep their insertion order. Short mappings
and lists of scalars are written in flow style (``{type: contains, value: x}``), as in the
suite reference. ``yaml`` is not imported here: ci_gate.suite.yaml_source is the only module that
does, and the tests read every emitted document back through it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

WIDTH = 100
INDENT = 2

# Words some YAML reader takes for a boolean or null when written plain.
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"})
_FLOW_SPECIALS = frozenset(",[]{}:")
# Written as escapes: YAML 1.1 readers take the first three for line breaks, and a BOM or a
# noncharacter inside a document is refused.
_ESCAPED = frozenset("\u2028\u2029\u0085\ufeff\ufffe\uffff")


@dataclass(frozen=True)
class Commented:
    """A list item with comment lines written above it."""

    comments: tuple[str, ...]
    value: Any


def comment_text(text: str) -> str:
    """``text`` as one comment line: no line breaks or other unprintable characters, which would
    end the comment and let the rest be read as YAML."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def yaml_document(header: Sequence[str], data: Mapping[str, Any]) -> str:
    """The document: ``header`` as comment lines, then ``data`` as a block mapping."""
    lines = [f"# {comment_text(h)}".rstrip() for h in header]
    lines += _mapping(data, 0)
    return "\n".join(lines) + "\n"


def jsonl(items: Sequence[Mapping[str, Any]]) -> str:
    """One JSON object a line, as ci-gate's JSONL case files hold them."""
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


def scalar(value: Any, *, flow: bool = False) -> str:
    """A scalar as YAML text that reads back as the same value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    text = str(value)
    return text if plain_ok(text, flow=flow) else quoted(text)


def plain_ok(text: str, *, flow: bool) -> bool:
    """Whether ``text`` reads back as this string when written without quotes."""
    if not text or text != text.strip() or text.lower() in _RESERVED:
        return False
    first = text[0]
    # A letter first rules out numbers, dates and every YAML indicator character.
    if not (first.isascii() and (first.isalpha() or first == "_")):
        return False
    if ": " in text or text.endswith(":") or "#" in text:
        return False
    if flow and any(c in _FLOW_SPECIALS for c in text):
        return False
    return all(c.isprintable() and c not in _ESCAPED for c in text)


def quoted(text: str) -> str:
    """A double-quoted scalar; every character a reader could take for syntax is escaped."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or 0x7F <= code <= 0x9F:
            out.append(f"\\x{code:02x}")
        elif char in _ESCAPED or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "e" in text:
        # YAML 1.1 floats need a dot and a signed exponent: 1e-05 would read as a string.
        mantissa, exponent = text.split("e")
        mantissa = mantissa if "." in mantissa else mantissa + ".0"
        sign = "" if exponent[0] in "+-" else "+"
        text = f"{mantissa}e{sign}{exponent}"
    return text


def _literal_ok(text: str) -> bool:
    """Whether ``text`` can be a literal block (``|``): several lines, nothing that a block would
    change (leading blank or indented first line, carriage returns, trailing blank lines)."""
    if "\n" not in text or text.endswith("\n\n") or text[0] in " \t\n":
        return False
    if any(line.startswith("\t") for line in text.split("\n")):
        return False
    return all((c.isprintable() or c in "\n\t") and c not in _ESCAPED for c in text)


def _literal(prefix: str, text: str, indent: int) -> list[str]:
    chomp = "" if text.endswith("\n") else "-"
    body = text[:-1] if text.endswith("\n") else text
    pad = " " * indent
    return [f"{prefix} |{chomp}"] + [pad + line if line else "" for line in body.split("\n")]


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _flow(value: Any) -> str | None:
    """``value`` in flow style, or None when it holds text of several lines or deep nesting."""
    if _is_scalar(value):
        if isinstance(value, str) and "\n" in value:
            return None
        return scalar(value, flow=True)
    if isinstance(value, Mapping):
        parts = []
        for key, item in value.items():
            inner = _flow(item) if _is_scalar(item) or _flat(item) else None
            if inner is None:
                return None
            parts.append(f"{scalar(str(key), flow=True)}: {inner}")
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, (list, tuple)):
        if not _flat(value):
            return None
        items = [_flow(item) for item in value]
        if any(item is None for item in items):
            return None
        return "[" + ", ".join(str(item) for item in items) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _flat(value: Any) -> bool:
    """A list of scalars (or an empty mapping): the only collections written inside flow ones."""
    if isinstance(value, Mapping):
        return not value
    return isinstance(value, (list, tuple)) and all(_is_scalar(v) for v in value)


def _entry(prefix: str, value: Any, indent: int) -> list[str]:
    """``prefix`` (``key:`` or ``-``, already indented) followed by ``value``, inline or below."""
    if isinstance(value, Commented):
        raise TypeError("comments are written above list items only")
    if isinstance(value, str) and _literal_ok(value):
        return _literal(prefix, value, indent + INDENT)
    flow = _flow(value)
    if flow is not None and (
        _is_scalar(value) or len(prefix) + 1 + len(flow) <= WIDTH or not value
    ):
        return [f"{prefix} {flow}"]
    if isinstance(value, str):  # one long line
        return [f"{prefix} {scalar(value)}"]
    if isinstance(value, Mapping):
        return [prefix, *_mapping(value, indent + INDENT)]
    return [prefix, *_sequence(value, indent + INDENT)]


def _mapping(value: Mapping[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, item in value.items():
        lines += _entry(f"{pad}{scalar(str(key))}:", item, indent)
    return lines


def _sequence(items: Sequence[Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for raw in items:
        item = raw
        if isinstance(raw, Commented):
            lines += [f"{pad}# {comment_text(c)}".rstrip() for c in raw.comments]
            item = raw.value
        nested = isinstance(item, (Mapping, list, tuple)) and bool(item)
        flow = _flow(item) if nested else None
        if nested and (flow is None or len(pad) + 2 + len(flow) > WIDTH):
            # Written as a block one level in, then its first line moved up after the dash.
            inner = (
                _mapping(item, indent + INDENT)
                if isinstance(item, Mapping)
                else _sequence(item, indent + INDENT)
            )
            lines.append(pad + "- " + inner[0][indent + INDENT :])
            lines += inner[1:]
        else:
            lines += _entry(f"{pad}-", item, indent)
    return lines
