"""Pairing two runs: what is compared, what is listed apart, and when runs cannot be compared."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ci_gate.compare.compare import compare
from ci_gate.compare.pairing import groups_of, pair
from ci_gate.results.model import CaseInfo, Results
from tests.factories import h, record, results


def _with_case_print(res: Results, case_id: str, fingerprint: str) -> Results:
    cases = dict(res.cases)
    cases[case_id] = dataclasses.replace(cases[case_id], fingerprint=fingerprint)
    return dataclasses.replace(res, cases=cases)


def _with_run(res: Results, **changes: Any) -> Results:
    return dataclasses.replace(res, run=dataclasses.replace(res.run, **changes))


def test_cases_added_removed_and_changed_are_listed_apart_and_never_counted() -> None:
    base = results([record("a"), record("b"), record("gone"), record("edited")])
    head = results([record("a"), record("b"), record("new", passed=False), record("edited")])
    # "edited" fails on head, but its definition changed: not a regression.
    head = dataclasses.replace(head, records=(*head.records[:3], record("edited", passed=False)))
    head = _with_case_print(head, "edited", h(999))
    base = _with_case_print(base, "edited", h(4))
    head = _with_case_print(head, "b", base.cases["b"].fingerprint)
    base = _with_case_print(base, "a", head.cases["a"].fingerprint)
    c = compare(base, head, resamples=200)
    comp = c.comparability
    assert comp.added == ("new",)
    assert comp.removed == ("gone",)
    assert comp.changed == ("edited",)
    assert comp.compared == 2
    assert comp.comparable
    m = c.metric("quality.pass_rate")
    assert m is not None and m.base == 1.0 and m.head == 1.0 and m.regressed == 0
    assert all(change.case_id not in ("edited", "new") for change in c.cases)


def test_records_pair_by_case_and_sample_and_errors_drop_their_partner() -> None:
    base = results([record("a", 0), record("a", 1), record("a", 2)], repeats=3)
    head = results(
        [
            record("a", 0, passed=True),
            record("a", 1, error=("timeout", "no answer in 60 s")),
            record("a", 2, passed=False),
        ],
        repeats=3,
    )
    p = pair(base, head)
    assert p.case_ids == ("a",)
    assert p.valid.tolist() == [[True, False, True]]
    c = compare(base, head, resamples=200)
    m = c.metric("quality.pass_rate")
    assert m is not None
    # Sample 1 is out on both sides: base 2/2, head 1/2.
    assert m.base == 1.0 and m.head == 0.5
    assert c.errors.head == 1 / 3 and c.errors.base == 0.0


def test_a_case_whose_samples_all_errored_is_listed_as_errored_not_regressed() -> None:
    base = results([record("a"), record("b"), record("c")])
    head = results(
        [record("a"), record("b", error=("rate_limit", "HTTP 429 from provider")), record("c")]
    )
    c = compare(base, head, resamples=200)
    assert c.comparability.compared == 2
    errored = [x for x in c.cases if x.status == "errored"]
    assert [x.case_id for x in errored] == ["b"]
    assert errored[0].head_error is not None and "rate_limit" in errored[0].head_error
    m = c.metric("quality.pass_rate")
    assert m is not None and m.regressed == 0 and m.n == 2


def test_different_suites_are_not_comparable() -> None:
    base = results([record("a")])
    head = _with_run(results([record("a")]), suite_name="other")
    comp = compare(base, head, resamples=200).comparability
    assert not comp.comparable and comp.different_suite
    assert any("different suites" in r and "'other'" in r for r in comp.reasons)


def test_an_interrupted_run_is_not_comparable_and_says_why() -> None:
    base = results([record("a")])
    head = _with_run(results([record("a")]), status="interrupted", stop_reason="Ctrl-C")
    comp = compare(base, head, resamples=200).comparability
    assert not comp.comparable
    assert comp.reasons == (
        "the head run is interrupted: Ctrl-C; compare complete runs only "
        "(rerun `ci-gate run` to finish it)",
    )


def test_records_never_run_make_a_complete_run_not_comparable() -> None:
    base = results([record("a"), record("b", error=("budget", "budget exhausted"))])
    head = results([record("a"), record("b")])
    c = compare(base, head, resamples=200)
    assert not c.comparability.comparable
    assert "1 base record(s) were never run" in c.comparability.reasons[0]
    # Not-run records are not errors: the error rate counts records that were run.
    assert c.errors.base == 0.0


def test_no_shared_case_is_not_comparable() -> None:
    base = results([record("a")])
    head = _with_case_print(results([record("a")]), "a", h(77))
    c = compare(base, head, resamples=200)
    assert not c.comparability.comparable
    assert c.comparability.reasons[0].startswith("no case could be paired: 0 added")
    assert c.quality == () and c.cases == ()


def test_components_that_changed_are_named() -> None:
    base = results([record("a")])
    fp = base.run.fingerprint
    head_fp = dataclasses.replace(
        fp,
        target=h(201),
        prompts={"p": h(202), "new": h(203)},
        assertions=h(204),
        repeats=h(205),
        prices=h(206),
    )
    head = _with_run(results([record("a")]), fingerprint=head_fp)
    comp = compare(base, head, resamples=200).comparability
    assert comp.prompts_changed == ("new", "p")
    assert comp.target_changed and comp.assertions_changed
    assert comp.repeats_changed and comp.prices_changed
    assert comp.comparable  # what changed is what is under test


def test_a_record_without_case_information_is_never_paired() -> None:
    base = results([record("a"), record("b")])
    head = results([record("a"), record("b")])
    cases = {"a": head.cases["a"]}  # "b" has records but no case entry
    head = dataclasses.replace(head, cases=cases)
    comp = compare(base, head, resamples=200).comparability
    assert comp.changed == ("b",) and comp.compared == 1


def test_missing_and_non_finite_numbers_are_treated_as_missing() -> None:
    base = results([record("a", latency_ms=math.nan), record("b", latency_ms=120.0)])
    head = results([record("a", latency_ms=math.inf), record("b", latency_ms=80.0)])
    c = compare(base, head, resamples=200)
    p50 = c.metric("latency.p50")
    assert p50 is not None and p50.base == 120.0 and p50.head == 80.0


def test_groups_are_numbered_and_lone_cases_are_their_own_cluster() -> None:
    base = results(
        [record("a"), record("b"), record("c")], groups={"a": "g1", "b": None, "c": "g1"}
    )
    head = results(
        [record("a"), record("b"), record("c")], groups={"a": "g1", "b": None, "c": "g1"}
    )
    groups = groups_of(pair(base, head))
    assert groups is not None
    assert groups.labels == [0, None, 0]
    assert groups.clusters == 2
    assert groups.subset(np.array([1])) is None  # a lone case: nothing to cluster
    sub = groups.subset(np.array([0, 2]))
    assert sub is not None and sub.labels == [0, 0]
    ungrouped = results([record("a")])
    assert groups_of(pair(ungrouped, ungrouped)) is None


def test_sample_numbers_need_not_start_at_zero() -> None:
    base = results([record("a", 5), record("a", 9)])
    head = results([record("a", 9, passed=False), record("a", 5)])
    p = pair(base, head)
    assert p.valid.shape == (1, 2)
    # Sample 9 passed on base and failed on head.
    c = compare(base, head, resamples=200)
    m = c.metric("quality.pass_rate")
    assert m is not None and m.base == 1.0 and m.head == 0.5


def test_case_info_is_taken_from_the_head_run() -> None:
    base = results([record("a", passed=True)], tags={"a": ("x",)})
    head = results([record("a", passed=False)], tags={"a": ("x",)})
    info: CaseInfo = head.cases["a"]
    c = compare(base, head, resamples=200)
    assert c.cases[0].vars == dict(info.vars) and c.cases[0].tags == ("x",)
