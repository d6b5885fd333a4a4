"""Similarity of two texts without a model, and cosine similarity of two vectors.

``string_similarity(a, b)`` is lexical. Both texts are normalised first: Unicode NFKC, case
folded, every punctuation or symbol character replaced by a space, runs of whitespace collapsed.
The score is then the mean of two cosines, each in [0, 1]:

* word cosine: of the two texts' word counts (bag of words);
* trigram cosine: of the counts of three-character windows of the normalised text, with a space
  added at each end, so that inflections and small typos ("refund" / "refunds" / "refnud") still
  share most of their trigrams.

Two texts equal after normalisation score exactly 1.0 (two empty texts included); a text that
is empty after normalisation scores 0.0 against any other. Cost is linear in the texts' length.

What it does not know, and why a paraphrase may score low or a contradiction high:

* meaning: synonyms ("car" / "automobile") share nothing, so a paraphrase that changes every
  word scores low; use an embedding model for those (``method: embedding``);
* negation and word order: "refunds are allowed" and "refunds are not allowed" share almost all
  their words and trigrams and score about 0.86; "dog bites man" and "man bites dog" have the
  same words and score above 0.9;
* length: a short reference inside a long answer scores lower than the same reference alone,
  because the answer's other words count too.

``cosine(a, b)`` is for embedding vectors: the cosine of the angle between them, clamped to
[0, 1] so that it can be a score. Opposite directions (a negative cosine) count as 0, as
unrelated as orthogonal vectors: for a pass/fail threshold there is nothing less similar than
unrelated. A zero vector has no direction: its cosine with anything is 0.0.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Sequence

# Unicode categories removed by normalisation: punctuation (P*) and symbols (S*).
_DROPPED_CATEGORIES = ("P", "S")


def normalise(text: str) -> str:
    """``text`` case-folded, with punctuation and symbols as spaces and whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    spaced = "".join(
        " " if unicodedata.category(ch)[0] in _DROPPED_CATEGORIES else ch for ch in folded
    )
    return " ".join(spaced.split())


def words(normalised: str) -> Counter[str]:
    return Counter(normalised.split())


def trigrams(normalised: str) -> Counter[str]:
    padded = f" {normalised} "
    return Counter(padded[i : i + 3] for i in range(len(padded) - 2))


def _counter_cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    dot = sum(count * large[key] for key, count in small.items() if key in large)
    norm = math.sqrt(sum(c * c for c in a.values())) * math.sqrt(sum(c * c for c in b.values()))
    return min(1.0, dot / norm)


def string_similarity(a: str, b: str) -> float:
    """A lexical similarity of ``a`` and ``b`` in [0, 1]; see the module docstring."""
    na, nb = normalise(a), normalise(b)
    if na == nb:
        return 1.0
    if not na or not nb:
        return 0.0
    word_part = _counter_cosine(words(na), words(nb))
    gram_part = _counter_cosine(trigrams(na), trigrams(nb))
    return (word_part + gram_part) / 2.0


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """The cosine of vectors ``a`` and ``b``, clamped to [0, 1] (see the module docstring).

    Raises ValueError when the lengths differ (vectors from two different models, or a model
    that changed) or a component is not a finite number.
    """
    if len(a) != len(b):
        raise ValueError(
            f"cannot compare vectors of different lengths ({len(a)} and {len(b)}); embed both"
            " texts with the same model"
        )
    if not all(math.isfinite(x) for x in a) or not all(math.isfinite(x) for x in b):
        raise ValueError("a vector holds a value that is not a finite number")
    norm_a = math.sqrt(math.fsum(x * x for x in a))
    norm_b = math.sqrt(math.fsum(x * x for x in b))
    if norm_a == 0.0 or norm_b == 0.0:
        return 0.0
    value = math.fsum(x * y for x, y in zip(a, b, strict=True)) / (norm_a * norm_b)
    return min(1.0, max(0.0, value))
