"""Statistics for comparing a PR's eval run with its baseline.

A self-contained library: plain numbers and sequences in, frozen dataclasses out, no dependence
on the rest of ci-gate. Invalid arguments raise ValueError (the caller's bug, not the user's).

* ``mcnemar``: exact McNemar p-values for pass/fail flips.
* ``bootstrap``: paired (optionally clustered) bootstrap interval on a mean change; sign-flip
  p-value for score metrics; ``Clusters``, groups numbered once for many such calls.
* ``quantiles``: latency percentiles with distribution-free intervals; head vs base percentile
  difference and ratio.
* ``multiple``: Holm and Benjamini-Hochberg adjustments.
* ``power``: minimum detectable drop and cases needed.
* ``noninferiority``: the release rule "lower bound of head - base above -margin".
"""

from __future__ import annotations

from ci_gate.stats.bootstrap import (
    Clusters,
    DeltaEstimate,
    clusters,
    clusters_from_codes,
    paired_delta,
    paired_p_value,
    per_case_means,
)
from ci_gate.stats.mcnemar import mcnemar_exact, mcnemar_exact_worse
from ci_gate.stats.multiple import benjamini_hochberg, holm
from ci_gate.stats.noninferiority import (
    NonInferiorityDecision,
    decide_non_inferiority,
    non_inferior,
)
from ci_gate.stats.power import DEFAULT_DISCORDANCE_RATE, cases_needed, mde_paired_proportion
from ci_gate.stats.quantiles import (
    QuantileDelta,
    QuantileInterval,
    min_samples_for_bound,
    percentile,
    percentile_ci,
    quantile_delta,
)

__all__ = [
    "DEFAULT_DISCORDANCE_RATE",
    "Clusters",
    "DeltaEstimate",
    "NonInferiorityDecision",
    "QuantileDelta",
    "QuantileInterval",
    "benjamini_hochberg",
    "cases_needed",
    "clusters",
    "clusters_from_codes",
    "decide_non_inferiority",
    "holm",
    "mcnemar_exact",
    "mcnemar_exact_worse",
    "mde_paired_proportion",
    "min_samples_for_bound",
    "non_inferior",
    "paired_delta",
    "paired_p_value",
    "per_case_means",
    "percentile",
    "percentile_ci",
    "quantile_delta",
]
