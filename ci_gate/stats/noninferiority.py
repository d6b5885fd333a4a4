"""Non-inferiority: the release check "head is not worse than base by more than the margin".

A regression test asks "is head significantly worse?" and passes when the evidence is weak, even
if the run was too small to see anything. For a release that is the wrong default: there we ask
for positive evidence that head is at most ``margin`` worse. The rule: pass when the lower bound
of the confidence interval on ``head - base`` lies above ``-margin``. A wide interval (few cases,
noisy metric) therefore fails instead of passing silently.

Convention: higher is better. For a metric where lower is better (latency, cost), pass the lower
bound of ``base - head`` instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class NonInferiorityDecision:
    """Outcome of the non-inferiority check, with the numbers it used and a one-line reason."""

    passed: bool
    low_bound: float | None
    margin: float
    reason: str


def _check_margin(margin: float) -> None:
    if math.isnan(margin) or margin < 0.0:
        raise ValueError(f"non-inferiority margin must be >= 0, got {margin}")


def non_inferior(low_bound_of_delta: float, margin: float) -> bool:
    """True when ``low_bound_of_delta > -margin`` (strictly: sitting on the margin fails)."""
    _check_margin(margin)
    if math.isnan(low_bound_of_delta):
        raise ValueError("lower bound of the delta is NaN")
    return low_bound_of_delta > -margin


def decide_non_inferiority(
    low_bound_of_delta: float | None, margin: float
) -> NonInferiorityDecision:
    """Explain the non-inferiority check; a missing bound (too little data) does not pass."""
    _check_margin(margin)
    if low_bound_of_delta is None:
        return NonInferiorityDecision(
            passed=False,
            low_bound=None,
            margin=margin,
            reason="no lower bound on the change (too little data), so non-inferiority is unshown",
        )
    passed = non_inferior(low_bound_of_delta, margin)
    relation = "above" if passed else "not above"
    return NonInferiorityDecision(
        passed=passed,
        low_bound=low_bound_of_delta,
        margin=margin,
        reason=(
            f"lower bound of the change {low_bound_of_delta:+.4g} is {relation} "
            f"the allowed drop -{margin:.4g}"
        ),
    )
