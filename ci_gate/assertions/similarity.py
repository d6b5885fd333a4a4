"""The ``similar`` assertion: the output means about the same as a reference text.

The reference is ``value``, else the case's ``expected`` when that is a string. The score is the
similarity in [0, 1] and the assertion passes at ``threshold`` (default 0.8) or above.

* ``method: string`` (the default) needs no model: ``ci_gate.similarity.string_similarity``, a
  blend of word and character-trigram cosines after normalising case, punctuation and
  whitespace. It sees shared words, not meaning (see that module for its limits).
* ``method: embedding`` embeds the output and the reference in one call to the ``embedder``
  target and scores the cosine of the two vectors (negative cosines count as 0). An embedder
  that fails makes the record an error, never a failed case.

An empty output scores 0 without calling the embedder: embeddings endpoints reject empty input,
and an empty answer does not mean what a non-empty reference says.
"""

from __future__ import annotations

from collections.abc import Sequence

from ci_gate.assertions.base import AssertionResult, Output, ScorerError, Scoring
from ci_gate.assertions.registry import register_async
from ci_gate.assertions.spec_rules import (
    DEFAULT_LAYERS,
    check_shape,
    option,
    show,
    value_or_expected,
)
from ci_gate.assertions.text import excerpt, no_value, result
from ci_gate.similarity import cosine, string_similarity
from ci_gate.suite.model import AssertionSpec, Case
from ci_gate.wellformed import wellformed

EMBEDDING = "embedding"
SHOWN_CHARS = 60


def _method(spec: AssertionSpec) -> str:
    return str(option(spec, "method"))


def _threshold(spec: AssertionSpec) -> float:
    value = option(spec, "threshold")
    return float(value) if isinstance(value, (int, float)) else 0.8


def embedder_models(spec: AssertionSpec, default_judge: str | None) -> Sequence[str]:
    """The embedder, for ``method: embedding``; string similarity calls no model."""
    embedder = spec.options.get("embedder")
    if _method(spec) == EMBEDDING and isinstance(embedder, str):
        return (embedder,)
    return ()


def _check(spec: AssertionSpec) -> list[str]:
    problems = check_shape(spec)
    threshold = spec.options.get("threshold")
    if isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and threshold > 1:
        problems.append(f"threshold must be between 0 and 1, got {show(threshold)}")
    method, embedder = spec.options.get("method"), spec.options.get("embedder")
    if method == EMBEDDING and embedder is None:
        problems.append(
            "method embedding needs embedder: the id of a target with an embeddings endpoint"
            " (e.g. provider openai, model text-embedding-3-small)"
        )
    elif method != EMBEDDING and embedder is not None:
        problems.append(
            "embedder is only used with method: embedding; add method: embedding or remove embedder"
        )
    if isinstance(spec.value, str) and not spec.value.strip():
        problems.append("value (the reference text) must not be blank")
    return problems


def _shown(similarity: float, threshold: float) -> str:
    """The similarity with 2 decimals, or 4 where 2 would read as the threshold itself."""
    text = f"{similarity:.2f}"
    if text == f"{threshold:.2f}" and similarity != threshold:
        text = f"{similarity:.4f}"
    return text


async def _embedding_similarity(
    spec: AssertionSpec, text: str, reference: str, scoring: Scoring
) -> float:
    embedder = str(spec.options.get("embedder"))
    # A lone surrogate (valid in a JSON string escape) cannot be sent as UTF-8.
    vectors = await scoring.embed(embedder, [wellformed(text), wellformed(reference)])
    try:
        return cosine(vectors[0], vectors[1])
    except (ValueError, IndexError) as exc:
        message = f"embedder {embedder!r} gave unusable vectors: {exc}"
        raise ScorerError("embedder", message) from None


@register_async(
    "similar",
    layer=DEFAULT_LAYERS["similar"],
    check=_check,
    grader="none",
    models=embedder_models,
)
async def similar(
    spec: AssertionSpec, output: Output, case: Case, scoring: Scoring
) -> AssertionResult:
    """Passes when the similarity of the output and the reference is at least ``threshold``."""
    reference = value_or_expected(spec, case)
    if reference is None:
        return no_value()
    if not isinstance(reference, str):
        return result(
            False,
            0.0,
            f"the case's expected is {type(reference).__name__}, not text; give the similar"
            " assertion a value (the reference text)",
        )
    method, threshold = _method(spec), _threshold(spec)
    if not output.text.strip():
        similarity = 0.0
    elif method == EMBEDDING:
        similarity = await _embedding_similarity(spec, output.text, reference, scoring)
    else:
        similarity = string_similarity(output.text, reference)
    passed = similarity >= threshold
    how = "embedding" if method == EMBEDDING else "string"
    verdict = "at or above" if passed else "below"
    message = f"{how} similarity {_shown(similarity, threshold)} {verdict} threshold {threshold:g}"
    if not passed:
        message += f": output {excerpt(output.text, SHOWN_CHARS)}"
    return result(passed, similarity, message)
