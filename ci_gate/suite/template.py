"""``{{ name }}`` placeholders: find them, render text, render JSON bodies.

Names are dotted paths (``{{ vars.question }}``, ``{{ messages.0.content }}``); text that is not
a valid placeholder is left as it is (there is no escaping). Rendering is a single pass, so values
that themselves contain ``{{ ... }}`` (model outputs, case text) are never expanded again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ci_gate.suite.model import JSON, Case, Message, Suite

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*)\s*\}\}")

_MISSING = object()


class MissingValue(KeyError):
    """A placeholder names something the values do not have."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"no value for {{{{ {self.name} }}}}"


def placeholders(text: str) -> set[str]:
    """The names used by the placeholders in ``text``."""
    return {m.group(1) for m in PLACEHOLDER.finditer(text)}


def lookup(values: Mapping[str, Any], name: str) -> Any:
    """The value a dotted ``name`` names; raises ``MissingValue``.

    A top-level key that itself contains dots wins over the dotted reading.
    """
    if name in values:
        return values[name]
    current: Any = values
    for part in name.split("."):
        current = _step(current, part)
        if current is _MISSING:
            raise MissingValue(name)
    return current


def _step(current: Any, part: str) -> Any:
    if isinstance(current, Mapping):
        return current.get(part, _MISSING)
    if isinstance(current, Sequence) and not isinstance(current, (str, bytes)) and part.isdigit():
        index = int(part)
        return current[index] if index < len(current) else _MISSING
    return _MISSING


def to_text(value: Any) -> str:
    """How a value appears inside text: strings as they are, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(_plain(value), separators=(",", ":"), ensure_ascii=False, default=str)


def render(text: str, values: Mapping[str, Any]) -> str:
    """``text`` with every placeholder replaced; raises ``MissingValue`` for an unknown name."""
    return PLACEHOLDER.sub(lambda m: to_text(lookup(values, m.group(1))), text)


def render_json(template: JSON, values: Mapping[str, Any]) -> JSON:
    """A JSON template rendered: a string that is exactly one placeholder becomes the value
    itself (any JSON type); other strings, and mapping keys, are rendered as text."""
    if isinstance(template, str):
        whole = PLACEHOLDER.fullmatch(template)
        if whole is not None:
            return _plain(lookup(values, whole.group(1)))
        return render(template, values)
    if isinstance(template, Mapping):
        return {render(str(k), values): render_json(v, values) for k, v in template.items()}
    if isinstance(template, (list, tuple)):
        return [render_json(v, values) for v in template]
    return template


def _plain(value: Any) -> Any:
    """Mappings and tuples (e.g. ``MappingProxyType`` fields) as JSON-ready dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def render_messages(suite: Suite, case: Case) -> tuple[Message, ...]:
    """The messages ``case``'s prompt sends: none for a case without a prompt."""
    if case.prompt is None:
        return ()
    prompt = suite.prompt(case.prompt)
    return tuple(Message(m.role, render(m.content, case.vars)) for m in prompt.messages)
