"""Small builders of results objects for tests (real dataclasses, no mocks)."""

from __future__ import annotations

import dataclasses
import zlib
from typing import Any

from ci_gate.results.model import (
    AssertionOutcome,
    CaseInfo,
    Fingerprint,
    GitInfo,
    Record,
    RecordError,
    Results,
    RunInfo,
    Totals,
)
from ci_gate.run.totals import totals

H = "sha256:" + "0" * 64


def h(n: int) -> str:
    return "sha256:" + f"{n:064x}"


def record(
    case_id: str = "c1",
    sample: int = 0,
    *,
    passed: bool | None = True,
    output: str | None = "ok",
    latency_ms: float | None = 100.0,
    cost_usd: float | None = 0.001,
    cached: bool = False,
    error: tuple[str, str] | None = None,
    assertions: tuple[AssertionOutcome, ...] | None = None,
    **kw: Any,
) -> Record:
    if error is not None:
        passed, output, latency_ms, cost_usd = None, None, None, None
    if assertions is None:
        assertions = (
            ()
            if error is not None
            else (
                AssertionOutcome(
                    name="contains",
                    type="contains",
                    passed=bool(passed),
                    score=1.0 if passed else 0.0,
                    weight=1.0,
                    blocking=True,
                    layer="knowledge",
                ),
            )
        )
    return Record(
        case_id=case_id,
        sample=sample,
        output=output,
        passed=passed,
        score=None if passed is None else (1.0 if passed else 0.0),
        assertions=assertions,
        latency_ms=latency_ms,
        input_tokens=None if error else 10,
        output_tokens=None if error else 5,
        cost_usd=cost_usd,
        cached=cached,
        attempts=1,
        cache_key=kw.pop("cache_key", h(zlib.crc32(f"{case_id}/{sample}".encode()))),
        error=None if error is None else RecordError(*error),
        **kw,
    )


def results(
    records: list[Record],
    *,
    tags: dict[str, tuple[str, ...]] | None = None,
    groups: dict[str, str | None] | None = None,
    **run_kw: Any,
) -> Results:
    case_ids = list(dict.fromkeys(r.case_id for r in records))
    cases = {
        cid: CaseInfo(
            id=cid,
            tags=(tags or {}).get(cid, ()),
            group=(groups or {}).get(cid),
            vars={"q": cid},
            expected=None,
            fingerprint=h(i + 1),
        )
        for i, cid in enumerate(case_ids)
    }
    fp = Fingerprint(
        suite=h(100),
        target=h(101),
        prompts={"p": h(102)},
        assertions=h(103),
        repeats=h(104),
        prices=h(105),
        cases={cid: c.fingerprint for cid, c in cases.items()},
    )
    run_fields: dict[str, Any] = {
        "suite_name": "s",
        "suite_version": "1",
        "suite_path": "suite.yaml",
        "target_id": "t",
        "provider": "fake",
        "model": "fake-model",
        "repeats": 1,
        "fingerprint": fp,
        "git": GitInfo("abc", "main", False),
        "ci_gate_version": "0.1.0",
        "started_at": "2026-11-23T00:00:00.000+00:00",
        "finished_at": "2026-11-23T00:00:01.000+00:00",
        "duration_s": 1.0,
        "status": "complete",
        "stop_reason": None,
        "totals": totals(records, len(cases), len(records)),
        "prices_date": "2026-11-01",
    }
    run_fields.update(run_kw)
    return Results(run=RunInfo(**run_fields), cases=cases, records=tuple(records))


def outcome(
    name: str,
    passed: bool,
    *,
    layer: str = "knowledge",
    blocking: bool = True,
    type: str = "contains",
    message: str = "",
) -> AssertionOutcome:
    """One assertion outcome, for records with several assertions."""
    return AssertionOutcome(
        name=name,
        type=type,
        passed=passed,
        score=1.0 if passed else 0.0,
        weight=1.0,
        blocking=blocking,
        layer=layer,
        message=message or ("" if passed else f"{name} failed"),
    )


def scored(case_id: str, sample: int, *outcomes: AssertionOutcome, **kw: Any) -> Record:
    """A record whose pass and score follow from its assertion outcomes."""
    passed = all(o.passed for o in outcomes if o.blocking)
    rec = record(case_id, sample, passed=passed, assertions=tuple(outcomes), **kw)
    score = sum(o.score for o in outcomes) / len(outcomes) if outcomes else 1.0
    return dataclasses.replace(rec, score=score)


__all__ = ["H", "Totals", "h", "outcome", "record", "results", "scored"]
