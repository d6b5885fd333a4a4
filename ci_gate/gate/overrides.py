"""Command-line overrides of a gate policy: ``--set quality.pass_rate.max_drop=1pt``.

Keys are dotted paths into the ``gate:`` section (an optional leading ``gate.`` is dropped).
Assertion names and tags may contain dots, so under ``quality.assertions``, ``quality.tags``
and ``quality.layers`` the name is everything between the section and the last part. Values
given as strings are read as true/false, integers, numbers, or else kept as strings (``1pt``);
the policy parser then checks them like values written in the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ci_gate.errors import ConfigError


def parse_value(text: str) -> Any:
    """A command-line value: true/false, an integer, a number, else the string itself."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for convert in (int, float):
        try:
            return convert(text.strip())
        except ValueError:
            pass
    return text.strip()


def _split_key(key: str) -> list[str]:
    parts = key.split(".")
    if parts and parts[0] == "gate":
        parts = parts[1:]
    # Assertion names and tags may hold dots: the name is everything between section and rule key.
    if len(parts) >= 4 and parts[0] == "quality" and parts[1] in ("assertions", "tags", "layers"):
        return [parts[0], parts[1], ".".join(parts[2:-1]), parts[-1]]
    return parts


def merge_overrides(
    section: Mapping[str, Any], overrides: Mapping[str, Any], where: str = "gate"
) -> tuple[dict[str, Any], frozenset[str]]:
    """``section`` with each dotted key of ``overrides`` set; strings are parsed as values."""
    merged: dict[str, Any] = _copy(section)
    paths = set()
    for key, value in overrides.items():
        parts = _split_key(key)
        if not parts or any(not p for p in parts):
            raise ConfigError(f"--set {key}: not a dotted key such as quality.pass_rate.max_drop")
        if parts[0] == "tradeoffs":
            raise ConfigError(
                f"--set {key}: trade-offs cannot be set on the command line; "
                "write them in a policy file and pass --policy FILE"
            )
        node = merged
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                where_key = ".".join(parts[: depth + 1])
                raise ConfigError(f"--set {key}: {where}.{where_key} is a value, not a section")
            node = child
        node[parts[-1]] = parse_value(value) if isinstance(value, str) else value
        paths.add(".".join(parts))
    return merged, frozenset(paths)


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
