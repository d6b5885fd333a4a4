"""Consistency across groups: cases that share a ``group`` (paraphrases of one question) should
get the same verdict, and say about the same thing.

For one run, per group with at least two answered cases:

* verdict agreement: the share of the group's cases whose verdict equals the group's majority
  verdict. A case's verdict is its majority over its answered samples (it passes when more than
  half of them pass; a tie is a failure, as in the comparison's McNemar test). A group of 4 with
  3 passing agrees 0.75; 2 passing of 4 agrees 0.5, the least possible for 4 cases.
* output agreement: the mean pairwise ``ci_gate.similarity.string_similarity`` of the cases'
  first-sample outputs (of the first ``MAX_OUTPUTS`` cases of a larger group, in case order,
  to bound the quadratic number of pairs). Lexical: it shows answers that drift apart in
  wording, not in meaning.

Overall consistency is the mean over groups of verdict agreement: every group counts once,
however many paraphrases it has. It is 1.0 when every group is unanimous, whether its cases
all pass or all fail: consistency is not correctness.

In a comparison (``consistency_metric``), only compared cases count (present in both runs with
the same definition and scored on both sides), a case's verdict is its majority over the paired
samples, and a group needs two such cases. The metric ``quality.consistency`` is the overall
verdict agreement, paired by group: its interval comes from the bootstrap over groups and its
p-value from the sign-flip test on per-group changes (each group is one unit). Groups whose
agreement dropped are listed worst first (largest drop, then most cases, then name), at most
``MAX_LISTED`` of them with their output agreement on each side. No group with two compared
cases: no metric at all, not a zero.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from ci_gate.compare.model import ConsistencyDiff, GroupChange, MetricDelta
from ci_gate.compare.pairing import Bools, Floats, Groups, Ints, Pairing, RunArrays
from ci_gate.compare.quality import CaseValues, Settings, bootstrapped_metric
from ci_gate.results.model import Results
from ci_gate.similarity import string_similarity
from ci_gate.stats import Clusters

KEY = "quality.consistency"
LABEL = "consistency across groups"
# Where to intervene when paraphrases stop agreeing: the model answers the same question
# differently depending on its wording, which the prompt's instructions and examples govern.
LAYER = "instructions"
MIN_CASES = 2
MAX_OUTPUTS = 30
MAX_LISTED = 100
# Agreements are ratios of small integers: a change smaller than this is rounding, not a drop.
_EPSILON = 1e-12


def verdict_agreement(verdicts: Sequence[bool]) -> float:
    """The share of ``verdicts`` equal to their majority (at least 0.5 when not empty)."""
    if not verdicts:
        raise ValueError("a group needs at least one verdict")
    passing = sum(verdicts)
    return max(passing, len(verdicts) - passing) / len(verdicts)


def output_agreement(outputs: Sequence[str]) -> float | None:
    """The mean pairwise string similarity of the first ``MAX_OUTPUTS`` outputs; None for
    fewer than two."""
    kept = list(outputs[:MAX_OUTPUTS])
    if len(kept) < 2:
        return None
    values = [string_similarity(a, b) for a, b in combinations(kept, 2)]
    return math.fsum(values) / len(values)


@dataclass(frozen=True)
class GroupConsistency:
    group: str
    cases: int  # answered cases
    passing: int  # of them, those whose majority verdict is pass
    verdict_agreement: float
    output_agreement: float | None


@dataclass(frozen=True)
class RunConsistency:
    """The groups of one run (by name) with two or more answered cases."""

    groups: tuple[GroupConsistency, ...]

    @property
    def overall(self) -> float | None:
        """Mean verdict agreement over groups; None when the run has no such group."""
        if not self.groups:
            return None
        return math.fsum(g.verdict_agreement for g in self.groups) / len(self.groups)


def run_consistency(results: Results) -> RunConsistency:
    """Consistency of one run's groups; see the module docstring."""
    samples: dict[str, list[tuple[int, bool, str]]] = defaultdict(list)
    for record in results.records:
        if record.error is None and record.passed is not None:
            samples[record.case_id].append((record.sample, record.passed, record.output or ""))
    members: dict[str, list[str]] = defaultdict(list)
    for case_id, info in results.cases.items():
        if info.group is not None and case_id in samples:
            members[info.group].append(case_id)
    found = []
    for name in sorted(members):
        case_ids = members[name]
        if len(case_ids) < MIN_CASES:
            continue
        verdicts, outputs = [], []
        for case_id in case_ids:
            got = sorted(samples[case_id])
            verdicts.append(sum(passed for _, passed, _ in got) * 2 > len(got))
            outputs.append(got[0][2])
        found.append(
            GroupConsistency(
                group=name,
                cases=len(case_ids),
                passing=sum(verdicts),
                verdict_agreement=verdict_agreement(verdicts),
                output_agreement=output_agreement(outputs),
            )
        )
    return RunConsistency(tuple(found))


def _group_names(pairing: Pairing, codes: Ints) -> dict[int, str]:
    names: dict[int, str] = {}
    for index, code in enumerate(codes.tolist()):
        if code >= 0 and code not in names:
            group = pairing.infos[index].group
            assert group is not None  # a code is given only to a case with a group
            names[code] = group
    return names


def _first_outputs(arrays: RunArrays, rows: Ints, cases: Ints, first_col: Ints) -> list[str]:
    records = arrays.records
    picked = rows[cases, first_col[cases]].tolist()
    return [records[r].output or "" for r in picked]


def _agreements(verdicts: Bools, codes: Ints, sizes: Ints, keep: Ints) -> Floats:
    passing = np.bincount(codes, weights=verdicts.astype(np.float64), minlength=sizes.size)[keep]
    n = sizes[keep].astype(np.float64)
    return np.asarray(np.maximum(passing, n - passing) / n, dtype=np.float64)


def consistency_metric(
    pairing: Pairing, values: CaseValues, groups: Groups | None, settings: Settings
) -> tuple[MetricDelta | None, ConsistencyDiff | None]:
    """``quality.consistency`` and the groups that got less consistent; (None, None) when no
    group has two compared cases."""
    if groups is None:
        return None, None
    codes = groups.codes
    named = np.flatnonzero(codes >= 0)
    sizes = np.bincount(codes[named], minlength=int(codes.max()) + 1)
    keep = np.flatnonzero(sizes >= MIN_CASES)
    if not keep.size:
        return None, None
    base_verdict, head_verdict = values.base_pass > 0.5, values.head_pass > 0.5
    base = _agreements(base_verdict[named], codes[named], sizes, keep)
    head = _agreements(head_verdict[named], codes[named], sizes, keep)
    each_group = Clusters(np.arange(keep.size, dtype=np.int64))  # one resampling unit each
    change = head - base
    note = f"{keep.size} group(s) of {MIN_CASES}+ compared cases, each counted once"
    metric = bootstrapped_metric(
        settings,
        KEY,
        "rate",
        LABEL,
        base,
        head,
        each_group,
        notes=(note,),
        regressed=int(np.count_nonzero(change < -_EPSILON)),
        fixed=int(np.count_nonzero(change > _EPSILON)),
    )
    return metric, _dropped(pairing, values, codes, sizes, keep, base, head)


def _dropped(
    pairing: Pairing,
    values: CaseValues,
    codes: Ints,
    sizes: Ints,
    keep: Ints,
    base: Floats,
    head: Floats,
) -> ConsistencyDiff:
    names = _group_names(pairing, codes)
    change = (head - base).tolist()
    worse = [i for i, c in enumerate(change) if c < -_EPSILON]
    worse.sort(key=lambda i: (change[i], -int(sizes[keep[i]]), names[int(keep[i])]))
    first_col = np.argmax(pairing.valid, axis=1)
    listed = []
    for i in worse[:MAX_LISTED]:
        code = int(keep[i])
        cases = np.flatnonzero(codes == code)
        base_out = _first_outputs(pairing.base, pairing.base_rows, cases, first_col)
        head_out = _first_outputs(pairing.head, pairing.head_rows, cases, first_col)
        listed.append(
            GroupChange(
                group=names[code],
                cases=int(cases.size),
                base_agreement=float(base[i]),
                head_agreement=float(head[i]),
                base_passing=int(np.count_nonzero(values.base_pass[cases] > 0.5)),
                head_passing=int(np.count_nonzero(values.head_pass[cases] > 0.5)),
                base_output_agreement=output_agreement(base_out),
                head_output_agreement=output_agreement(head_out),
            )
        )
    return ConsistencyDiff(groups=int(keep.size), dropped_count=len(worse), dropped=tuple(listed))
