"""The markdown report: golden files, layout invariants under hostile text, budgets, sentences."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from ci_gate.compare.model import Comparison
from ci_gate.gate.model import GateResult
from ci_gate.report import format as fmt
from ci_gate.report.markdown import render_markdown
from ci_gate.report.md_layers import intervention_sentence
from tests.hostile_corpus import one_megabyte
from tests.report_fixtures import SCENARIOS, assert_golden, case, failing, hostile, passing

# --- checks of the markdown's structure ----------------------------------------------------------

_FENCE_OPEN_RE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_FENCE_CLOSE_RE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*")
_MENTION_RE = re.compile(r"(?<![A-Za-z0-9_])@[A-Za-z0-9]")
_REFERENCE_RE = re.compile(r"(?<![&A-Za-z0-9_])#\d|(?<![A-Za-z0-9_])gh-\d", re.IGNORECASE)
_INVISIBLE_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_TAG_RE = re.compile(r"<(/?[A-Za-z][A-Za-z0-9-]*)")
_OWN_TAGS = {"details", "/details", "summary", "/summary", "sub", "/sub", "br"}
_SEPARATOR_RE = re.compile(r"\|(:?-+:?\|)+")


def split_fences(markdown: str) -> tuple[list[str], list[str], bool]:
    """(lines outside fenced code, lines inside, whether every fence was closed)."""
    outside: list[str] = []
    inside: list[str] = []
    fence: tuple[str, int] | None = None
    for line in markdown.split("\n"):
        if fence is None:
            opening = _FENCE_OPEN_RE.fullmatch(line)
            if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
                fence = (opening.group(1)[0], len(opening.group(1)))
            else:
                outside.append(line)
            continue
        close = _FENCE_CLOSE_RE.fullmatch(line)
        if close and close.group(1)[0] == fence[0] and len(close.group(1)) >= fence[1]:
            fence = None
        else:
            inside.append(line)
    return outside, inside, fence is None


def _cells(row: str) -> int:
    """Unescaped pipes in a table row (a pipe after an odd run of backslashes is literal)."""
    return sum(1 for m in re.finditer(r"(\\*)\|", row) if len(m.group(1)) % 2 == 0)


def assert_safe_markdown(markdown: str, limit: int) -> None:
    assert len(markdown) <= limit
    outside, _inside, closed = split_fences(markdown)
    assert closed, "a fenced code block is left open"
    text = "\n".join(outside)
    assert "<!--" not in markdown
    assert not _MENTION_RE.search(text), _MENTION_RE.search(text)
    assert not _REFERENCE_RE.search(text), _REFERENCE_RE.search(text)
    assert not _INVISIBLE_RE.search(markdown)
    assert "\r" not in markdown
    assert set(_TAG_RE.findall(text)) <= _OWN_TAGS, set(_TAG_RE.findall(text)) - _OWN_TAGS
    assert text.count("<details>") == text.count("</details>")
    table: list[str] = []
    for line in [*outside, ""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            assert len(table) >= 2 and _SEPARATOR_RE.fullmatch(table[1].replace(" ", "")), table
            assert {_cells(row) for row in table} == {_cells(table[0])}, table
        table = []


# --- golden files ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_report_matches_golden_file(name: str) -> None:
    comparison, gate = SCENARIOS[name]()
    markdown = render_markdown(comparison, gate)
    assert_safe_markdown(markdown, 60_000)
    assert_golden(f"report_{name}.md", markdown)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_report_is_deterministic_and_headed_by_its_verdict(name: str) -> None:
    comparison, gate = SCENARIOS[name]()
    first = render_markdown(comparison, gate)
    assert first == render_markdown(*SCENARIOS[name]())
    mark = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️", "error": "🛑"}[gate.verdict]
    assert first.startswith(f"## {mark} {gate.verdict.capitalize()} — ")


# --- hostile text ------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [60_000, 20_000, 6_000, 1_500])
def test_hostile_text_cannot_break_the_report(limit: int) -> None:
    comparison, gate = hostile()
    markdown = render_markdown(comparison, gate, limit=limit, title="@org/team <!-- x --> #9")
    assert_safe_markdown(markdown, limit)
    assert "＠org/team" in markdown  # shown, defused: not silently dropped


def test_hostile_report_keeps_every_section_by_shrinking_the_cases() -> None:
    comparison, gate = hostile()
    markdown = render_markdown(comparison, gate)
    for heading in ("Quality", "Newly failing cases (24)", "What changed between the runs"):
        assert f"### {heading}" in markdown
    assert "more characters)" in markdown  # the 1 MB output was cut, and says so
    assert "Baseline: `9f3c2a1` on main" in markdown


# --- length budget -----------------------------------------------------------------------------


def _many_regressions(count: int, output_size: int) -> tuple[Comparison, GateResult]:
    comparison, gate = failing()
    big = ("The refund policy says " * (output_size // 23 + 1))[:output_size]
    cases = tuple(
        case(f"case-{i:03d}", "regressed", head_output=big + str(i), severity=1000.0 - i)
        for i in range(count)
    )
    return replace(comparison, cases=cases), gate


def test_many_large_cases_are_shrunk_then_left_out_but_the_footer_stays() -> None:
    comparison, gate = _many_regressions(200, 5000)
    markdown = render_markdown(comparison, gate)
    assert_safe_markdown(markdown, 60_000)
    assert "### Newly failing cases (200)" in markdown
    assert "more not shown" in markdown
    assert markdown.index("case-000") < markdown.index("case-001")  # worst first
    assert "### What changed between the runs" in markdown
    assert "3 days older than this run" in markdown
    assert "cut to" not in markdown  # the budget made a cut note unnecessary


def test_at_most_twenty_regressed_cases_are_shown() -> None:
    comparison, gate = _many_regressions(25, 10)
    markdown = render_markdown(comparison, gate)
    assert markdown.count("<details><summary>case-") == 20
    assert "… and 5 more not shown" in markdown


def test_a_report_cut_short_says_what_it_lost() -> None:
    comparison, gate = failing()
    markdown = render_markdown(comparison, gate, limit=2_500)
    assert_safe_markdown(markdown, 2_500)
    assert markdown.rstrip().endswith("_")
    note = markdown.rstrip().rsplit("\n", 1)[-1]
    assert "cut to 2,500 characters" in note
    assert "What changed between the runs" in note
    assert "Quality" not in note  # kept, so not listed as lost
    assert markdown.startswith("## ❌ Fail")


# --- content ----------------------------------------------------------------------------------


def _row(markdown: str, first_cell: str) -> list[str]:
    for line in markdown.split("\n"):
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no table row starts with {first_cell!r}")


def test_quality_latency_and_cost_rows() -> None:
    markdown = render_markdown(*failing())
    assert _row(markdown, "pass rate") == [
        "pass rate", "87.0%", "82.5%", "-4.5 pt (-7.5 to -1.5)", "0.004", "12 / 3",
        "❌ max drop 2pt",
    ]  # fmt: skip
    assert _row(markdown, "p95") == [
        "p95", "1,840 ms", "2,210 ms", "+20.1% (+4.0% to +38.2%)", "✅ max +25%"
    ]  # fmt: skip
    assert _row(markdown, "cost per case")[1:4] == [
        "$0.00355",
        "$0.00371",
        "+4.5% (+3.2% to +5.9%)",
    ]
    assert _row(markdown, "spent in this run (cache hits are free)")[1:3] == ["$0.71", "$0.12"]
    assert "Error rate: 0.0% on the baseline, 0.5% in this run." in markdown


def test_the_headline_explains_in_words_and_keeps_p_in_the_tables() -> None:
    markdown = render_markdown(*failing())
    head = markdown.split("### Quality")[0]
    assert "**The pass rate fell 4.5 points, more than the 2-point margin" in head
    assert "- 12 cases that passed on the baseline now fail, 3 now pass." in head
    assert "Pull-request mode" in head
    assert "p=" not in head and "McNemar" not in markdown


def test_slices_that_moved_are_sorted_worst_first_with_adjusted_p() -> None:
    markdown = render_markdown(*failing())
    section = markdown.split("### Slices that moved")[1].split("###")[0]
    order = [line.split("|")[1].strip() for line in section.split("\n") if line.startswith("| ")]
    assert order == ["slice (tag)", "refunds", "policy", "billing"]  # shipping did not move
    assert _row(section, "policy")[5] == "0.33"  # the Benjamini-Hochberg p from the gate check
    assert "Benjamini-Hochberg" in section


def test_where_to_intervene_names_the_change_and_the_layers() -> None:
    comparison, gate = failing()
    expected = (
        'The prompt "support" changed; 12 cases regressed on output format (layer format) and '
        "3 on knowledge / retrieval (layer knowledge)."
    )
    assert intervention_sentence(comparison) == expected
    assert expected in render_markdown(comparison, gate)


def test_where_to_intervene_without_a_recorded_change() -> None:
    comparison, _ = failing()
    comp = replace(comparison.comparability, prompts_changed=())
    lone = case("x-01", "regressed", layers=())
    sentence = intervention_sentence(replace(comparison, comparability=comp, cases=(lone,)))
    assert sentence is not None
    assert sentence.startswith("No prompt, target, assertion or price changed between the runs")
    assert sentence.endswith("1 case regressed on assertions without a layer.")


def test_where_to_intervene_lists_several_changes() -> None:
    comparison, _ = failing()
    comp = replace(
        comparison.comparability, prompts_changed=("system", "few-shot"), target_changed=True
    )
    sentence = intervention_sentence(replace(comparison, comparability=comp))
    assert sentence is not None
    assert sentence.startswith(
        'The prompts "system" and "few-shot" and the target (model or its parameters) changed; '
    )
    assert intervention_sentence(passing()[0]) is None


def test_newly_failing_case_block_shows_input_expected_outputs_and_diff() -> None:
    markdown = render_markdown(*failing())
    block = markdown.split("<details><summary>refund-03")[1].split("</details>")[0]
    assert block.startswith(" — refunds, policy — reply-is-json, mentions-policy</summary>")
    assert '```json\n{"lang":"de","question":"Refund order 03? It arrived broken."}\n```' in block
    assert "+Sure! I have refunded 42.50 EUR to your card." in block
    assert "**mentions-policy** (contains, knowledge / retrieval) — passed on the baseline" in block
    assert markdown.index("refund-03") < markdown.index("refund-01")  # higher severity first
    assert "<details><summary>billing-01 — billing — passes now</summary>" in markdown


def test_added_removed_and_changed_cases_are_listed_apart() -> None:
    markdown = render_markdown(*failing())
    section = markdown.split("### What changed between the runs")[1]
    assert "- Added in this run (1): refund-new-01" in section
    assert "- Changed inputs, expectation or assertions (1): refund-31" in section
    assert "never counted as regressions" in section
    assert "refund-31" not in markdown.split("### What changed")[0]


def test_footer_dates_the_baseline_from_the_runs_not_the_clock() -> None:
    comparison, gate = failing()
    footer = render_markdown(comparison, gate).rstrip().rsplit("\n", 1)[-1]
    assert "Baseline: `9f3c2a1` on main, 3 days older than this run." in footer
    assert "This run: `4b1e8d2` on fix/tone." in footer
    assert "seed 20240501, 2,000 bootstrap resamples" in footer
    assert "About 620 cases would be needed" in footer
    unknown = replace(comparison, base=replace(comparison.base, finished_at="yesterday"))
    assert "older than this run" not in render_markdown(unknown, gate)


def test_unrecognised_commit_and_version_are_escaped_not_code_spans() -> None:
    comparison, gate = hostile()
    markdown = render_markdown(comparison, gate)
    footer = markdown.rstrip().rsplit("\n", 1)[-1]
    assert "This run: `" not in footer
    assert "(with uncommitted changes)" in footer


# --- number formatting -----------------------------------------------------------------------


def test_number_formats() -> None:
    assert (fmt.percent(0.8236), fmt.percent(None)) == ("82.4%", "—")
    assert (fmt.points(-0.041), fmt.points(0.1), fmt.points(-0.00001)) == (
        "-4.1 pt", "+10.0 pt", "0.0 pt",
    )  # fmt: skip
    assert fmt.interval(-0.06, -0.022, scale=100) == "(-6.0 to -2.2)"
    assert fmt.interval(None, 1.0) == ""
    assert fmt.relative_interval(30.0, 150.0, 812.0) == "(+3.7% to +18.5%)"
    assert fmt.relative(5.0, 0.0) == "—"
    dollars = [fmt.dollars(v) for v in (1234.5, 12.345, 0.5, 0.0213, 0.00004, -0.003)]
    assert dollars == ["$1,234", "$12.35", "$0.50", "$0.0213", "$0.00004", "-$0.003"]
    assert [fmt.p_value(p) for p in (0.0002, 0.0034, 0.041, 0.9999)] == [
        "<0.001",
        "0.003",
        "0.04",
        "1",
    ]
    assert (fmt.ms(812.4), fmt.ms(1840.0), fmt.ms(4.25)) == ("812 ms", "1,840 ms", "4.2 ms")
    assert fmt.confidence(0.9) == "90%" and fmt.confidence("x") == "95%"
    assert fmt.points(float("nan")) == "—"


def test_ages() -> None:
    assert fmt.age("2024-05-01T09:12:44Z", "2024-05-04T10:03:10Z") == "3 days"
    assert fmt.age("2024-05-01T09:00:00+00:00", "2024-05-01T11:00:30+02:00") == "less than a minute"
    assert fmt.age("2024-05-01T09:00:00", "2024-05-01T10:00:00") == "1 hour"
    assert fmt.age("2024-05-01T09:00:00Z", "2024-05-01T09:05:00Z") == "5 minutes"
    assert fmt.age("2024-05-02T00:00:00Z", "2024-05-01T00:00:00Z") is None
    assert fmt.age("not a time", "2024-05-01T00:00:00Z") is None


def test_one_megabyte_output_renders_quickly_enough_for_ci() -> None:
    comparison, gate = failing()
    cases = (case("big", "regressed", head_output=one_megabyte(), base_output=one_megabyte()),)
    markdown = render_markdown(replace(comparison, cases=cases), gate)
    assert_safe_markdown(markdown, 60_000)
    assert markdown.count("more characters)") >= 2


@pytest.mark.parametrize(
    "broken",
    [
        "ping @octocat",
        "fixes #12",
        "```\nopen fence",
        "| a | b |\n|---|---|\n| 1 | 2 | 3 |",
        "<!-- ci-gate:sticky -->",
        "<img src=x>",
        "<details><summary>x</summary>",
        "bidi \u202e",
    ],
)
def test_the_structure_checks_catch_broken_markdown(broken: str) -> None:
    with pytest.raises(AssertionError):
        assert_safe_markdown(broken, 60_000)


def test_large_relative_changes_are_formatted_with_separators() -> None:
    from ci_gate.report import format as fmt

    assert fmt.relative(14.0, 1.0) == "+1,400.0%"
    assert fmt._signed(-0.04, 1) == "0.0"
    assert fmt._signed(-12345.67, 1) == "-12,345.7"
