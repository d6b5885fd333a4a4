"""The gate's decision: a verdict with its reasons, and the check behind each metric."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verdict = Literal["pass", "fail", "inconclusive", "error"]
CheckStatus = Literal["ok", "warn", "fail", "inconclusive", "error", "info"]
Mode = Literal["pr", "release"]


@dataclass(frozen=True)
class Check:
    """One rule of the policy applied to one metric."""

    key: str  # metric key, e.g. quality.pass_rate, tag.refunds, latency.p95, errors.rate
    status: CheckStatus
    blocking: bool
    # One plain sentence, e.g. "pass rate fell 4.1 points (95% CI -6.0 to -2.2), p=0.003".
    reason: str
    threshold: str | None = None  # e.g. "max drop 2pt", "min 80%"
    adjusted_p: float | None = None  # after Holm (blocking) or Benjamini-Hochberg (slices)


@dataclass(frozen=True)
class GateResult:
    verdict: Verdict
    mode: Mode
    headline: str  # one sentence: why this verdict
    reasons: tuple[str, ...]  # the checks that decided it, in plain words
    checks: tuple[Check, ...]
    exit_code: int
    mde: float | None = None  # minimum detectable drop in pass rate with this many cases
    cases_needed: int | None = None  # to detect the team's max_drop with 80% power
    tradeoffs_applied: tuple[str, ...] = ()
