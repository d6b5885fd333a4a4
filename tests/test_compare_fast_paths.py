"""The quick ways through a large comparison give exactly what the plain ways give.

Clusters numbered once with arrays, distinct (sum, size) pairs through integer keys, replicates
drawn and summed block by block on two threads, cases and records matched without look-ups when
they are in order: each is held here to the straightforward computation, bit for bit.
"""

from __future__ import annotations

import dataclasses
import random
import sys

import numpy as np

from ci_gate.compare.compare import compare
from ci_gate.results.model import Results
from ci_gate.stats import clusters, clusters_from_codes, paired_delta, paired_p_value
from ci_gate.stats._resample import _distinct_pairs, cluster_sums, ratio_replicates
from tests.factories import outcome, results, scored


def test_clusters_from_codes_numbers_groups_as_clusters_does() -> None:
    rng = np.random.default_rng(3)
    for _ in range(300):
        codes = rng.integers(-1, int(rng.integers(1, 8)), int(rng.integers(0, 40)))
        labels = [None if c < 0 else int(c) for c in codes]
        fast = clusters_from_codes(codes).codes
        assert fast.dtype == np.int64
        assert fast.tolist() == clusters(labels).codes.tolist()
    assert clusters_from_codes(np.array([2, -1, 2, 0, -1, 0])).codes.tolist() == [0, 1, 0, 2, 3, 2]


def test_clusters_give_the_interval_and_p_value_of_the_group_labels() -> None:
    rng = np.random.default_rng(5)
    codes = rng.integers(-1, 30, 400)
    labels = [None if c < 0 else f"g{c}" for c in codes]
    base = (rng.random(400) < 0.8).astype(float)
    head = (rng.random(400) < 0.7).astype(float)
    numbered = clusters_from_codes(codes)
    assert paired_delta(base, head, numbered, seed=2) == paired_delta(base, head, labels, seed=2)
    assert paired_p_value(base, head, numbered) == paired_p_value(base, head, labels)


def test_distinct_pairs_are_what_unique_rows_are() -> None:
    rng = np.random.default_rng(11)
    for trial in range(200):
        n = int(rng.integers(1, 300))
        codes = np.unique(rng.integers(0, int(rng.integers(1, 60)), n), return_inverse=True)[1]
        # Pass shares take few values (keys counted); scores or costs take many (keys sorted).
        few = (rng.integers(0, 4, n) - rng.integers(0, 4, n)) / 3.0
        diffs = few if trial % 2 else rng.normal(size=n)
        sums, sizes = cluster_sums(diffs, codes.reshape(-1))
        rows, counts = np.unique(np.column_stack([sums, sizes]), axis=0, return_counts=True)
        values, size_values, got_counts = _distinct_pairs(sums, sizes)
        assert values.tobytes() == rows[:, 0].tobytes()
        assert size_values.tobytes() == rows[:, 1].tobytes()
        assert got_counts.tolist() == counts.tolist()


def test_replicates_drawn_in_blocks_equal_one_draw_of_every_index() -> None:
    # 20,000 continuous units: index draws, 52 replicates a block, so 4 blocks on two threads.
    rng = np.random.default_rng(1)
    sums = rng.normal(size=20_000)
    for sizes in (np.ones(20_000), rng.integers(1, 6, 20_000).astype(float)):
        picks = np.random.default_rng(9).integers(0, 20_000, size=(200, 20_000), dtype=np.int64)
        expected = sums[picks].sum(axis=1) / sizes[picks].sum(axis=1)
        got = ratio_replicates(sums, sizes, 200, np.random.default_rng(9))
        assert got.tobytes() == expected.tobytes()


def _run(flipped: tuple[str, ...] = ()) -> Results:
    records = []
    for i in range(40):
        for sample in range(3):
            ok = ((i * 7 + sample * 3) % 5 != 0) != (f"c{i}" in flipped)
            outcomes = (outcome("contains", ok), outcome("tone", i % 4 != 0, layer="format"))
            records.append(scored(f"c{i}", sample, *outcomes))
    run = results(records, groups={f"c{i}": f"g{i // 3}" if i % 2 else None for i in range(40)})
    return dataclasses.replace(run, run=dataclasses.replace(run.run, repeats=3))


def test_records_out_of_case_order_compare_as_records_in_order() -> None:
    base, head = _run(), _run(flipped=("c3", "c8", "c13"))
    shuffled = list(head.records)
    random.Random(4).shuffle(shuffled)
    in_order = compare(base, head, resamples=300)
    assert in_order.cases and in_order == compare(
        base, dataclasses.replace(head, records=tuple(shuffled)), resamples=300
    )


def test_compare_puts_the_thread_switch_interval_back() -> None:
    before = sys.getswitchinterval()
    compare(_run(), _run(), resamples=200)
    assert sys.getswitchinterval() == before
