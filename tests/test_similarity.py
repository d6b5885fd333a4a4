"""String and vector similarity, and the ``similar`` assertion with both methods (the embedder is
the real fake provider behind the run's real graders)."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from ci_gate.assertions import registry
from ci_gate.assertions.base import AssertionResult, Output, ScorerError
from ci_gate.assertions.spec_rules import NO_VALUE_MESSAGE
from ci_gate.providers.base import Embeddings, Provider
from ci_gate.providers.fake import FakeProvider
from ci_gate.run.graders import Graders
from ci_gate.run.ledger import Ledger
from ci_gate.run.scoring import SampleScoring, ScoringSetup
from ci_gate.similarity import cosine, normalise, string_similarity
from ci_gate.suite.model import JSON, AssertionSpec, Case, PriceTable, Retry, Target
from tests.assertion_kit import bare_case, spec

REFUND = "You can get a refund within 30 days of purchase."


# --- string similarity -------------------------------------------------------------------------


def test_normalise_folds_case_punctuation_and_whitespace() -> None:
    assert normalise("  Hello,\tWORLD!!  It's\n\nme… ") == "hello world it s me"
    assert normalise("Straße") == "strasse"
    assert normalise("ﬁne") == "fine"  # NFKC: the ligature is two letters
    assert normalise("«—»") == ""


def test_texts_equal_after_normalising_score_one() -> None:
    assert string_similarity("Refunds: 30 days.", "refunds 30 DAYS") == 1.0
    assert string_similarity("", "") == 1.0
    assert string_similarity("!!!", "?") == 1.0  # both empty once punctuation is gone


def test_empty_or_disjoint_text_scores_zero() -> None:
    assert string_similarity("", "anything") == 0.0
    assert string_similarity("anything", "...") == 0.0
    assert string_similarity("abc", "xyz") == 0.0


def test_paraphrase_scores_above_unrelated_and_typos_stay_close() -> None:
    paraphrase = string_similarity(REFUND, "Refunds are possible within 30 days of the purchase")
    unrelated = string_similarity(REFUND, "Our office opens at nine on Mondays")
    assert 0.4 < paraphrase < 1.0
    assert unrelated < 0.3
    assert paraphrase > unrelated + 0.2
    # Trigrams keep a typo or an inflection close where words alone would not.
    assert string_similarity("refund policy", "refnud policy") > 0.55
    assert string_similarity("refund within 30 days", "refunds within 30 days") > 0.7


def test_documented_limits_hold() -> None:
    # Lexical: a negation barely moves it, synonyms share nothing.
    assert string_similarity("refunds are allowed", "refunds are not allowed") > 0.8
    assert string_similarity("dog bites man", "man bites dog") > 0.9
    assert string_similarity("car", "automobile") < 0.2


def test_string_similarity_is_symmetric_and_bounded() -> None:
    pairs = [
        (REFUND, "refund in 30 days"),
        ("a b c", "a a a a b"),
        ("🙂" * 500, "🙂 hi"),
        ("\x00\x1b[2J", "\u202e"),
    ]
    for a, b in pairs:
        ab, ba = string_similarity(a, b), string_similarity(b, a)
        assert ab == pytest.approx(ba)
        assert 0.0 <= ab <= 1.0


# --- cosine ------------------------------------------------------------------------------------


def test_cosine_of_vectors() -> None:
    assert cosine([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]) == pytest.approx(1.0)
    assert cosine([1.0, 0.0], [0.0, 5.0]) == 0.0
    assert cosine([1.0, 1.0], [1.0, 0.0]) == pytest.approx(math.sqrt(0.5))


def test_cosine_clamps_opposite_directions_and_zero_vectors_to_zero() -> None:
    assert cosine([1.0, 0.0], [-1.0, 0.0]) == 0.0
    assert cosine([1.0, 1.0], [-1.0, 0.5]) == 0.0
    assert cosine([0.0, 0.0], [1.0, 0.0]) == 0.0
    assert cosine([0.0, 0.0], [0.0, 0.0]) == 0.0


def test_cosine_rejects_mismatched_or_non_finite_vectors() -> None:
    with pytest.raises(ValueError, match=r"different lengths \(2 and 3\).*same model"):
        cosine([1.0, 0.0], [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="not a finite number"):
        cosine([1.0, math.nan], [1.0, 0.0])
    with pytest.raises(ValueError, match="not a finite number"):
        cosine([1.0, 0.0], [math.inf, 0.0])


# --- the similar assertion ---------------------------------------------------------------------


def _fake_target(target_id: str) -> Target:
    return Target(id=target_id, provider="fake", model=None, params={}, options={})


def _scoring(case: Case, providers: Mapping[str, Provider] | None = None) -> SampleScoring:
    graders = Graders(
        providers if providers is not None else {"emb": FakeProvider(_fake_target("emb"))},
        cache=None,
        prices=PriceTable({}, "2025-01-01", "test"),
        retry=Retry(max_attempts=2, backoff_s=0.001, max_backoff_s=0.002),
        ledger=Ledger(max_calls=None, max_cost_usd=None),
        rng=random.Random(0),
    )
    setup = ScoringSetup(graders, None, Path(), {})
    return SampleScoring(setup, case, 0, "the question")


def _run(
    s: AssertionSpec, text: str, case: Case | None = None
) -> tuple[AssertionResult, SampleScoring]:
    case = case or bare_case()
    scoring = _scoring(case)
    kind = registry.get(s.type)
    assert kind.afn is not None
    return asyncio.run(kind.afn(s, Output(text), case, scoring)), scoring


def test_string_method_passes_at_threshold_and_shows_score_and_threshold() -> None:
    got, scoring = _run(spec("similar", REFUND), "you can get a REFUND within 30 days of purchase")
    assert got.passed and got.score == 1.0
    assert got.message == "string similarity 1.00 at or above threshold 0.8"
    assert scoring.calls == 0 and scoring.usage() is None  # no model was asked

    got, _ = _run(spec("similar", REFUND, threshold=0.95), "Refunds are possible within 30 days")
    assert not got.passed and 0.0 < got.score < 0.95
    assert got.message.startswith(f"string similarity {got.score:.2f} below threshold 0.95: ")
    assert "output 'Refunds are possible within 30 days'" in got.message


def test_value_defaults_to_a_string_expected_only() -> None:
    got, _ = _run(spec("similar"), "Paris", bare_case(expected="paris."))
    assert got.passed and got.score == 1.0
    got, _ = _run(spec("similar"), "42", bare_case(expected=42))
    assert not got.passed and "expected is int, not text" in got.message
    got, _ = _run(spec("similar"), "anything", bare_case())
    assert not got.passed and got.message == NO_VALUE_MESSAGE


def test_near_threshold_similarity_is_not_rounded_onto_the_threshold() -> None:
    output = "refund within 30 days of purchase you can get"
    exact = string_similarity(output, REFUND)
    threshold = exact + 0.0001
    assert f"{threshold:.2f}" == f"{exact:.2f}"  # 2 decimals could not tell them apart
    got, _ = _run(spec("similar", REFUND, threshold=threshold), output)
    assert not got.passed
    assert f"{exact:.4f} below" in got.message


def test_embedding_method_makes_one_embed_call_and_scores_the_cosine() -> None:
    s = spec("similar", REFUND, method="embedding", embedder="emb", threshold=0.5)
    got, scoring = _run(s, "Within 30 days of purchase you can get a refund.")
    assert got.passed and got.score > 0.9
    assert got.message.startswith("embedding similarity 0.9")
    assert scoring.calls == 1
    usage = scoring.usage()
    assert usage is not None and usage.calls == 1 and usage.input_tokens > 0

    got, scoring = _run(s, "The weather in Lisbon is sunny today")
    assert not got.passed and got.score < 0.5 and scoring.calls == 1


def test_empty_output_scores_zero_without_calling_the_embedder() -> None:
    s = spec("similar", REFUND, method="embedding", embedder="emb")
    got, scoring = _run(s, "  \n")
    assert not got.passed and got.score == 0.0 and scoring.calls == 0
    assert "embedding similarity 0.00 below threshold 0.8" in got.message


def test_an_embedder_that_cannot_embed_is_a_scorer_error() -> None:
    class Mismatched(FakeProvider):
        async def embed(self, texts: Sequence[str]) -> Embeddings:
            return Embeddings([[1.0, 0.0], [1.0, 0.0, 0.0]], 0.0)

    case = bare_case()
    s = spec("similar", REFUND, method="embedding", embedder="emb")
    kind = registry.get("similar")
    assert kind.afn is not None
    scoring = _scoring(case, {"emb": Mismatched(_fake_target("emb"))})
    with pytest.raises(ScorerError) as caught:
        asyncio.run(kind.afn(s, Output("hello"), case, scoring))
    assert caught.value.kind == "embedder"
    assert "'emb' gave unusable vectors: cannot compare vectors of different lengths (2 and 3)" in (
        caught.value.message
    )


def test_models_name_the_embedder_only_for_the_embedding_method() -> None:
    assert registry.models_of(spec("similar", "x"), "judge") == ()
    assert registry.models_of(spec("similar", "x", method="embedding", embedder="emb"), "j") == (
        "emb",
    )
    assert not registry.is_judged(spec("similar", "x", method="embedding", embedder="emb"))
    assert registry.layer_of(spec("similar", "x")) == "knowledge"


@pytest.mark.parametrize(
    ("options", "value", "problem"),
    [
        ({"method": "embedding"}, "ref", "method embedding needs embedder"),
        ({"embedder": "emb"}, "ref", "embedder is only used with method: embedding"),
        ({"method": "string", "embedder": "emb"}, "ref", "embedder is only used with method"),
        ({"threshold": 1.5}, "ref", "threshold must be between 0 and 1, got 1.5"),
        ({"threshold": -0.1}, "ref", "threshold must be >= 0"),
        ({"method": "cosine"}, "ref", "method must be 'string' or 'embedding'"),
        ({}, "   ", "value (the reference text) must not be blank"),
        ({}, 3, "value must be a string"),
        ({"treshold": 0.5}, "ref", "did you mean 'threshold'"),
    ],
)
def test_configuration_problems_are_found_at_load(
    options: dict[str, JSON], value: JSON, problem: str
) -> None:
    problems = registry.check_spec(spec("similar", value, **options))
    assert any(problem in p for p in problems), problems


def test_valid_configurations_have_no_problems() -> None:
    assert registry.check_spec(spec("similar", "ref")) == []
    assert registry.check_spec(spec("similar")) == []  # falls back to expected
    assert registry.check_spec(spec("similar", "r", method="embedding", embedder="e")) == []
    assert registry.check_spec(spec("similar", "r", threshold=1)) == []


@pytest.mark.parametrize("method", ["string", "embedding"])
def test_hostile_output_keeps_the_message_one_safe_line(method: str) -> None:
    options: dict[str, JSON] = {"method": method}
    if method == "embedding":
        options["embedder"] = "emb"
    s = spec("similar", "x", **options)
    for text in ("\x00\x1b[2J\r\n\u202e", "\ud800", "🙂" * 10_000, "```json\n\n```"):
        got, _ = _run(s, text)
        assert 0.0 <= got.score <= 1.0
        assert "\n" not in got.message and "\r" not in got.message
        assert "\x1b" not in got.message and len(got.message) <= 400
