"""The cases whose outcome changed between the runs, worst first, with what flipped and where.

Status of a compared case, from the share of its paired samples that passed on each side (its
outcome is the majority, as for McNemar):

* ``regressed`` / ``fixed``: the majority outcome flipped from pass to fail / fail to pass;
* ``flaky``: the share moved without flipping the majority, and one side is strictly between
  0 and 1 (some samples pass, some fail);
* ``still_failing`` / ``unchanged``: not listed (nothing to act on);
* ``errored``: a case left out of the metrics because no sample was scored on both sides.

``layers`` lists the layers of the assertions whose pass share fell, so a report can say
"12 cases regressed on output format". ``severity`` orders worst first: the drop in pass rate,
then whether a blocking assertion regressed, then the drop in score.
"""

from __future__ import annotations

import math

import numpy as np

from ci_gate.compare.model import AssertionDiff, CaseChange, CaseStatus
from ci_gate.compare.outcomes import Outcomes, subset
from ci_gate.compare.pairing import Ints, Pairing
from ci_gate.compare.quality import CaseValues

# Weights that make one float sort like the tuple (pass-rate drop, blocking, score drop).
_BLOCKING_WEIGHT = 1e-3
_SCORE_WEIGHT = 1e-6


_STATUS: tuple[CaseStatus, ...] = ("regressed", "fixed", "flaky")


def _status_codes(values: CaseValues) -> Ints:
    """Per case: 0 regressed, 1 fixed, 2 flaky, -1 not listed."""
    b, h = values.base_pass, values.head_pass
    bm, hm = b > 0.5, h > 0.5
    partial = ((b > 0) & (b < 1)) | ((h > 0) & (h < 1))
    codes = np.full(b.size, -1, dtype=np.int64)
    codes[(bm == hm) & (b != h) & partial] = 2
    codes[~bm & hm] = 1
    codes[bm & ~hm] = 0
    return codes


def _first_outputs(pairing: Pairing, rows: Ints, first_col: Ints, listed: Ints) -> list[str | None]:
    arrays = pairing.base if rows is pairing.base_rows else pairing.head
    records = arrays.records
    return [None if r < 0 else records[r].output for r in rows[listed, first_col[listed]].tolist()]


def case_changes(pairing: Pairing, values: CaseValues, outcomes: Outcomes) -> list[CaseChange]:
    """Regressed, fixed and flaky cases, then errored ones, worst first.

    Python work is per listed case and per assertion that changed or failed on head; every
    other step is on arrays.
    """
    codes = _status_codes(values)
    listed = np.flatnonzero(codes >= 0)
    by_name = outcomes.by_name
    keep = (by_name.head_rate < 1.0) | (by_name.base_rate != by_name.head_rate)
    keep &= codes[by_name.case] >= 0
    rows = subset(by_name, keep)
    order = np.argsort(rows.case, kind="stable")
    bounds = np.searchsorted(rows.case[order], np.arange(len(pairing.case_ids) + 1)).tolist()
    head_flat = outcomes.head
    head_records = pairing.head.records
    row_record = head_flat.record[rows.head_row][order].tolist()
    row_pos = head_flat.pos[rows.head_row][order].tolist()
    row_base = rows.base_rate[order].tolist()
    row_head = rows.head_rate[order].tolist()
    first_col = np.argmax(pairing.valid, axis=1)
    base_out = _first_outputs(pairing, pairing.base_rows, first_col, listed)
    head_out = _first_outputs(pairing, pairing.head_rows, first_col, listed)
    base_pass, head_pass = values.base_pass.tolist(), values.head_pass.tolist()
    score_drop = (values.base_score - values.head_score).tolist()
    infos = pairing.infos
    code_list = codes.tolist()

    changes: list[CaseChange] = []
    for k, i in enumerate(listed.tolist()):
        diffs: list[AssertionDiff] = []
        layers: dict[str, None] = {}
        blocking = False
        for r in range(bounds[i], bounds[i + 1]):
            outcome = head_records[row_record[r]].assertions[row_pos[r]]
            base_rate, head_rate = row_base[r], row_head[r]
            diffs.append(
                AssertionDiff(
                    name=outcome.name,
                    type=outcome.type,
                    layer=outcome.layer,
                    base_passed=base_rate > 0.5,
                    head_passed=head_rate > 0.5,
                    head_message=outcome.message,
                )
            )
            if head_rate < base_rate:
                layers[outcome.layer] = None
                blocking = blocking or outcome.blocking
        severity = base_pass[i] - head_pass[i] + _BLOCKING_WEIGHT * blocking
        if math.isfinite(score_drop[i]):
            severity += _SCORE_WEIGHT * score_drop[i]
        info = infos[i]
        changes.append(
            CaseChange(
                case_id=info.id,
                status=_STATUS[code_list[i]],
                tags=info.tags,
                group=info.group,
                base_pass_rate=base_pass[i],
                head_pass_rate=head_pass[i],
                base_output=base_out[k],
                head_output=head_out[k],
                vars=dict(info.vars),
                expected=info.expected,
                assertions=tuple(diffs),
                layers=tuple(layers),
                severity=severity,
            )
        )
    changes += errored_changes(pairing)
    changes.sort(key=lambda c: -c.severity)  # stable: ties keep the suite's order
    return changes


def errored_changes(pairing: Pairing) -> list[CaseChange]:
    infos = pairing.head.results.cases
    return [
        CaseChange(
            case_id=case_id,
            status="errored",
            tags=infos[case_id].tags,
            group=infos[case_id].group,
            base_pass_rate=None,
            head_pass_rate=None,
            base_output=None,
            head_output=None,
            vars=dict(infos[case_id].vars),
            expected=infos[case_id].expected,
            assertions=(),
            layers=(),
            severity=0.0,
            head_error=why,
        )
        for case_id, why in pairing.errored
    ]
