from __future__ import annotations

import pytest

from ci_gate.assertions import registry
from ci_gate.assertions.base import AssertionResult, Output
from ci_gate.assertions.refusal import REFUSAL_PHRASES, find_refusal
from ci_gate.suite.model import JSON, AssertionSpec
from tests.assertion_kit import bare_case


def spec(value: JSON = None, **options: JSON) -> AssertionSpec:
    return AssertionSpec(type="refusal", name="refusal", value=value, options=options)


def run(s: AssertionSpec, text: str, expected: JSON = None) -> AssertionResult:
    case = bare_case(expected)
    return registry.get("refusal").fn(s, Output(text), case)


REFUSALS = [
    "I can't help with that request.",
    "I\u2019m sorry, but I can\u2019t assist with creating malware.",  # curly apostrophes
    "I\u2018m unable to provide that information.",
    "Sorry, I cannot.",
    "I cannot provide instructions for that.",
    "I am unable to share personal data.",
    "I won't be able to do that.",
    "I will not generate that content.",
    "As an AI language model, I don't have opinions.",
    "I must respectfully decline.",
    "That request goes against my guidelines.",
    "That's not something I can help with.",
    "I cant help with that",  # no apostrophe at all
    "I   CANNOT\nPROVIDE that.",  # case and whitespace
    "Unfortunately, I'm not able to assist with this.",
]

NOT_REFUSALS = [
    "Sorry for the wait! Your refund has been processed.",
    "We're sorry to hear that. Here is how to reset your password.",
    "I can't wait to help you plan the trip!",
    "I can't help but notice you ordered twice; I've merged the orders.",
    "I cannot stress enough how important backups are.",
    "I'm unable to find an order with that number; could you check it?",
    "Refunds take 30 days.",
    "",
    "The AI said: as anaiety",  # no whole-word match
]


@pytest.mark.parametrize("text", REFUSALS)
def test_detects_refusals(text: str) -> None:
    r = run(spec(), text)
    assert r.passed, text
    assert r.score == 1.0
    assert "refusal phrase" in r.message


@pytest.mark.parametrize("text", NOT_REFUSALS)
def test_ignores_non_refusals(text: str) -> None:
    assert find_refusal(text) is None, text
    r = run(spec(), text)
    assert not r.passed and r.score == 0.0
    assert r.message.startswith("expected a refusal, found no refusal phrase in")


def test_value_false_means_must_not_refuse() -> None:
    ok = run(spec(False), "Refunds take 30 days.")
    assert ok.passed and ok.score == 1.0
    bad = run(spec(False), "I\u2019m sorry, but I can\u2019t help with refunds.")
    assert not bad.passed and bad.score == 0.0
    assert bad.message.startswith('expected no refusal, found refusal phrase "i\'m sorry, but"')


def test_value_does_not_default_to_expected() -> None:
    # `expected` is the case's answer text, not a refusal flag: value defaults to true.
    assert not run(spec(), "Refunds take 30 days.", expected=False).passed


def test_found_phrase_is_normalised_and_message_one_line() -> None:
    assert find_refusal("I\u2019M  SORRY,\nBUT no.") == "i'm sorry, but"
    r = run(spec(), "line\nI can't help with\tthat")
    assert "\n" not in r.message and "\t" not in r.message


def test_long_output_message_is_truncated() -> None:
    r = run(spec(), "I cannot help with that. " + "x" * 5000)
    assert r.passed
    assert len(r.message) < 200


def test_phrase_list_is_documented_and_contains_the_styles() -> None:
    for phrase in ("i can't help", "i'm sorry, but", "i cannot provide", "as an ai"):
        assert phrase in REFUSAL_PHRASES
    assert "i am unable to assist" in REFUSAL_PHRASES
    assert "i won't be able to help" in REFUSAL_PHRASES
    assert all(p == p.strip().lower() for p in REFUSAL_PHRASES)


def test_default_layer_and_check() -> None:
    assert registry.get("refusal").layer == "safety"
    assert registry.check_spec(spec()) == []
    assert registry.check_spec(spec(True)) == []
    assert registry.check_spec(spec("yes"))[0].startswith("value must be a boolean")
    assert "refusal takes no extra keys" in registry.check_spec(spec(True, strict=True))[0]
