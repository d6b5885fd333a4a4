"""Known answers through the whole pipeline: compare() + decide() on simulated pairs of runs.

Each simulated case has one sample; its pair of outcomes is drawn independently as "regressed"
(pass on base, fail on head), "fixed" (the reverse), both pass or both fail. Flip noise: 16% of
cases change outcome, as in an LLM suite sampled at temperature > 0.

Simulations use 500 bootstrap resamples instead of 2,000 to keep this file at a few seconds;
the McNemar test that decides pass/fail metrics is exact and does not resample at all, and 500
resamples move a 95% interval's ends by well under a point at 500 cases.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ci_gate.compare.compare import compare
from ci_gate.gate.decide import decide
from ci_gate.gate.policy import parse_policy
from ci_gate.results.model import Record, Results
from tests.factories import record, results

CASES = 500
RUNS = 200
ALPHA = 0.05
RESAMPLES = 500

_IDS = [f"case-{i:03d}" for i in range(CASES)]
_RECORDS = {(cid, ok): record(cid, passed=ok) for cid in _IDS for ok in (True, False)}
_INFO = results([_RECORDS[(cid, True)] for cid in _IDS])  # cases, fingerprint, run fields


def _run(outcomes: np.ndarray) -> Results:
    records = tuple(_RECORDS[(cid, bool(ok))] for cid, ok in zip(_IDS, outcomes, strict=True))
    return Results(run=_INFO.run, cases=_INFO.cases, records=records)


def _simulate(
    p_regress: float, p_fix: float, p_both_fail: float, rng: np.random.Generator
) -> tuple[Results, Results]:
    kinds = rng.choice(
        4, size=CASES, p=[p_regress, p_fix, p_both_fail, 1 - p_regress - p_fix - p_both_fail]
    )
    base = (kinds == 0) | (kinds == 3)
    head = (kinds == 1) | (kinds == 3)
    return _run(base), _run(head)


def _binomial_upper_tail(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


def test_exact_mcnemar_values_reach_the_metric() -> None:
    base, head = [], []
    for i, cid in enumerate(_IDS[:100]):
        base.append(_RECORDS[(cid, not 10 <= i < 13)])  # 10 regressed, then 3 fixed
        head.append(_RECORDS[(cid, i >= 10)])
    c = compare(results(base), results(head), resamples=RESAMPLES)
    m = c.metric("quality.pass_rate")
    assert m is not None and (m.regressed, m.fixed) == (10, 3)
    # 13 discordant cases, Binomial(13, 1/2): P(X <= 3) = (1 + 13 + 78 + 286) / 2**13.
    assert m.p_value == pytest.approx(2 * 378 / 8192, rel=1e-12)
    assert m.p_worse == pytest.approx(378 / 8192, rel=1e-12)
    g = decide(c, parse_policy({"min_cases": 30}))
    check = next(x for x in g.checks if x.key == "quality.pass_rate")
    assert check.adjusted_p == pytest.approx(378 / 8192, rel=1e-12)  # one blocking metric
    assert check.status == "fail"  # 7 points > 2, p = 0.046 < 0.05


def test_no_change_fails_no_more_often_than_alpha() -> None:
    """200 no-change PRs with 8% of cases regressing and 8% fixed at random.

    The margin is 0 points, so any significant drop fails: the strictest setting for false
    alarms. Tolerance: with a true false-alarm rate of exactly 5%, 200 runs give more than 16
    failures with probability below 5% (checked below); the exact test is conservative, so the
    rate is usually well below 5% (this seed: 5 of 200).
    """
    allowed = 16
    assert _binomial_upper_tail(allowed + 1, RUNS, ALPHA) < 0.05
    policy = parse_policy({"alpha": ALPHA, "quality": {"pass_rate": {"max_drop": "0pt"}}})
    rng = np.random.default_rng(2024)
    fails = 0
    for _ in range(RUNS):
        base, head = _simulate(0.08, 0.08, 0.14, rng)
        fails += decide(compare(base, head, resamples=RESAMPLES), policy).verdict == "fail"
    assert fails <= allowed


def test_a_real_five_point_drop_on_500_cases_is_caught_at_least_80_percent_of_the_time() -> None:
    """A true 5-point drop: 10.5% of cases regress and 5.5% are fixed (16% flip, as above).

    How the drop arises matters for power: the same 5 points made of 13% regressed and 8%
    fixed (21% flipping) needs 518 cases for 80% power, while 10.5% / 5.5% needs about 394, so
    500 cases catch it about 86% of the time with no margin. The default policy is used here:
    its 2-point margin costs a little (this seed catches 167 of 200, 83.5%).
    """
    policy = parse_policy({})
    rng = np.random.default_rng(7)
    caught = 0
    for _ in range(RUNS):
        base, head = _simulate(0.105, 0.055, 0.10, rng)
        caught += decide(compare(base, head, resamples=RESAMPLES), policy).verdict == "fail"
    assert caught / RUNS >= 0.80


def test_the_95_percent_interval_covers_the_true_change_at_least_93_percent_of_the_time() -> None:
    """Coverage of the paired bootstrap interval on the pass-rate change, via compare().

    The true change is p_fixed - p_regressed = -2 points. 300 runs: a true coverage of 95%
    falls below 93% in about 6% of such experiments (this seeded one covers 94.0%).
    """
    runs = 300
    true_delta = 0.06 - 0.08
    rng = np.random.default_rng(11)
    covered = 0
    for k in range(runs):
        base, head = _simulate(0.08, 0.06, 0.14, rng)
        m = compare(base, head, resamples=RESAMPLES, seed=k).metric("quality.pass_rate")
        assert m is not None and m.low is not None and m.high is not None
        covered += m.low <= true_delta <= m.high
    assert covered / runs >= 0.93


def test_records_are_shared_not_copied() -> None:
    # The simulations rely on reusing record objects across runs; pairing must not care.
    a: Record = _RECORDS[(_IDS[0], True)]
    base = _run(np.ones(CASES, dtype=bool))
    assert base.records[0] is a
