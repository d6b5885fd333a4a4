"""Deterministic stand-in embeddings for the ``fake`` provider: offline demos and tests.

A text becomes a hashed bag of features in ``DIMENSIONS`` dimensions: each word of the
normalised text (``ci_gate.similarity.normalise``) and each character trigram, hashed to a
dimension and a sign, words weighing more than trigrams; the vector is then scaled to length 1.
Texts that share words and spellings point the same way, so their cosine is high; texts with
nothing in common are near orthogonal (cosine about 0). The same text always gives the same
vector, on every machine and Python version (the hash is BLAKE2b, not Python's salted ``hash``).

It knows no meaning: synonyms are as far apart as unrelated words. It stands in for a real
embeddings model so that a suite's plumbing (thresholds, caching, reports) can be tried without
a network; it says nothing about how a real model would score the same texts.
"""

from __future__ import annotations

import functools
import hashlib
import math

from ci_gate.similarity import normalise, trigrams, words

DIMENSIONS = 256
WORD_WEIGHT = 1.0
TRIGRAM_WEIGHT = 0.5
# The one feature of a text with no word at all, so that two empty texts are still identical.
_EMPTY_FEATURE = "\x00empty"


@functools.lru_cache(maxsize=65536)
def _slot(feature: str) -> tuple[int, float]:
    """The dimension and the sign ``feature`` adds to."""
    digest = hashlib.blake2b(feature.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    number = int.from_bytes(digest, "big")
    return number % DIMENSIONS, 1.0 if number >> 63 else -1.0


def fake_embedding(text: str) -> list[float]:
    """A unit vector of ``DIMENSIONS`` floats standing for ``text``; see the module docstring."""
    vector = [0.0] * DIMENSIONS
    clean = normalise(text)
    features: list[tuple[str, float]] = [
        *((f"w:{w}", WORD_WEIGHT * n) for w, n in words(clean).items()),
        *((f"t:{t}", TRIGRAM_WEIGHT * n) for t, n in trigrams(clean).items()),
    ]
    if not clean:
        features = [(_EMPTY_FEATURE, 1.0)]
    for feature, weight in features:
        index, sign = _slot(feature)
        vector[index] += sign * weight
    norm = math.sqrt(math.fsum(x * x for x in vector))
    if norm == 0.0:  # every feature cancelled out: unlikely, but a zero vector has no direction
        index, sign = _slot(_EMPTY_FEATURE)
        vector[index] = sign
        return vector
    return [x / norm for x in vector]
