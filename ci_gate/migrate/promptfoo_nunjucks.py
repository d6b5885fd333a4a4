"""promptfoo's Nunjucks templates as ci-gate placeholders.

promptfoo renders prompts, assertion values and HTTP bodies with Nunjucks; ci-gate's templates
(ci_gate/suite/template.py) have only ``{{ name }}`` and dotted names. A plain name or path
(``{{var}}``, ``{{ a.b }}``, ``{{ items[0] }}``, ``{{ row["key"] }}``) converts; filters,
expressions, tags (``{% if %}``) and comments do not, and are returned so that the caller can
list them. They are left in the text as written: ci-gate sends text that is not a valid
placeholder as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ci_gate.suite.template import PLACEHOLDER, MissingValue, lookup, to_text

_TAG = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}|\{#(.*?)#\}", re.DOTALL)
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_STEP = re.compile(rf"\.({_NAME})|\[\s*(\d+)\s*\]|\[\s*(['\"])([A-Za-z0-9_-]+)\3\s*\]")
_PATH = re.compile(
    rf"\s*({_NAME})((?:\.{_NAME}|\[\s*\d+\s*\]|\[\s*(['\"])[A-Za-z0-9_-]+\3\s*\])*)\s*"
)

# promptfoo's own globals: ``env`` (the environment) and ``_conversation`` (earlier turns).
RESERVED_ROOTS = frozenset({"env", "_conversation"})

Rename = Callable[[str], str | None]


@dataclass(frozen=True)
class Converted:
    text: str
    unsupported: tuple[str, ...]  # the Nunjucks tags left as written, each once
    offsets: tuple[int, ...]  # where each of them starts in the original text


def path_of(expression: str) -> str | None:
    """``a.b[0]["c"]`` as the dotted ``a.b.0.c``, or None when it is not a plain path."""
    match = _PATH.fullmatch(expression)
    if match is None:
        return None
    parts = [match.group(1)]
    for step in _STEP.finditer(match.group(2)):
        parts.append(step.group(1) or step.group(2) or step.group(4))
    return ".".join(parts)


def has_template(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def convert(
    text: str, rename: Rename | None = None, reserved: frozenset[str] = RESERVED_ROOTS
) -> Converted:
    """``text`` with each plain ``{{ path }}`` as a ci-gate placeholder. ``rename`` maps a dotted
    path to the name to use, or None when it has no equivalent (it is then left as written)."""
    if not has_template(text):
        return Converted(text, (), ())
    unsupported: dict[str, int] = {}

    def replace(match: re.Match[str]) -> str:
        path = path_of(match.group(1)) if match.group(1) is not None else None
        if path is not None and path.split(".")[0] not in reserved:
            name = rename(path) if rename is not None else path
            if name is not None:
                return f"{{{{ {name} }}}}"
        unsupported.setdefault(match.group(0), match.start())
        return defuse(match.group(0))

    out = _TAG.sub(replace, text)
    return Converted(out, tuple(unsupported), tuple(unsupported.values()))


def defuse(tag: str) -> str:
    """``tag`` as text that ci-gate will not read as a placeholder. ci-gate has no escaping, and
    ``{{ env.HOME }}`` or ``{{_conversation}}`` are valid ci-gate names: their braces are
    spaced apart. Any other Nunjucks tag is no ci-gate placeholder and stays as written."""
    if PLACEHOLDER.fullmatch(tag) is None:
        return tag
    return "{ {" + tag[2:-2] + "} }"


def render(text: str, values: Mapping[str, Any]) -> Converted:
    """``text`` with each plain ``{{ path }}`` replaced by its value, as promptfoo renders an
    assertion's value with the test's vars: a missing value renders empty."""
    if not has_template(text):
        return Converted(text, (), ())
    unsupported: dict[str, int] = {}

    def replace(match: re.Match[str]) -> str:
        path = path_of(match.group(1)) if match.group(1) is not None else None
        if path is None or path.split(".")[0] in RESERVED_ROOTS:
            unsupported.setdefault(match.group(0), match.start())
            return match.group(0)
        try:
            return to_text(lookup(values, path))
        except MissingValue:
            return ""

    out = _TAG.sub(replace, text)
    return Converted(out, tuple(unsupported), tuple(unsupported.values()))
