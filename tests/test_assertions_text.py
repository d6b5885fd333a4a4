from __future__ import annotations

import pytest

from ci_gate.assertions import registry
from ci_gate.assertions.base import AssertionResult, Output
from ci_gate.assertions.spec_rules import (
    DEFAULT_LAYERS,
    NO_VALUE_MESSAGE,
    RULES,
    VALUE_DEFAULTS_TO_EXPECTED,
)
from ci_gate.assertions.text import excerpt, excerpt_at, one_line
from ci_gate.suite.model import JSON, AssertionSpec
from tests.assertion_kit import bare_case, spec


def run(s: AssertionSpec, text: str, expected: JSON = None) -> AssertionResult:
    return registry.get(s.type).fn(s, Output(text), bare_case(expected))


def check(s: AssertionSpec) -> list[str]:
    return registry.check_spec(s)


def assert_one_line(r: AssertionResult) -> None:
    assert "\n" not in r.message and "\r" not in r.message
    assert 0.0 <= r.score <= 1.0


# --- equals ------------------------------------------------------------------------------------


def test_equals_trims_and_is_case_sensitive_by_default() -> None:
    assert run(spec("equals", "Paris"), "  Paris\n").passed
    r = run(spec("equals", "Paris"), "paris")
    assert not r.passed and r.score == 0.0
    assert "differs only in letter case" in r.message
    assert "'Paris'" in r.message and "'paris'" in r.message


def test_equals_case_insensitive_and_no_trim() -> None:
    assert run(spec("equals", "PARIS", case_sensitive=False), "paris").passed
    r = run(spec("equals", "Paris", trim=False), "Paris ")
    assert not r.passed
    assert "trim" in r.message


def test_equals_defaults_to_expected_and_renders_non_strings() -> None:
    assert run(spec("equals"), "30 days", expected="30 days").passed
    assert run(spec("equals"), " 42 ", expected=42).passed
    assert run(spec("equals"), "true", expected=True).passed
    assert not run(spec("equals"), "41", expected=42).passed


def test_equals_without_value_or_expected_fails_with_message() -> None:
    r = run(spec("equals"), "anything")
    assert not r.passed
    assert r.message == NO_VALUE_MESSAGE


def test_equals_unicode_normalisation() -> None:
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    assert run(spec("equals", composed), decomposed).passed
    assert run(spec("equals", "STRASSE", case_sensitive=False), "straße").passed


def test_equals_empty_output() -> None:
    r = run(spec("equals", "x"), "")
    assert not r.passed
    assert "found ''" in r.message


# --- contains / not-contains ---------------------------------------------------------------


def test_contains_all_gives_partial_credit() -> None:
    r = run(spec("contains", ["30 days", "refund", "receipt"]), "A refund within 30 days.")
    assert not r.passed
    assert r.score == pytest.approx(2 / 3)
    assert "missing 1 of 3" in r.message and "'receipt'" in r.message


def test_contains_is_case_insensitive_by_default() -> None:
    assert run(spec("contains", "REFUND"), "you get a refund").passed
    assert not run(spec("contains", "REFUND", case_sensitive=True), "you get a refund").passed


def test_contains_any_mode() -> None:
    s = spec("contains", ["email", "phone"], mode="any")
    assert run(s, "Call our phone line").passed
    r = run(s, "Visit us")
    assert not r.passed and r.score == 0.0
    assert "found none of" in r.message


def test_contains_uses_expected_string_list_and_number() -> None:
    assert run(spec("contains"), "within 30 days", expected="30 days").passed
    assert run(spec("contains"), "a, b and c", expected=["a", "b", "c"]).passed
    assert run(spec("contains"), "costs 42 dollars", expected=42).passed
    r = run(spec("contains"), "anything", expected=[])
    assert not r.passed and "empty" in r.message


def test_contains_empty_output_and_unicode() -> None:
    r = run(spec("contains", "x"), "")
    assert not r.passed and r.score == 0.0
    assert run(spec("contains", "naïve"), "So NAÏVE of me").passed
    assert run(spec("contains", "日本"), "東京は日本の首都です").passed


def test_not_contains() -> None:
    s = spec("not-contains", ["competitor", "guarantee"])
    assert run(s, "We offer refunds.").passed
    r = run(s, "We GUARANTEE it.")
    assert not r.passed
    assert r.score == pytest.approx(0.5)
    assert "'guarantee'" in r.message and "GUARANTEE" in r.message
    assert run(spec("not-contains", "Guarantee", case_sensitive=True), "guarantee").passed


def test_not_contains_shows_window_around_hit_in_long_output() -> None:
    text = "x" * 500 + " secret-token " + "y" * 500
    r = run(spec("not-contains", "secret-token"), text)
    assert not r.passed
    assert "secret-token" in r.message
    assert len(r.message) < 200


# --- regex -------------------------------------------------------------------------------------


def test_regex_search_and_flags() -> None:
    assert run(spec("regex", r"\b\d{3}-\d{4}\b"), "Call 555-1234 now").passed
    assert not run(spec("regex", "^hello"), "HELLO").passed
    assert run(spec("regex", "^hello", flags="i"), "HELLO").passed
    assert run(spec("regex", "^b$", flags="m"), "a\nb\nc").passed
    assert run(spec("regex", "a.c", flags="s"), "a\nc").passed
    assert not run(spec("regex", "a.c"), "a\nc").passed


def test_regex_messages_are_one_line() -> None:
    r = run(spec("regex", "zzz"), "line one\nline two\r\n\x1b[31mred")
    assert not r.passed
    assert_one_line(r)
    assert "\\n" in r.message
    ok = run(spec("regex", r"two\s+\S+"), "line one\nline two\nthree")
    assert ok.passed and "'two\\nthree'" in ok.message


def test_regex_check_reports_error_with_position() -> None:
    problems = check(spec("regex", "a(b"))
    assert len(problems) == 1
    assert "missing )" in problems[0] and "position 1" in problems[0]


def test_regex_check_flags_and_required_value() -> None:
    assert "unknown regex flag(s) 'x'" in check(spec("regex", "a", flags="ix"))[0]
    assert check(spec("regex"))[0].startswith("regex needs a value")
    assert check(spec("regex", 5))[0].startswith("value must be a string")
    assert check(spec("regex", "^ok$", flags="ims")) == []


def test_regex_check_reports_posix_class_warning() -> None:
    problems = check(spec("regex", "[[:alpha:]]+"))
    assert len(problems) == 1 and "suspicious regex" in problems[0]


def test_regex_on_empty_output() -> None:
    assert run(spec("regex", "^$"), "").passed
    assert not run(spec("regex", "."), "").passed


# --- starts-with -------------------------------------------------------------------------------


def test_starts_with() -> None:
    assert run(spec("starts-with", "Dear"), "\n  Dear customer").passed
    r = run(spec("starts-with", "Dear"), "dear customer, thanks")
    assert not r.passed
    assert r.message == "expected to start with 'Dear', found 'dear customer,'"
    assert run(spec("starts-with", "Dear", case_sensitive=False), "dear customer").passed
    assert run(spec("starts-with"), "Yes, we do.", expected="Yes").passed
    assert not run(spec("starts-with", "Yes"), "").passed


# --- length --------------------------------------------------------------------------------------


def test_length_chars_within_and_outside() -> None:
    assert run(spec("length", min=2, max=5), "abc").passed
    short = run(spec("length", min=10), "abcde")
    assert not short.passed and short.score == pytest.approx(0.5)
    long = run(spec("length", max=4), "abcdefgh")
    assert not long.passed and long.score == pytest.approx(0.5)
    assert "8 chars" in long.message and "0..4" in long.message


def test_length_words_and_unicode() -> None:
    assert run(spec("length", max=3, unit="words"), "one two  three\n").passed
    r = run(spec("length", max=3, unit="words"), "one two three four five six")
    assert r.score == pytest.approx(0.5)
    assert run(spec("length", max=4), "cafe\u0301").passed  # 4 characters once composed


def test_length_empty_output() -> None:
    r = run(spec("length", min=1), "")
    assert not r.passed and r.score == 0.0
    assert run(spec("length", max=0), "").passed
    zero = run(spec("length", max=0), "x")
    assert not zero.passed and zero.score == 0.0


def test_length_check() -> None:
    assert check(spec("length")) == ["length needs min, max or both"]
    assert check(spec("length", min=5, max=2)) == ["min (5) is greater than max (2)"]
    assert "unit must be 'chars' or 'words'" in check(spec("length", max=3, unit="lines"))[0]
    assert "min must be an integer" in check(spec("length", min=True))[0]
    assert "min must be >= 0" in check(spec("length", min=-1))[0]
    assert "length takes no value" in check(spec("length", 5, max=3))[0]


# --- load-time checks shared by all types ------------------------------------------------------


def test_unknown_option_gets_did_you_mean() -> None:
    problems = check(spec("contains", "x", case_sensitiv=True))
    assert problems == ["unknown key 'case_sensitiv' for contains (did you mean 'case_sensitive'?)"]
    misspelt_common = check(spec("contains", "x", weigth=2))
    assert "did you mean 'weight'" in misspelt_common[0]
    unrelated = check(spec("contains", "x", colour="red"))
    assert "(contains takes case_sensitive, mode)" in unrelated[0]


def test_option_kinds_and_choices() -> None:
    assert "mode must be 'any' or 'all', got 'some'" in check(spec("contains", "x", mode="some"))
    assert "case_sensitive must be a boolean" in check(spec("equals", "x", case_sensitive="no"))[0]
    assert check(spec("contains", ["a", ""]))[0].startswith("value must not contain an empty")
    quoted = check(spec("contains", 2024))[0]
    assert "quote it" in quoted


def test_spec_rules_table() -> None:
    assert set(RULES) == set(registry.names())
    assert {"equals", "contains", "starts-with", "number", "similar"} == VALUE_DEFAULTS_TO_EXPECTED
    for name in registry.names():
        assert registry.get(name).layer == DEFAULT_LAYERS[name]
    assert DEFAULT_LAYERS["not-contains"] == "instructions"
    assert DEFAULT_LAYERS["number"] == "knowledge"


# --- message helpers ---------------------------------------------------------------------------


def test_excerpt_truncates_and_escapes() -> None:
    e = excerpt("a" * 200)
    assert len(e) == 82 and e.endswith("…'")
    assert excerpt("a\nb\u2028c\u202ed") == "'a\\nb\\u2028c\\u202ed'"
    window = excerpt_at("x" * 100 + "HIT" + "y" * 100, 100, 103, limit=20)
    assert "HIT" in window and window.startswith("…")


def test_one_line_escapes_control_characters() -> None:
    assert one_line("a\nb\tc\x00") == "a\\nb\\tc\\x00"
    assert len(one_line("z" * 1000)) == 400
