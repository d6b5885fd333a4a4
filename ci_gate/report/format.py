"""Numbers as the reports show them: rates in percent, changes in points, money, milliseconds.

Every function accepts ``None`` (a value the comparison could not compute) and returns
:data:`MISSING` for it, so callers never branch on missing values. Output is plain ASCII-safe
text that needs no escaping in markdown, HTML or XML.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

MISSING = "—"


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return value


def _signed(value: float, decimals: int) -> str:
    text = f"{value:+,.{decimals}f}"
    # "-0.0" and "+0.0" say a direction that the number does not have.
    return text[1:] if round(value, decimals) == 0 else text


def percent(rate: float | None, decimals: int = 1) -> str:
    """A fraction as a percentage: 0.8235 -> "82.4%"."""
    value = _finite(rate)
    return MISSING if value is None else f"{value * 100:.{decimals}f}%"


def points(delta: float | None) -> str:
    """A change of a fraction in percentage points: -0.041 -> "-4.1 pt"."""
    value = _finite(delta)
    return MISSING if value is None else f"{_signed(value * 100, 1)} pt"


def points_words(delta: float) -> str:
    """A size in points for a sentence: 0.041 -> "4.1 points"."""
    size = abs(delta) * 100
    return f"{size:.1f} point" + ("" if f"{size:.1f}" == "1.0" else "s")


def interval(low: float | None, high: float | None, scale: float = 1.0, decimals: int = 1) -> str:
    """A confidence interval, scaled: "(-6.0 to -2.2)"; empty when either end is unknown."""
    lo, hi = _finite(low), _finite(high)
    if lo is None or hi is None:
        return ""
    return f"({_signed(lo * scale, decimals)} to {_signed(hi * scale, decimals)})"


def with_interval(change: str, ci: str) -> str:
    return f"{change} {ci}" if ci and change != MISSING else change


def score(value: float | None) -> str:
    """A mean score in [0, 1] with three decimals: "0.842"."""
    v = _finite(value)
    return MISSING if v is None else f"{v:.3f}"


def score_change(delta: float | None) -> str:
    v = _finite(delta)
    return MISSING if v is None else _signed(v, 3)


def ms(value: float | None) -> str:
    """Milliseconds: "812 ms", "1,204 ms"; below 10 ms with one decimal."""
    v = _finite(value)
    if v is None:
        return MISSING
    return f"{v:.1f} ms" if abs(v) < 10 else f"{v:,.0f} ms"


def relative(delta: float | None, base: float | None) -> str:
    """``delta`` relative to ``base`` in percent: "+11.5%"; missing when base is zero."""
    d, b = _finite(delta), _finite(base)
    if d is None or b is None or b == 0:
        return MISSING
    return f"{_signed(d / abs(b) * 100, 1)}%"


def relative_interval(low: float | None, high: float | None, base: float | None) -> str:
    b = _finite(base)
    if b is None or b == 0:
        return ""
    return interval(low, high, scale=100 / abs(b)).replace(")", "%)").replace(" to", "% to")


def dollars(value: float | None) -> str:
    """Money with precision that suits its size: "$1,234", "$12.35", "$0.0213", "$0.00004"."""
    v = _finite(value)
    if v is None:
        return MISSING
    if v < 0:
        return "-" + dollars(-v)
    size = abs(v)
    if size >= 1000:
        return f"${v:,.0f}"
    if size >= 1 or size == 0:
        return f"${v:,.2f}"
    # Three significant digits, trailing zeros dropped down to two decimals.
    decimals = max(2, 2 - math.floor(math.log10(size)))
    text = f"{v:.{decimals}f}"
    whole, frac = text.split(".")
    return f"${whole}.{frac.rstrip('0').ljust(2, '0')}"


def count(value: float | None) -> str:
    """A count or a mean count (tokens per case): "1,234", "8.5"."""
    v = _finite(value)
    if v is None:
        return MISSING
    return f"{v:,.1f}" if abs(v) < 10 and v != int(v) else f"{v:,.0f}"


def p_value(p: float | None) -> str:
    """A p-value: "<0.001", "0.003", "0.04", "0.41", "1"."""
    v = _finite(p)
    if v is None:
        return MISSING
    if v < 0.001:
        return "<0.001"
    if v >= 0.995:
        return "1"
    return f"{v:.3f}" if v < 0.01 else f"{v:.2f}"


def confidence(level: object) -> str:
    """A confidence level from the comparison's settings as "95%"; 95% when not set."""
    if isinstance(level, (int, float)) and not isinstance(level, bool) and 0 < level < 1:
        return f"{level * 100:g}%"
    return "95%"


def _parse_time(text: str) -> datetime | None:
    try:
        # Python 3.10's fromisoformat does not read a "Z" suffix.
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" + ("" if n == 1 else "s")


def age(older: str, newer: str) -> str | None:
    """How much older the run that finished at ``older`` is than the one at ``newer``.

    "3 days", "5 hours", "12 minutes", "less than a minute"; None when either timestamp is
    unreadable or ``older`` is in fact the later one.
    """
    start, end = _parse_time(older), _parse_time(newer)
    if start is None or end is None:
        return None
    seconds = (end - start).total_seconds()
    if seconds < 0:
        return None
    if seconds < 60:
        return "less than a minute"
    if seconds < 3600:
        return _plural(int(seconds // 60), "minute")
    if seconds < 48 * 3600:
        return _plural(int(seconds // 3600), "hour")
    return _plural(int(seconds // 86400), "day")


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """ "1 case", "12 cases" with thousands separators."""
    word = singular if n == 1 else (plural_form or singular + "s")
    return f"{n:,} {word}"
