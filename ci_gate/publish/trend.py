"""Charts of the main metrics over recent baselines, as mermaid ``xychart-beta`` blocks.

GitHub renders mermaid code blocks in comments and job summaries. Everything that goes into the
chart is ours or reduced to a safe alphabet: labels are short commit SHAs (``[0-9a-f]`` only)
and values are numbers, so nothing can break out of the chart or the code block.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

MAX_POINTS = 30
SHORT_SHA = 7
_NOT_HEX_RE = re.compile("[^0-9a-f]+")

TrendPoint = tuple[str, float | None, float | None]
"""(commit SHA, pass rate in [0, 1], p95 latency in milliseconds), oldest first."""


def _label(raw: str) -> str:
    return _NOT_HEX_RE.sub("", raw.lower())[:SHORT_SHA]


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _number(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _chart(title: str, axis: str, labels: list[str], values: list[float], top: float) -> str:
    x_axis = ", ".join(f'"{label}"' for label in labels)
    points = ", ".join(_number(v) for v in values)
    return (
        "```mermaid\n"
        "xychart-beta\n"
        f'    title "{title}"\n'
        f"    x-axis [{x_axis}]\n"
        f'    y-axis "{axis}" 0 --> {_number(top)}\n'
        f"    line [{points}]\n"
        "```"
    )


def _latency_top(values: list[float]) -> float:
    """A round upper bound a little above the highest value, so the line is not at the edge."""
    highest = max(values) * 1.1
    if highest <= 0:
        return 1.0
    step = 10.0 ** math.floor(math.log10(highest))
    return float(math.ceil(highest / step) * step)


def trend_charts(points: Sequence[TrendPoint], max_points: int = MAX_POINTS) -> str:
    """Markdown with a pass-rate chart and, when there is latency, a p95 chart; or "".

    Points without a usable label are skipped; each chart needs at least two points, and only
    the most recent ``max_points`` are drawn.
    """
    usable = [(_label(sha), rate, p95) for sha, rate, p95 in points if _label(sha)]
    usable = usable[-max_points:]
    rates = [(label, rate) for label, rate, _ in usable if rate is not None and _finite(rate)]
    charts: list[str] = []
    if len(rates) >= 2:
        charts.append(
            _chart(
                "Pass rate over recent baselines",
                "Pass rate (%)",
                [label for label, _ in rates],
                [min(100.0, max(0.0, rate * 100)) for _, rate in rates],
                100.0,
            )
        )
    latency = [(label, p95) for label, _, p95 in usable if p95 is not None and _finite(p95)]
    latency = [(label, max(0.0, value)) for label, value in latency]
    if len(latency) >= 2:
        values = [value for _, value in latency]
        charts.append(
            _chart(
                "p95 latency over recent baselines",
                "p95 latency (ms)",
                [label for label, _ in latency],
                values,
                _latency_top(values),
            )
        )
    return "\n\n".join(charts)
