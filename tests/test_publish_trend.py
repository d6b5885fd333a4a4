"""The mermaid trend charts of pass rate and p95 latency over recent baselines."""

from __future__ import annotations

import math
import re

from ci_gate.publish.trend import trend_charts


def test_fewer_than_two_points_make_no_chart() -> None:
    assert trend_charts([]) == ""
    assert trend_charts([("abc1234", 0.9, 120.0)]) == ""
    assert trend_charts([("abc1234", 0.9, 120.0), ("zzzz", 0.8, 130.0)]) == ""


def test_two_charts_with_short_sha_labels() -> None:
    charts = trend_charts([("ABCDEF1234567890", 0.9, 1200.0), ("0123456789abcdef", 0.855, 1400.0)])
    assert charts == (
        "```mermaid\n"
        "xychart-beta\n"
        '    title "Pass rate over recent baselines"\n'
        '    x-axis ["abcdef1", "0123456"]\n'
        '    y-axis "Pass rate (%)" 0 --> 100.0\n'
        "    line [90.0, 85.5]\n"
        "```\n\n"
        "```mermaid\n"
        "xychart-beta\n"
        '    title "p95 latency over recent baselines"\n'
        '    x-axis ["abcdef1", "0123456"]\n'
        '    y-axis "p95 latency (ms)" 0 --> 2000.0\n'
        "    line [1200.0, 1400.0]\n"
        "```"
    )


def test_hostile_labels_and_odd_values_cannot_break_the_chart() -> None:
    points = [
        ('a1"] \n```\n<!-- x', 0.5, None),
        ("b2\u202e::error::", math.nan, math.inf),
        ("c3`@team #12", 1.7, -5.0),
        ("d4", -0.2, None),
    ]
    charts = trend_charts(points)
    assert charts.count("```") == 2  # only the pass-rate chart: one latency point is usable
    assert '["a1", "c3ea12", "d4"]' in charts
    assert "line [50.0, 100.0, 0.0]" in charts
    for line in charts.split("\n"):
        assert re.fullmatch(r'[ A-Za-z0-9"\[\],.()%>-]*|```(mermaid)?|xychart-beta', line), line


def test_only_the_most_recent_points_are_drawn() -> None:
    points = [(f"{i:07x}", i / 100, float(i)) for i in range(50)]
    charts = trend_charts(points, max_points=5)
    assert '["000002d", "000002e", "000002f", "0000030", "0000031"]' in charts
    assert "line [45.0, 46.0, 47.0, 48.0, 49.0]" in charts
