"""Measure the HTML report viewer: page build time and size, and how fast Chromium shows it.

Builds two runs of ``--cases`` cases (the realistic runs of ``bench_compare.py``: tags, groups,
flaky cases, a head run 2 points worse, cached records, errors; outputs of ``--output-chars``
characters), compares them, then prints ``name: value unit`` lines:

* ``viewer_data``: building the embedded document from the comparison and both runs;
* ``page_write``: serialising, escaping and writing the page; ``page_size``;
* in headless Chromium (Debian's, through Selenium; skipped when absent), from a file:// URL:
  ``first_contentful_paint`` and ``dom_content_loaded`` (the viewer has drawn the verdict, the
  metrics and the first 200 rows by then), ``load`` (all of it), and ``filter_regressed`` (choose
  "regressed" in the status filter until the table is redrawn), best of ``--repeat`` loads.

    python bench/bench_html.py
    python bench/bench_html.py --cases 20000 --output-chars 2000
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_compare import build  # noqa: E402

from ci_gate.compare.compare import compare  # noqa: E402
from ci_gate.gate.decide import decide  # noqa: E402
from ci_gate.gate.policy import parse_policy  # noqa: E402
from ci_gate.report.html import page_chunks  # noqa: E402
from ci_gate.report.html_data import viewer_data  # noqa: E402
from ci_gate.results.model import Results  # noqa: E402

_FILTER = """
var done = arguments[0], select = document.getElementById('f-status');
var start = performance.now();
window.addEventListener('hashchange', function () { done(performance.now() - start); },
  {once: true});
select.value = 'regressed';
select.dispatchEvent(new Event('change'));
"""


def _with_outputs(run: Results, chars: int, salt: str) -> Results:
    """Each record's output made ``chars`` long, different per case and per run."""
    filler = "The refund arrives within 30 days of the return being received. "
    records = tuple(
        r
        if r.output is None
        else dataclasses.replace(r, output=(f"{r.case_id} {salt} " + filler * chars)[:chars])
        for r in run.records
    )
    return dataclasses.replace(run, records=records)


def _browser(path: Path, repeat: int) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.browser.chromium import CHROMEDRIVER, CHROMIUM, chromium

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        print("browser: skipped (apt-get install chromium chromium-driver)")
        return
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as profile, chromium(Path(profile)) as driver:
        for _ in range(repeat):
            driver.get("about:blank")
            start = time.perf_counter()
            driver.get(path.as_uri())
            wall = (time.perf_counter() - start) * 1000
            nav = driver.execute_script(
                "var n = performance.getEntriesByType('navigation')[0];"
                "var p = performance.getEntriesByName('first-contentful-paint')[0];"
                "return [p ? p.startTime : -1, n.domContentLoadedEventEnd, n.loadEventEnd];"
            )
            driver.set_script_timeout(30)
            filtered = driver.execute_async_script(_FILTER)
            figures = {
                "first_contentful_paint": nav[0],
                "dom_content_loaded": nav[1],
                "load": nav[2],
                "get_wall": wall,
                "filter_regressed": filtered,
            }
            for name, value in figures.items():
                best[name] = min(best.get(name, float("inf")), value)
        rows = driver.execute_script("return document.querySelectorAll('#case-rows tr').length")
    for name, value in best.items():
        print(f"{name}: {value:.0f} ms")
    print(f"rows_drawn: {rows} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--output-chars", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    base, head = build(args.cases, args.samples, args.seed)
    base = _with_outputs(base, args.output_chars, "base")
    head = _with_outputs(head, args.output_chars, "head")
    comparison = compare(base, head)
    gate = decide(comparison, parse_policy(base.run.gate), "pr")
    print(f"cases: {args.cases} cases x {args.samples} samples, verdict {gate.verdict}")

    start = time.perf_counter()
    data = viewer_data(comparison, gate, base, head)
    print(f"viewer_data: {time.perf_counter() - start:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        start = time.perf_counter()
        with path.open("w", encoding="utf-8") as f:
            for chunk in page_chunks(data):
                f.write(chunk)
        print(f"page_write: {time.perf_counter() - start:.2f} s")
        print(f"page_size: {path.stat().st_size / 1e6:.1f} MB")
        _browser(path, args.repeat)


if __name__ == "__main__":
    main()
