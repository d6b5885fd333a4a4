"""What converting a case's promptfoo assertions needs, shared by the assertion modules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ci_gate.migrate.promptfoo_graders import Graders
from ci_gate.migrate.promptfoo_source import At, Log, Source

Out = dict[str, Any]


@dataclass(frozen=True)
class Scope:
    """What converting one case's assertions needs."""

    source: Source
    log: Log
    graders: Graders
    tools: tuple[tuple[str, Any], ...] = ()  # (name, parameters) of the default target's tools
    vars: Mapping[str, Any] = field(default_factory=dict)


class Skip(Exception):
    """Raised by a mapper: the assertion is listed with this reason and left out."""

    def __init__(self, why: str, what: str | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.what = what


Mapper = Callable[[Mapping[str, Any], Any, At, Scope], Out]
