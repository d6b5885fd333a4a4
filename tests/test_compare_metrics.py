"""Metrics of a comparison: quality with intervals and exact tests, slices, layers, case changes,
latency, cost, tokens and errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ci_gate.compare.compare import compare
from ci_gate.compare.outcomes import paired_outcomes
from ci_gate.compare.pairing import pair
from ci_gate.results.model import Record
from ci_gate.stats import mcnemar_exact, mcnemar_exact_worse, paired_delta, paired_p_value
from tests.factories import outcome, record, results, scored


def _flips(n: int, regressed: int, fixed: int, both_fail: int = 0) -> tuple[list[Record], ...]:
    """Single-sample cases: the first ``regressed`` pass then fail, then ``fixed`` the reverse."""
    base, head = [], []
    for i in range(n):
        b = not (regressed <= i < regressed + fixed or i >= n - both_fail)
        hd = not (i < regressed or i >= n - both_fail)
        base.append(record(f"c{i:03d}", passed=b))
        head.append(record(f"c{i:03d}", passed=hd))
    return base, head


def test_pass_rate_has_a_bootstrap_interval_and_an_exact_mcnemar_p_value() -> None:
    base, head = _flips(100, regressed=9, fixed=2, both_fail=5)
    c = compare(results(base), results(head), resamples=1000, seed=3)
    m = c.metric("quality.pass_rate")
    assert m is not None
    assert m.base == pytest.approx(0.93) and m.head == pytest.approx(0.86)
    assert m.delta == pytest.approx(-0.07)
    assert (m.regressed, m.fixed, m.n) == (9, 2, 100)
    assert m.p_value == mcnemar_exact(9, 2)
    assert m.p_worse == mcnemar_exact_worse(9, 2)
    expected = paired_delta(
        [1.0 if r.passed else 0.0 for r in base],
        [1.0 if r.passed else 0.0 for r in head],
        resamples=1000,
        seed=3,
    )
    assert (m.low, m.high) == (expected.low, expected.high)
    assert m.low is not None and m.high is not None and m.low < -0.07 < m.high


def test_repeats_average_per_case_and_mcnemar_uses_the_majority() -> None:
    # Case a: 3/3 -> 1/3 (majority flips: regressed). Case b: 3/3 -> 2/3 (flaky).
    # Case c: 0/3 -> 2/3 (fixed).
    pattern = {
        "a": ([1, 1, 1], [1, 0, 0]),
        "b": ([1, 1, 1], [1, 1, 0]),
        "c": ([0, 0, 0], [1, 1, 0]),
    }
    base = [record(c, s, passed=bool(v[0][s])) for c, v in pattern.items() for s in range(3)]
    head = [record(c, s, passed=bool(v[1][s])) for c, v in pattern.items() for s in range(3)]
    c = compare(results(base, repeats=3), results(head, repeats=3), resamples=500)
    m = c.metric("quality.pass_rate")
    assert m is not None
    assert m.base == pytest.approx(2 / 3) and m.head == pytest.approx(5 / 9)
    assert (m.regressed, m.fixed) == (1, 1)
    assert m.p_value == mcnemar_exact(1, 1)
    statuses = {x.case_id: x.status for x in c.cases}
    assert statuses == {"a": "regressed", "b": "flaky", "c": "fixed"}
    assert [x.case_id for x in c.cases] == ["a", "b", "c"]  # worst first


def test_score_uses_the_sign_flip_test_and_one_sided_p_from_its_symmetry() -> None:
    base = [scored(f"c{i}", 0, outcome("x", True), outcome("y", True)) for i in range(40)]
    head = [scored(f"c{i}", 0, outcome("x", True), outcome("y", i % 3 != 0)) for i in range(40)]
    c = compare(results(base), results(head), resamples=500, seed=1)
    m = c.metric("quality.score")
    assert m is not None and m.kind == "score"
    b_scores = [r.score for r in base]
    h_scores = [r.score for r in head]
    p = paired_p_value(b_scores, h_scores, resamples=500, seed=1)  # type: ignore[arg-type]
    assert m.p_value == p
    assert m.delta is not None and m.delta < 0
    assert m.p_worse == pytest.approx(p / 2)


def _layered_runs() -> tuple[list[Record], list[Record]]:
    """Case i has a knowledge and a format assertion; format breaks on head for even cases."""
    base, head = [], []
    for i in range(12):
        base.append(
            scored(
                f"c{i:02d}",
                0,
                outcome("fact", True),
                outcome("valid-json", True, layer="format", type="is-json"),
                outcome("short", i != 3, layer="format", blocking=False, type="length"),
            )
        )
        head.append(
            scored(
                f"c{i:02d}",
                0,
                outcome("fact", True),
                outcome(
                    "valid-json",
                    i % 2 == 1,
                    layer="format",
                    type="is-json",
                    message=f"not JSON: case {i}",
                ),
                outcome("short", True, layer="format", blocking=False, type="length"),
            )
        )
    return base, head


def test_assertions_and_layers_have_their_own_metrics() -> None:
    base, head = _layered_runs()
    c = compare(results(base), results(head), resamples=500)
    fact, json_ok, short = (c.metric(f"assertion.{n}") for n in ("fact", "valid-json", "short"))
    assert fact is not None and fact.delta == 0.0
    assert json_ok is not None and json_ok.head == 0.5 and json_ok.regressed == 6
    assert short is not None and short.fixed == 1
    fmt, know = c.metric("layer.format"), c.metric("layer.knowledge")
    # A layer passes in a sample when all its assertions pass: base fails case 3 (short),
    # head fails the six even cases (valid-json); case 3 is odd, so it is fixed.
    assert fmt is not None and fmt.base == pytest.approx(11 / 12) and fmt.head == 0.5
    assert (fmt.regressed, fmt.fixed) == (6, 1)
    assert know is not None and know.delta == 0.0
    assert [m.key for m in c.layers] == ["layer.format", "layer.knowledge"]


def test_case_changes_name_the_flipped_assertions_and_their_layers() -> None:
    base, head = _layered_runs()
    c = compare(results(base), results(head), resamples=500)
    regressed = [x for x in c.cases if x.status == "regressed"]
    assert [x.case_id for x in regressed] == ["c00", "c02", "c04", "c06", "c08", "c10"]
    first = regressed[0]
    assert first.layers == ("format",)
    (diff,) = first.assertions
    assert (diff.name, diff.type, diff.layer) == ("valid-json", "is-json", "format")
    assert (diff.base_passed, diff.head_passed) == (True, False)
    assert diff.head_message == "not JSON: case 0"
    assert first.base_output == "ok" and first.head_output == "ok"
    assert first.severity > 0


def test_dense_and_sorted_pairing_of_assertions_agree() -> None:
    base, head = _layered_runs()
    p = pair(results(base), results(head))
    dense, sparse = paired_outcomes(p), paired_outcomes(p, dense_limit=0)
    for a, b in ((dense.by_name, sparse.by_name), (dense.by_layer, sparse.by_layer)):
        assert a.unit.tolist() == b.unit.tolist() and a.case.tolist() == b.case.tolist()
        assert a.base_rate.tolist() == b.base_rate.tolist()
        assert a.head_rate.tolist() == b.head_rate.tolist()
        assert a.head_row.tolist() == b.head_row.tolist()


def test_tags_are_slices_over_their_cases() -> None:
    base, head = _flips(8, regressed=2, fixed=0)
    tags: dict[str, tuple[str, ...]] = {
        f"c{i:03d}": ("refunds",) if i < 4 else ("billing", "billing") for i in range(8)
    }
    c = compare(results(base, tags=tags), results(head, tags=tags), resamples=500)
    assert [m.key for m in c.slices] == ["tag.billing", "tag.refunds"]
    refunds, billing = c.metric("tag.refunds"), c.metric("tag.billing")
    assert refunds is not None and refunds.n == 4 and refunds.head == 0.5
    assert billing is not None and billing.n == 4 and billing.delta == 0.0


def test_groups_cluster_the_interval_and_the_p_value() -> None:
    base, head = _flips(40, regressed=8, fixed=1)
    groups: dict[str, str | None] = {f"c{i:03d}": f"g{i // 4}" for i in range(40)}
    c = compare(results(base, groups=groups), results(head, groups=groups), resamples=500)
    m = c.metric("quality.pass_rate")
    assert m is not None and m.n == 10  # ten groups resampled, not forty cases
    assert m.note is not None and "groups" in m.note
    values = [[1.0 if r.passed else 0.0 for r in side] for side in (base, head)]
    labels = [i // 4 for i in range(40)]
    assert m.p_value == paired_p_value(values[0], values[1], labels, resamples=500, seed=0)
    assert c.settings["clustered"] is True and c.settings["clusters"] == 10


def test_identical_inputs_give_identical_metrics() -> None:
    base, head = _flips(30, regressed=4, fixed=1)
    c = compare(results(base), results(head), resamples=500)
    pr, contains, layer = (
        c.metric(k) for k in ("quality.pass_rate", "assertion.contains", "layer.knowledge")
    )
    assert pr is not None and contains is not None and layer is not None
    for m in (contains, layer):
        assert (m.low, m.high, m.p_value, m.delta) == (pr.low, pr.high, pr.p_value, pr.delta)
    assert contains.label == "assertion contains"


def test_comparisons_are_deterministic_for_a_seed() -> None:
    base, head = _flips(50, regressed=5, fixed=2)
    one = compare(results(base), results(head), resamples=300, seed=7)
    two = compare(results(base), results(head), resamples=300, seed=7)
    other = compare(results(base), results(head), resamples=300, seed=8)
    assert one == two
    assert one.metric("quality.pass_rate") != other.metric("quality.pass_rate")


def test_latency_percentiles_leave_out_cached_and_reused_records() -> None:
    base = [record(f"c{i}", latency_ms=100.0 + i) for i in range(80)]
    head = [
        record(f"c{i}", latency_ms=200.0 + i, cached=i % 2 == 0, reused=i % 5 == 0)
        for i in range(80)
    ]
    c = compare(results(base), results(head), resamples=500)
    p50 = c.metric("latency.p50")
    assert p50 is not None
    fresh = [200.0 + i for i in range(80) if i % 2 and i % 5]
    assert p50.base == float(np.percentile([100.0 + i for i in range(80)], 50))
    assert p50.head == float(np.percentile(fresh, 50))
    assert p50.higher_is_better is False and p50.low is not None
    p99 = c.metric("latency.p99")
    assert p99 is not None and p99.low is None and p99.note and "299" in p99.note


def test_cost_per_case_total_tokens_and_what_was_spent() -> None:
    base = [record(f"c{i}", cost_usd=0.01) for i in range(20)]
    head = [record(f"c{i}", cost_usd=0.012 + 0.001 * (i % 2), cached=i < 5) for i in range(20)]
    c = compare(results(base), results(head), resamples=500)
    per_case, total = c.metric("cost.per_case"), c.metric("cost.total")
    assert per_case is not None and total is not None
    assert per_case.base == pytest.approx(0.01) and per_case.head == pytest.approx(0.0125)
    assert total.base == pytest.approx(0.2) and total.head == pytest.approx(0.25)
    assert total.low == pytest.approx(per_case.low * 20)  # type: ignore[operator]
    assert c.spent_base_usd == pytest.approx(0.2)
    head_spent = sum(0.012 + 0.001 * (i % 2) for i in range(5, 20))
    assert c.spent_head_usd == pytest.approx(head_spent)
    tokens = c.metric("tokens.input")
    assert tokens is not None and tokens.base == 10.0 and tokens.low is None


def test_cost_without_prices_is_reported_as_missing() -> None:
    base = [record(f"c{i}", cost_usd=None) for i in range(5)]
    c = compare(results(base), results(base), resamples=200)
    per_case = c.metric("cost.per_case")
    assert per_case is not None and per_case.base is None and "price" in (per_case.note or "")


def test_error_rate_counts_errors_over_records_that_were_run() -> None:
    base = [record(f"c{i}") for i in range(10)]
    head = [record(f"c{i}") for i in range(8)] + [
        record("c8", error=("server_error", "HTTP 503")),
        record("c9", error=("timeout", "60 s")),
    ]
    c = compare(results(base), results(head), resamples=200)
    assert c.errors.key == "errors.rate"
    assert (c.errors.base, c.errors.head) == (0.0, 0.2)
    assert "2 of 10 head records errored" in (c.errors.note or "")


def test_settings_are_recorded() -> None:
    base, head = _flips(10, 1, 0)
    c = compare(results(base), results(head), resamples=321, seed=5, confidence=0.9)
    assert c.settings["resamples"] == 321 and c.settings["seed"] == 5
    assert c.settings["confidence"] == 0.9
    with pytest.raises(ValueError, match="confidence"):
        compare(results(base), results(head), confidence=1.5)


def test_untrusted_case_text_passes_through_unchanged() -> None:
    nasty = "::set-output name=x::1 <!-- ci-gate --> @team #12 \u202e"
    base = [dataclasses.replace(record("c1"), output=nasty)]
    head = [dataclasses.replace(record("c1", passed=False), output=nasty + "!")]
    c = compare(results(base), results(head), resamples=200)
    # Sanitising is the reports' job; the comparison keeps the text exactly.
    assert c.cases[0].base_output == nasty and c.cases[0].head_output == nasty + "!"
