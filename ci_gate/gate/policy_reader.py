"""Reading a gate section: amounts (``2pt``, ``5%``, ``0.3``) and typed values at key paths.

Every failure is one ConfigError naming the key path, and saying when the value came from the
command line (``--set``) rather than the file.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ci_gate.errors import ConfigError

_AMOUNT_RE = re.compile(r"^(-?[0-9]+(?:\.[0-9]+)?)(pt|%)$")


@dataclass(frozen=True)
class Amount:
    """An allowed change or a floor, as written: ``value`` in ``unit`` (pt, % or abs)."""

    value: float
    unit: Literal["pt", "%", "abs"]
    text: str

    def absolute(self, base: float | None) -> float | None:
        """The amount in the metric's unit; a relative one needs the base value (None: none)."""
        if self.unit == "pt":
            return self.value / 100.0
        if self.unit == "%":
            return None if base is None else abs(base) * self.value / 100.0
        return self.value

    def share(self) -> float:
        """The amount as a share of 1, for floors and budgets: ``80%`` and ``80pt`` are 0.8."""
        return self.value if self.unit == "abs" else self.value / 100.0


class Reader:
    """Checks values at key paths; every failure is one ConfigError naming the path."""

    def __init__(self, where: str, overridden: frozenset[str]) -> None:
        self.where = where
        self.overridden = overridden

    def fail(self, path: str, message: str) -> ConfigError:
        origin = " (set on the command line)" if path in self.overridden else ""
        where = f"{self.where}.{path}" if path else self.where
        # Keys come from a file that may have been edited by hand: keep the message one line.
        text = "".join(ch if ch.isprintable() else "?" for ch in f"{where}: {message}{origin}")
        return ConfigError(text)

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...] | None) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"expected a mapping, got {kind_of(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(path, f"keys must be strings, got {kind_of(key)}")
            if allowed is not None and key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"expected one of {allowed}"
                raise self.fail(f"{path}.{key}".lstrip("."), f"unknown key ({hint})")
        return value

    def number(
        self,
        value: Any,
        path: str,
        low: float,
        high: float,
        *,
        open_low: bool = False,
        open_high: bool = False,
    ) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise self.fail(path, f"expected a number, got {kind_of(value)}")
        too_low = value <= low if open_low else value < low
        too_high = value >= high if open_high else value > high
        if too_low or too_high:
            lo, hi = ("(" if open_low else "["), (")" if open_high else "]")
            raise self.fail(path, f"must be in {lo}{low:g}, {high:g}{hi}, got {value!r}")
        return float(value)

    def integer(self, value: Any, path: str, low: int, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"expected an integer, got {kind_of(value)}")
        if value < low or (high is not None and value > high):
            bounds = f">= {low}" if high is None else f"between {low} and {high}"
            raise self.fail(path, f"must be {bounds}, got {value}")
        return value

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {kind_of(value)}")
        return value

    def amount(self, value: Any, path: str, *, points: bool = True) -> Amount:
        if isinstance(value, str):
            match = _AMOUNT_RE.match(value.strip())
            if not match:
                raise self.fail(
                    path, f"{value[:40]!r} is not an amount (write 2pt, 10% or a plain number)"
                )
            amount = Amount(float(match.group(1)), match.group(2), value.strip())  # type: ignore[arg-type]
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise self.fail(path, "expected a finite number")
            amount = Amount(float(value), "abs", f"{value:g}")
        else:
            raise self.fail(
                path, f"expected an amount (2pt, 10% or a number), got {kind_of(value)}"
            )
        if amount.value < 0:
            raise self.fail(path, f"must not be negative, got {amount.text}")
        if amount.unit == "pt" and not points:
            raise self.fail(
                path,
                "points (pt) apply to rates and scores; write a relative amount such as 25% "
                "or a plain number in the metric's unit",
            )
        return amount


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
