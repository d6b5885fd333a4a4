"""``decide(comparison, policy, mode)``: the verdict, with one check per rule and its reasons.

Rules, in the order they can decide:

* error: the runs are not comparable, or head's error rate is above the error budget.
* Blocking quality metrics (PR mode): fail when the drop is larger than the allowed drop AND
  significant (one-sided p, Holm-adjusted across the blocking metrics, below alpha);
  inconclusive when the drop is larger but not significant, or (for the pass rate) when fewer
  than ``min_cases`` cases were compared: the reason gives the minimum detectable drop and the
  cases needed, from the observed share of cases that changed outcome.
  A ``min`` floor fails when head is below it, without a test (the interval is quoted).
* Release mode: non-inferiority instead: a blocking quality metric passes only when the lower
  bound of head - base is above -margin; anything else fails (no inconclusive for quality).
* Slices (tags) and warn-only quality metrics: the same test, Benjamini-Hochberg across them;
  they warn, never fail. Consistency across groups (``quality.consistency``, per group) is one
  of them unless the policy writes a rule for it: then it is checked like the pass rate.
* Latency and cost increases: fail (blocking) when the interval's lower bound of the increase
  is above the allowed increase; a point estimate above it that the interval cannot confirm is
  inconclusive (blocking) or a warning. ``budget_usd`` caps head's total at list price.
* A rule on a judged assertion whose judge is not calibrated (advisory in head's run) only
  warns: an uncalibrated judge may inform the verdict, never decide it.
* Trade-offs turn a latency/cost failure into ok when the named quality gain is met and its
  interval excludes 0.

Verdict: error > fail > inconclusive > pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from ci_gate.compare.model import Comparison, MetricDelta
from ci_gate.errors import ConfigError
from ci_gate.gate import wording as w
from ci_gate.gate.model import Check, CheckStatus, GateResult, Mode, Verdict
from ci_gate.gate.policy import Policy, QualityRule, parse_policy
from ci_gate.gate.rules import increase_checks, tradeoff_checks
from ci_gate.stats import (
    benjamini_hochberg,
    cases_needed,
    decide_non_inferiority,
    holm,
    mde_paired_proportion,
)

_RANK: dict[CheckStatus, int] = {"error": 3, "fail": 2, "inconclusive": 1}


def _quality_metrics(comparison: Comparison) -> list[MetricDelta]:
    return [*comparison.quality, *comparison.layers, *comparison.slices]


def _power(m: MetricDelta, alpha: float, margin: float | None) -> tuple[float | None, int | None]:
    """Minimum detectable drop with ``m.n`` units, and units needed to detect ``margin``."""
    if m.kind != "rate" or m.n < 1:
        return None, None
    # regressed and fixed count cases, n counts groups when cases share groups: more cases
    # than groups may flip, and a share of flipped units is at most 1.
    psi = min(1.0, (m.regressed + m.fixed) / m.n)
    mde = mde_paired_proportion(m.n, psi, alpha)
    needed = None
    if margin is not None and margin > 0:
        try:
            needed = cases_needed(margin, psi, alpha)
        except ValueError:  # the margin is larger than any drop this discordance allows
            needed = None
    return (mde if math.isfinite(mde) else None), needed


def _drop_sentence(m: MetricDelta, confidence: float) -> str:
    return (
        f"{w.subject(m)} {w.moved(m)} (from {w.value(m, m.base)} to {w.value(m, m.head)}, "
        f"{w.interval(m, confidence)})"
    )


def _too_few(m: MetricDelta, policy: Policy, compared: int, margin: float | None) -> str:
    text = f"Only {compared} cases were compared, fewer than the {policy.min_cases} required"
    units = "groups" if m.note and "groups" in m.note else "cases"
    mde, needed = _power(m, policy.alpha, margin)
    if mde is not None:
        text += f"; with {m.n} {units} only a drop of {mde * 100:.1f} points or more can be seen"
    elif m.kind == "rate":
        text += f"; with {m.n} {units} no drop can be reliably seen"
    if needed is not None and margin is not None:
        text += f", and about {needed} {units} are needed to detect {margin * 100:.1f} points"
    return text + "."


def _pr_quality_check(
    m: MetricDelta,
    rule: QualityRule,
    adjusted: float,
    policy: Policy,
    confidence: float,
    compared: int,
) -> Check:
    margin = None if rule.max_drop is None else rule.max_drop.absolute(m.base)
    threshold = None if rule.max_drop is None else f"max drop {rule.max_drop.text}"
    drop = -(m.delta or 0.0)
    allowed = "" if rule.max_drop is None else w.amount(m, rule.max_drop)
    exceeds = margin is not None and drop > margin
    base_text = _drop_sentence(m, confidence)
    if exceeds and adjusted < policy.alpha:
        status: CheckStatus = "fail" if rule.blocking else "warn"
        reason = (
            f"{base_text}, more than the allowed {allowed}; significant "
            f"(one-sided p={adjusted:.2g} after correction)."
        )
    elif rule.blocking and m.key == "quality.pass_rate" and compared < policy.min_cases:
        status, reason = "inconclusive", _too_few(m, policy, compared, margin)
    elif exceeds:
        status = "inconclusive" if rule.blocking else "ok"
        reason = (
            f"{base_text}, more than the allowed {allowed}, but not significant "
            f"(one-sided p={adjusted:.2g} after correction): it may be noise."
        )
    else:
        status = "ok"
        within = f", within the allowed drop of {allowed}" if allowed else ""
        reason = f"{base_text}{within}."
    return Check(m.key, status, rule.blocking, reason, threshold, adjusted)


def _release_margin(m: MetricDelta, policy: Policy) -> tuple[float, str]:
    """``release.margin``, else the pass rate's allowed drop, for every blocking metric."""
    chosen = policy.release_margin or policy.quality["quality.pass_rate"].max_drop
    if chosen is None:
        return 0.0, "0 points"
    return chosen.absolute(m.base) or 0.0, w.amount(m, chosen)


def _release_check(m: MetricDelta, policy: Policy, confidence: float) -> Check:
    margin, margin_text = _release_margin(m, policy)
    decision = decide_non_inferiority(m.low, margin)
    head = f"{w.subject(m)} changed {w.change(m, m.delta)} ({w.interval(m, confidence)})"
    if decision.passed:
        reason = f"{head}: the lower bound is above -{margin_text}, so head is non-inferior."
    elif m.low is None:
        reason = f"{head}: without a lower bound, non-inferiority cannot be shown."
    else:
        reason = (
            f"{head}: the lower bound {w.change(m, m.low)} is not above -{margin_text}, "
            "so head is not shown to be non-inferior."
        )
    status: CheckStatus = "ok" if decision.passed else "fail"
    return Check(m.key, status, True, reason, f"non-inferiority margin {margin_text}")


def _floor_check(m: MetricDelta, rule: QualityRule, confidence: float) -> Check | None:
    if rule.min is None or m.head is None:
        return None
    floor = rule.min.share()
    threshold = f"min {rule.min.text}"
    if m.head >= floor:
        reason = f"{w.subject(m)} {w.value(m, m.head)} is at or above the floor of {rule.min.text}."
        return Check(m.key, "ok", rule.blocking, reason, threshold)
    reason = (
        f"{w.subject(m)} {w.value(m, m.head)} is below the floor of {rule.min.text} "
        f"(change {w.change(m, m.delta)}, {w.interval(m, confidence)})."
    )
    return Check(m.key, "fail" if rule.blocking else "warn", rule.blocking, reason, threshold)


def _quality_checks(
    comparison: Comparison, policy: Policy, mode: Mode, confidence: float
) -> list[Check]:
    checks: list[Check] = []
    ruled: list[tuple[MetricDelta, QualityRule]] = []
    present = {m.key: m for m in _quality_metrics(comparison)}
    compared = comparison.comparability.compared
    for key in policy.quality:
        if key not in present:
            checks.append(
                Check(key, "info", False, f"The policy has a rule for {key}, but no case has it.")
            )
    advisory = {f"assertion.{j.assertion}": j.advisory for j in comparison.head.judges}
    for m in present.values():
        rule = policy.rule_for(m.key)
        why = advisory.get(m.key)
        if rule is not None and rule.blocking and why is not None:
            # A judge that is not calibrated may inform, never decide.
            rule = replace(rule, blocking=False)
            checks.append(
                Check(
                    m.key,
                    "info",
                    False,
                    f"The rule for {m.key} only warns: {why.removeprefix('advisory: ')}.",
                )
            )
        if rule is not None and m.delta is not None and m.p_worse is not None:
            ruled.append((m, rule))
    blocking = [(m, r) for m, r in ruled if r.blocking]
    warning = [(m, r) for m, r in ruled if not r.blocking]
    if mode == "release":
        checks += [_release_check(m, policy, confidence) for m, _ in blocking]
    else:
        adjusted = holm([m.p_worse or 1.0 for m, _ in blocking])
        checks += [
            _pr_quality_check(m, r, p, policy, confidence, compared)
            for (m, r), p in zip(blocking, adjusted, strict=True)
        ]
    adjusted = benjamini_hochberg([m.p_worse or 1.0 for m, _ in warning])
    checks += [
        _pr_quality_check(m, r, p, policy, confidence, compared)
        for (m, r), p in zip(warning, adjusted, strict=True)
    ]
    for m, r in ruled:
        floor = _floor_check(m, r, confidence)
        if floor is not None:
            checks.append(floor)
    return checks


def _errors_check(comparison: Comparison, policy: Policy) -> Check:
    m = comparison.errors
    budget = policy.error_budget
    threshold = f"max error rate {budget:.1%}"
    head, base = m.head or 0.0, w.value(m, m.base)
    if head > budget:
        status: CheckStatus = "error" if policy.errors_blocking else "warn"
        reason = (
            f"Head's error rate is {w.value(m, head)}, above the error budget of {budget:.1%} "
            f"(base {base}); errored records are never counted as regressions, but this many "
            "make the comparison unreliable: fix the provider errors and rerun."
        )
    else:
        status = "ok"
        reason = (
            f"Error rate {w.value(m, head)} (base {base}) is within the budget of {budget:.1%}."
        )
    return Check(m.key, status, policy.errors_blocking, reason, threshold)


def _policy_notes(comparison: Comparison, policy: Policy) -> list[Check]:
    if policy.origin == "head":
        return []
    try:
        head_policy = parse_policy(comparison.head.gate, origin="head")
    except ConfigError as exc:
        return [Check("policy", "info", False, f"Head's gate section is not valid ({exc}).")]
    if head_policy == parse_policy(policy.section, origin=policy.origin):
        return []
    return [
        Check(
            "policy",
            "info",
            False,
            f"Head's gate section differs from the policy used (from {policy.origin}); a pull "
            "request cannot loosen its own gate (pass --policy head to use it).",
        )
    ]


def _verdict(checks: Sequence[Check]) -> Verdict:
    worst = max((_RANK.get(c.status, 0) for c in checks), default=0)
    verdicts: tuple[Verdict, ...] = ("pass", "inconclusive", "fail", "error")
    return verdicts[worst]


def _exit_code(verdict: Verdict, mode: Mode, policy: Policy) -> int:
    codes = {"pass": 0, "fail": 1, "inconclusive": 1 if mode == "release" else 0, "error": 1}
    codes.update(policy.exit_codes)
    return codes[verdict]


def _headline(verdict: Verdict, checks: Sequence[Check], comparison: Comparison) -> str:
    deciding = [c for c in checks if c.status == {"pass": "ok"}.get(verdict, verdict)]
    if verdict == "pass":
        m = comparison.metric("quality.pass_rate")
        warns = sum(1 for c in checks if c.status == "warn")
        extra = f"; {warns} warning{'s' if warns != 1 else ''}" if warns else ""
        if m is None:
            return f"No blocking check failed{extra}."
        return (
            f"No blocking check failed: pass rate {w.value(m, m.head)} vs {w.value(m, m.base)} "
            f"on base ({w.change(m, m.delta)}, {w.interval(m, comparison.confidence)}){extra}."
        )
    first = deciding[0]
    text = first.reason.rstrip(".")
    if verdict == "fail" and first.key.startswith(("quality.", "assertion.", "layer.", "tag.")):
        where = w.where_regressions_are(comparison.cases, comparison.comparability)
        # The full reason is in `reasons`; the headline keeps the change and where it is.
        metric = comparison.metric(first.key)
        if metric is not None and first.threshold and first.threshold.startswith("max drop"):
            text = _drop_sentence(metric, comparison.confidence)
        if where:
            text += f"; {where}"
    more = len(deciding) - 1
    if more:
        text += f" (and {more} more {verdict} check{'s' if more != 1 else ''})"
    return text + "."


def decide(comparison: Comparison, policy: Policy, mode: Mode = "pr") -> GateResult:
    """Apply ``policy`` to ``comparison`` in ``mode`` ("pr" or "release")."""
    confidence = comparison.confidence
    checks: list[Check] = []
    applied: tuple[str, ...] = ()
    if not comparison.comparability.comparable:
        why = "; ".join(comparison.comparability.reasons)
        checks.append(Check("comparability", "error", True, f"The runs cannot be compared: {why}."))
    else:
        checks.append(_errors_check(comparison, policy))
        checks += _quality_checks(comparison, policy, mode, confidence)
        increases = increase_checks(comparison, policy, confidence)
        increases, notes, applied = tradeoff_checks(increases, comparison, policy, confidence)
        checks += increases + notes
    checks += _policy_notes(comparison, policy)
    verdict = _verdict(checks)
    pass_rate = comparison.metric("quality.pass_rate")
    rule = policy.quality.get("quality.pass_rate")
    margin = None
    if rule is not None and rule.max_drop is not None and pass_rate is not None:
        margin = rule.max_drop.absolute(pass_rate.base)
    mde, needed = (None, None) if pass_rate is None else _power(pass_rate, policy.alpha, margin)
    deciding_status = "ok" if verdict == "pass" else verdict
    reasons = tuple(c.reason for c in checks if c.status == deciding_status and c.blocking)
    return GateResult(
        verdict=verdict,
        mode=mode,
        headline=_headline(verdict, checks, comparison),
        reasons=reasons,
        checks=tuple(checks),
        exit_code=_exit_code(verdict, mode, policy),
        mde=mde,
        cases_needed=needed,
        tradeoffs_applied=applied,
    )
