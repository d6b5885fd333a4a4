from __future__ import annotations

import io

from ci_gate.run.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_ci_mode_prints_one_line_every_few_seconds() -> None:
    out, clock = io.StringIO(), Clock()
    p = Progress(100, out, live=False, clock=clock)
    for i in range(100):
        clock.now = i * 0.1  # 10 s in all
        p.update(error=i % 10 == 0, failed=i % 5 == 0, cached=False)
    p.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 1  # at t=5.0 s; closing adds nothing in CI mode
    assert lines[0].startswith("ci-gate: progress 51/100 (51%) failed")
    assert "errors 6" in lines[0]
    assert "\r" not in out.getvalue()


def test_terminal_mode_redraws_one_line_and_ends_with_newline() -> None:
    out, clock = io.StringIO(), Clock()
    p = Progress(4, out, live=True, clock=clock)
    for i in range(4):
        clock.now = 0.2 * (i + 1)
        p.update(error=False, failed=False, cached=True)
    p.close()
    text = out.getvalue()
    assert text.count("\r") == 5 and text.endswith("\n")
    assert "[########################] 4/4 (100%)" in text
    assert "cached 4" in text


def test_disabled_prints_nothing() -> None:
    out, clock = io.StringIO(), Clock()
    p = Progress(3, out, live=True, enabled=False, clock=clock)
    clock.now = 100
    p.update(error=False, failed=False, cached=False)
    p.close()
    assert out.getvalue() == ""
