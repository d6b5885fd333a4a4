"""The HTML report without a browser: the JSON embedding, the CSP hashes, the page's data."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from ci_gate.compare.compare import compare
from ci_gate.report.html import assets, content_security_policy, embed_json, render_html
from ci_gate.report.html_data import (
    OUTPUT_CAP,
    OUTPUT_FLOOR,
    histogram,
    viewer_data,
)
from tests.browser.pages import (
    HOSTILE_ID,
    HOSTILE_MODE,
    HOSTILE_OUTPUT,
    SPEC_REGRESSED,
    compared,
    status_counts,
    write_page,
)
from tests.factories import outcome as assertion
from tests.factories import results, scored
from tests.hostile_corpus import EVERY_HOSTILE


class _Page(HTMLParser):
    """The page's elements, the text of each script and style, and the CSP meta tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.blocks: list[tuple[str, dict[str, str | None], str]] = []
        self._open: tuple[str, dict[str, str | None]] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._open, self._text = (tag, dict(attrs)), []

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag == self._open[0]:
            self.blocks.append((tag, self._open[1], "".join(self._text)))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def csp_of(parsed: _Page) -> str:
    (meta,) = [a for t, a in parsed.tags if t == "meta" and a.get("http-equiv")]
    assert meta["http-equiv"] == "Content-Security-Policy"
    return str(meta["content"])


SKELETON_TAGS = [t for t, _ in parse(render_html({"title": "t"})).tags]


def inert_page(text: str) -> Any:
    """The data a report page embeds, once the page is shown to be ci-gate's skeleton around it:
    only the skeleton's elements; one JSON block without ``<``, ``>``, ``&``, U+2028 or U+2029,
    then the viewer's script; the CSP allowing exactly the inlined script and style; and the
    page byte for byte what ci-gate writes for that data, so that no text of the data is outside
    the block but the title, escaped."""
    parsed = parse(text)
    assert [t for t, _ in parsed.tags] == SKELETON_TAGS
    scripts = [(a, body) for t, a, body in parsed.blocks if t == "script"]
    assert [a.get("type") for a, _ in scripts] == ["application/json", None]
    block = scripts[0][1]
    assert not set("<>&\u2028\u2029") & set(block)
    assert csp_of(parsed) == content_security_policy(*assets())
    data = json.loads(block)
    assert text == render_html(data)
    return data


def sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    path = tmp_path_factory.mktemp("html") / "report.html"
    data = write_page(path)
    return path.read_text("utf-8"), data


# --- embedding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "</script><script>alert(1)</script>",
        "</SCRIPT >",
        "<!-- <script>",
        "a\u2028b\u2029c",
        "&lt;&amp;",
        "]]>",
        *EVERY_HOSTILE[:60],
    ],
)
def test_embedded_json_cannot_break_out_and_reads_back_the_same(text: str) -> None:
    embedded = embed_json({"out": text, "k": [text]})
    assert not set("<>&\u2028\u2029") & set(embedded)
    assert json.loads(embedded) == {"out": text, "k": [text]}


def test_the_page_has_exactly_one_data_block_and_one_script_whatever_the_data(
    page: tuple[str, dict[str, Any]],
) -> None:
    text, data = page
    assert inert_page(text) == json.loads(json.dumps(data))
    # The hostile output is in the page only inside the data, escaped.
    assert "window.__pwned" in text and "<img" not in text
    with pytest.raises(AssertionError):  # the check sees a page that lets markup out
        inert_page(text.replace("\\u003cimg", "<img", 1))


def test_the_csp_allows_exactly_the_inlined_script_and_style_and_no_network(
    page: tuple[str, dict[str, Any]],
) -> None:
    text, _ = page
    parsed = parse(text)
    csp = csp_of(parsed)
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    script = next(body for t, a, body in parsed.blocks if t == "script" and not a.get("type"))
    style = next(body for t, _, body in parsed.blocks if t == "style")
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == sha(script)
    assert directives["style-src"] == sha(style)
    assert directives["img-src"] == "data:"
    assert "unsafe" not in csp and "http" not in csp and "connect-src" not in directives
    assert (script, style) == assets()
    assert csp == content_security_policy(script, style)


def test_the_viewer_never_parses_text_as_markup_and_is_small() -> None:
    script, style = assets()
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert forbidden not in script, forbidden
    assert not re.search(r"new\s+Function|setTimeout\(\s*[\"']", script)
    assert "http://" not in style and "https://" not in style and "url(" not in style
    skeleton = render_html({"title": "t", "report": {}, "cases": []})
    assert len(skeleton.encode("utf-8")) < 60_000


def test_the_title_is_escaped_in_the_head() -> None:
    text = render_html({"title": "</title><script>alert(1)</script>"})
    assert "&lt;/title&gt;&lt;script&gt;" in text
    assert text.count("<script") == 2


# --- the data -----------------------------------------------------------------------------------


def test_every_case_of_both_runs_is_there_with_its_status(page: tuple[str, dict[str, Any]]) -> None:
    _, data = page
    counts = status_counts(data)
    assert counts == {
        "regressed": 16,
        "fixed": 4,
        "errored": 2,
        "failing": 1,
        "unchanged": 30,
        "added": 1,
        "removed": 1,
    }
    by_id = {c["id"]: c for c in data["cases"]}
    assert by_id["added-case"]["base"] is None and by_id["removed-case"]["head"] is None
    assert by_id["timeout-00"]["head"]["err"] == "timeout: the provider did not answer in 30 s"
    regressed = by_id["format-00"]
    assert regressed["layers"] == ["format"] and regressed["tags"] == ["refunds", "format"]
    (failing,) = [a for a in regressed["asserts"] if a["head"] == [0, 1]]
    assert failing["base"] == [1, 1]
    assert failing["hmsg"] == "expected 'refund policy' in the answer of format-00"
    assert by_id[HOSTILE_ID]["head"]["out"] == HOSTILE_OUTPUT
    assert data["report"]["verdict"] == "fail"
    assert "cases" not in data["report"]["comparison"]


def test_cases_carry_their_links_to_the_spec_and_the_report_its_impact(
    page: tuple[str, dict[str, Any]],
) -> None:
    _, data = page
    by_id = {c["id"]: c for c in data["cases"]}
    # Through an assertion: the case lists the name, and so does that assertion alone.
    refund = by_id["refund-00"]
    assert refund["fm"] == ["invents-refund-policy"] and "bh" not in refund
    linked = {a["name"]: a.get("fm") for a in refund["asserts"]}
    assert linked == {"mentions-policy": ["invents-refund-policy"], "polite": None}
    assert by_id["ok-00"]["fm"] == ["leaks-data"] and by_id["ok-00"]["bh"] == ["greets"]
    assert by_id[HOSTILE_ID]["fm"] == [HOSTILE_MODE]
    assert "fm" not in by_id["still-bad"] and "bh" not in by_id["still-bad"]  # no empty lists
    comparison = data["report"]["comparison"]
    impact = {i["item"]["name"]: set(i["regressed"]) for i in comparison["spec_impact"]}
    assert {k: v for k, v in impact.items() if v} == SPEC_REGRESSED
    assert comparison["head"]["spec"]["optimise_for"] == "quality.pass_rate"
    assert data["layer_hints"]["knowledge"]["name"] == "knowledge / retrieval"


def test_trend_points_are_the_history_then_this_run(page: tuple[str, dict[str, Any]]) -> None:
    _, data = page
    points = data["trend"]["points"]
    assert [p["pass_rate"] for p in points[:3]] == [0.95, 0.97, 0.96]
    assert [p["current"] for p in points] == [False, False, False, True]
    base, head, comparison, gate = compared()
    assert viewer_data(comparison, gate, base, head)["trend"]["points"] == []


def test_long_outputs_are_cut_and_say_by_how_much() -> None:
    long = "x" * (OUTPUT_CAP + 123)
    base = results([scored("a", 0, assertion("ok", True), output="short")])
    head = results([scored("a", 0, assertion("ok", True), output=long)])
    comparison = compare(base, head, resamples=100)
    from ci_gate.gate.decide import decide
    from ci_gate.gate.policy import parse_policy

    gate = decide(comparison, parse_policy({}), "pr")
    (case,) = viewer_data(comparison, gate, base, head)["cases"]
    assert len(case["head"]["out"]) == OUTPUT_CAP and case["head"]["cut"] == 123
    assert case["base"] == {**case["base"], "out": "short", "cut": 0}


def test_many_outputs_share_a_budget_but_keep_a_floor() -> None:
    from ci_gate.report import html_data

    assert html_data._output_cap(10) == OUTPUT_CAP
    assert html_data._output_cap(10_000) == 2_000
    assert html_data._output_cap(10_000_000) == OUTPUT_FLOOR


def test_secrets_are_masked_in_every_string() -> None:
    base, head, comparison, gate = compared()
    data = viewer_data(comparison, gate, base, head, secrets=["refund policy"])
    assert "refund policy" not in json.dumps(data)
    assert "***" in json.dumps(data)


def test_histogram_shares_bins_and_counts_outliers_in_the_last() -> None:
    base = [10.0] * 50 + [20.0] * 49 + [10_000.0]
    head = [15.0] * 100
    h = histogram(base, head, bins=10)
    assert sum(h["base"]) == 100 and sum(h["head"]) == 100 and h["n"] == [100, 100]
    assert len(h["edges"]) == 11 and h["edges"][0] == 0
    assert h["base"][-1] >= 1  # the 10-second outlier, not a bin of its own far away
    assert histogram([], [])["edges"] == []


def test_the_page_is_written_atomically_and_whole(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "report.html"
    write_page(target)
    text = target.read_text("utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]
