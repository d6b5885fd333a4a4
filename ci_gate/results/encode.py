"""Results as JSON-ready dicts, in the shape ``schema.json`` describes (decoding: ``codec``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from ci_gate.results.model import (
    RESULTS_FORMAT,
    RESULTS_SCHEMA_VERSION,
    AssertionOutcome,
    CaseInfo,
    Fingerprint,
    JudgeUsage,
    Record,
    Results,
    RunInfo,
)
from ci_gate.wellformed import has_surrogates


def compact_json(value: Any, *, ascii_only: bool = False) -> str:
    """Compact JSON text with non-ASCII characters as they are, except in a value holding a lone
    surrogate (a scorer's message, say), which no UTF-8 file can hold: that value is written with
    escapes, which keep it exactly."""
    text = json.dumps(value, ensure_ascii=ascii_only, separators=(",", ":"))
    if not ascii_only and has_surrogates(text):
        return json.dumps(value, separators=(",", ":"))
    return text


def _outcome_to_dict(a: AssertionOutcome) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": a.name,
        "type": a.type,
        "pass": a.passed,
        "score": a.score,
        "weight": a.weight,
        "blocking": a.blocking,
        "layer": a.layer,
        "tag": a.tag,
        "message": a.message,
    }
    if a.advisory is not None:
        d["advisory"] = a.advisory
    return d


def _judge_to_dict(u: JudgeUsage) -> dict[str, Any]:
    return {
        "calls": u.calls,
        "cached": u.cached,
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cost_usd": u.cost_usd,
        "latency_ms": u.latency_ms,
    }


def record_to_dict(r: Record) -> dict[str, Any]:
    d: dict[str, Any] = {
        "case_id": r.case_id,
        "sample": r.sample,
        "output": r.output,
        "pass": r.passed,
        "score": r.score,
        "assertions": [_outcome_to_dict(a) for a in r.assertions],
        "latency_ms": r.latency_ms,
        "input_tokens": r.input_tokens,
        "output_tokens": r.output_tokens,
        "cost_usd": r.cost_usd,
        "cached": r.cached,
        "reused": r.reused,
        "attempts": r.attempts,
        "cache_key": r.cache_key,
        "model": r.model,
        "error": None if r.error is None else {"kind": r.error.kind, "message": r.error.message},
    }
    if r.extra:
        d["extra"] = dict(r.extra)
    if r.judge is not None:
        d["judge"] = _judge_to_dict(r.judge)
    return d


def fingerprint_to_dict(f: Fingerprint) -> dict[str, Any]:
    return {
        "suite": f.suite,
        "target": f.target,
        "prompts": dict(f.prompts),
        "assertions": f.assertions,
        "repeats": f.repeats,
        "prices": f.prices,
        "cases": dict(f.cases),
    }


def run_to_dict(run: RunInfo) -> dict[str, Any]:
    t = run.totals
    d: dict[str, Any] = {
        "suite": {"name": run.suite_name, "version": run.suite_version, "path": run.suite_path},
        "target": {"id": run.target_id, "provider": run.provider, "model": run.model},
        "repeats": run.repeats,
        "fingerprint": fingerprint_to_dict(run.fingerprint),
        "git": None
        if run.git is None
        else {"commit": run.git.commit, "branch": run.git.branch, "dirty": run.git.dirty},
        "ci_gate_version": run.ci_gate_version,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_s": run.duration_s,
        "status": run.status,
        "stop_reason": run.stop_reason,
        "prices_date": run.prices_date,
        "gate": dict(run.gate),
        **({"spec": dict(run.spec)} if run.spec else {}),
        "totals": {
            "cases": t.cases,
            "records": t.records,
            "passed": t.passed,
            "failed": t.failed,
            "errored": t.errored,
            "not_run": t.not_run,
            "cached": t.cached,
            "reused": t.reused,
            "calls": t.calls,
            "input_tokens": t.input_tokens,
            "output_tokens": t.output_tokens,
            "cost_usd": t.cost_usd,
            "cost_usd_spent": t.cost_usd_spent,
            "judge_calls": t.judge_calls,
            "judge_input_tokens": t.judge_input_tokens,
            "judge_output_tokens": t.judge_output_tokens,
            "judge_cost_usd": t.judge_cost_usd,
        },
    }
    # Written only for a shard, so that an unsharded run's file is what it was before shards.
    if run.shard is not None:
        d["shard"] = {"index": run.shard.index, "count": run.shard.count}
    if run.judges:
        d["judges"] = [
            {
                "assertion": j.assertion,
                "type": j.type,
                "judge": j.judge,
                "model": j.model,
                "advisory": j.advisory,
            }
            for j in run.judges
        ]
    return d


def case_to_dict(c: CaseInfo) -> dict[str, Any]:
    return {
        "tags": list(c.tags),
        "group": c.group,
        "vars": dict(c.vars),
        "expected": c.expected,
        "fingerprint": c.fingerprint,
        **_links(c.behaviours, c.failure_modes),
        **(
            {
                "assertion_links": {
                    n: _links(x.behaviours, x.failure_modes) for n, x in c.assertion_links.items()
                }
            }
            if c.assertion_links
            else {}
        ),
    }


def _links(behaviours: tuple[str, ...], failure_modes: tuple[str, ...]) -> dict[str, Any]:
    # Omitted when empty, so files of suites without a spec stay as they were.
    out: dict[str, Any] = {}
    if behaviours:
        out["behaviours"] = list(behaviours)
    if failure_modes:
        out["failure_modes"] = list(failure_modes)
    return out


def results_to_dict(results: Results) -> dict[str, Any]:
    return {
        "format": RESULTS_FORMAT,
        "schema_version": RESULTS_SCHEMA_VERSION,
        "run": run_to_dict(results.run),
        "cases": {cid: case_to_dict(c) for cid, c in results.cases.items()},
        "records": [record_to_dict(r) for r in results.records],
    }


def results_json(results: Results, *, ascii_only: bool = False) -> Iterator[str]:
    """The results file's text, ``json.dumps(results_to_dict(...))`` compact, a record at a time:
    a 50,000-case run is never held as one dict and one string on top of its records. Each piece
    is ``compact_json``, so the text always encodes as UTF-8."""
    records = (compact_json(record_to_dict(r), ascii_only=ascii_only) for r in results.records)
    return results_json_parts(results.run, results.cases.items(), records, ascii_only=ascii_only)


def results_json_parts(
    run: RunInfo,
    cases: Iterable[tuple[str, CaseInfo]],
    records: Iterable[str],
    *,
    ascii_only: bool = False,
) -> Iterator[str]:
    """``results_json`` from the parts as they come: the cases by id, and each record already as
    its compact JSON text (a run streams them from its journal, never holding them)."""

    def dump(value: Any) -> str:
        return compact_json(value, ascii_only=ascii_only)

    head = {"format": RESULTS_FORMAT, "schema_version": RESULTS_SCHEMA_VERSION}
    yield dump(head)[:-1] + ',"run":'
    yield dump(run_to_dict(run))  # with every case's hash: not copied into a longer string
    yield ',"cases":{'
    for n, (cid, case) in enumerate(cases):
        yield ("," if n else "") + dump(cid) + ":" + dump(case_to_dict(case))
    yield '},"records":['
    for n, text in enumerate(records):
        yield ("," if n else "") + text
    yield "]}\n"
