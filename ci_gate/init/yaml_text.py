"""Writing YAML scalars and flow collections by hand, so that init's files can carry comments.

Strings go out as JSON strings, which are YAML double-quoted scalars, with every character a
YAML reader could take for a line break or refuse (controls, U+0085, U+2028, U+2029, U+FEFF...)
written as an escape. Plain (unquoted) style is used only for words no reader can mistake for
another type.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from ci_gate.errors import InternalError

_PLAIN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
# YAML 1.1 readers take these words for booleans or null; ci-gate reads 1.2, editors may not.
_RESERVED = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"})


def _escape(char: str) -> str:
    return "".join(f"\\u{unit:04x}" for unit in _utf16(char))


def _utf16(char: str) -> list[int]:
    code = ord(char)
    if code < 0x10000:
        return [code]
    code -= 0x10000
    return [0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)]


def _risky(char: str) -> bool:
    return char == "\x85" or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co")


def quoted(text: str) -> str:
    """``text`` as a double-quoted YAML scalar that reads back exactly."""
    body = json.dumps(text, ensure_ascii=False)
    return "".join(_escape(c) if _risky(c) else c for c in body)


def scalar(text: str) -> str:
    """``text`` plain when it is a harmless word, else quoted."""
    if _PLAIN_RE.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    return quoted(text)


def flow(value: Any) -> str:
    """A JSON-like value as one line of YAML flow style."""
    if isinstance(value, str):
        return quoted(value)
    if value is None or isinstance(value, (bool, int, float)):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{quoted(str(k))}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    raise InternalError(f"init: cannot write a {type(value).__name__} as YAML")


def names(items: Sequence[str]) -> str:
    """``[a, b]`` for a list of names."""
    return "[" + ", ".join(scalar(i) for i in items) + "]"
