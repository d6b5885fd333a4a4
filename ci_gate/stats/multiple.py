"""Adjusting p-values when several comparisons are judged at once.

Testing many metrics or slices at alpha 0.05 each makes at least one false alarm likely. Two
standard adjustments, both returning adjusted p-values in the order the inputs were given, so a
caller compares each adjusted value with its usual alpha:

* ``holm``: for blocking metrics. Keeps the chance of *any* false alarm across the family at or
  below alpha (family-wise error), with no assumption about how the metrics relate to each other.
* ``benjamini_hochberg``: for warn-only slices. Keeps the expected *share* of false alarms among
  the flagged slices at or below alpha (false discovery rate); valid when the tests are
  independent or positively related, which is the usual case for slices of one run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def _checked(pvalues: Sequence[float]) -> list[float]:
    checked = []
    for index, value in enumerate(pvalues):
        p = float(value)
        if math.isnan(p) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p-value #{index} is {value!r}; p-values must be between 0 and 1")
        checked.append(p)
    return checked


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in input order.

    Sorted ascending, the i-th smallest (i from 1) becomes ``(m - i + 1) * p``, made
    non-decreasing along the sorted order and capped at 1.
    """
    ps = _checked(pvalues)
    m = len(ps)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=ps.__getitem__)):
        running = max(running, min(1.0, (m - rank) * ps[index]))
        adjusted[index] = running
    return adjusted


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg q-values, in input order.

    Sorted ascending, the i-th smallest (i from 1) becomes ``m / i * p``, made non-decreasing
    along the sorted order (by taking the minimum over all larger ones) and capped at 1.
    """
    ps = _checked(pvalues)
    m = len(ps)
    adjusted = [0.0] * m
    running = 1.0
    order = sorted(range(m), key=ps.__getitem__)
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, m / rank * ps[index])
        adjusted[index] = running
    return adjusted
