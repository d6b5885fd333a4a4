"""Results from JSON-decoded dicts, checked key by key so a bad file is named precisely.

Decoding does by hand what ``schema.json`` describes (validating every record of a 50,000-case
file with a generic validator would cost seconds); the tests check that both agree. Files of the
shape ci-gate writes take the quick path first (``results_from_bytes``, ``fast_read``), which
leaves the precise checks here only the small run section and whatever it refuses.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from operator import attrgetter
from typing import Any

from ci_gate.errors import ResultsFileError
from ci_gate.results.encode import record_to_dict, results_to_dict
from ci_gate.results.fast_read import read_fast
from ci_gate.results.model import (
    RESULTS_FORMAT,
    RESULTS_SCHEMA_VERSION,
    AssertionOutcome,
    CaseInfo,
    Fingerprint,
    GitInfo,
    JudgeStatus,
    JudgeUsage,
    Record,
    RecordError,
    Results,
    RunInfo,
    SpecLinks,
    Totals,
)
from ci_gate.run.shard import Shard, valid_shard

# Kept importable from here: readers and writers of results files use both directions.
__all__ = [
    "record_from_dict",
    "record_to_dict",
    "results_from_dict",
    "results_to_dict",
]


class _Reader:
    """Typed access to decoded JSON that names the file and key path of anything wrong."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> ResultsFileError:
        return ResultsFileError(
            f"{self.source}: {path}: {message} (is this a ci-gate results file? "
            "rerun `ci-gate run` to write it again)"
        )

    def obj(self, data: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(path, f"expected an object, got {_kind(data)}")
        return data

    def get(self, data: Mapping[str, Any], key: str, path: str, *types: type) -> Any:
        if key not in data:
            raise self.fail(f"{path}.{key}".lstrip("."), "missing")
        value = data[key]
        if types and not _is(value, types):
            names = " or ".join(_type_name(t) for t in types)
            raise self.fail(f"{path}.{key}".lstrip("."), f"expected {names}, got {_kind(value)}")
        if float in types and not _finite(value):
            # NaN, Infinity, 1e400 or a huge integer: the statistics would turn them into nan.
            raise self.fail(
                f"{path}.{key}".lstrip("."), f"expected a finite number, got {value!r:.40}"
            )
        return value

    def count(self, data: Mapping[str, Any], key: str, path: str, *types: type) -> Any:
        """A count, a duration or a cost: never negative (``types`` may add null)."""
        value = self.get(data, key, path, *types)
        if value is not None and value < 0:
            raise self.fail(f"{path}.{key}".lstrip("."), f"must not be negative, got {value}")
        return value

    def share(self, data: Mapping[str, Any], key: str, path: str, *types: type) -> Any:
        """A score, from 0 to 1 as every scorer gives it (``types`` may add null)."""
        value = self.get(data, key, path, *types)
        if value is not None and not 0 <= value <= 1:
            raise self.fail(f"{path}.{key}".lstrip("."), f"must be from 0 to 1, got {value}")
        return value

    def optional_count(self, data: Mapping[str, Any], key: str, path: str, *types: type) -> Any:
        """A count that files written before it existed leave out: 0 then."""
        return self.count(data, key, path, *types) if key in data else 0


_NONE = type(None)


def _is(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, types)


def _finite(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return True  # null, where allowed
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _type_name(t: type) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true/false",
        dict: "an object",
        list: "a list",
        _NONE: "null",
    }.get(t, t.__name__)


def _kind(value: Any) -> str:
    return _type_name(type(value)) if value is not None else "null"


def results_from_dict(data: Any, source: str) -> Results:
    rd = _Reader(source)
    top = rd.obj(data, "(top level)")
    _check_format(rd, top.get("format"), top.get("schema_version"))
    run = _run(rd, rd.obj(rd.get(top, "run", ""), "run"))
    cases_raw = rd.obj(rd.get(top, "cases", "", dict), "cases")
    cases = {cid: _case(rd, cid, rd.obj(c, f"cases.{cid}")) for cid, c in cases_raw.items()}
    records_raw = rd.get(top, "records", "", list)
    records = tuple(_record(rd, i, r) for i, r in enumerate(records_raw))
    _check_consistent(rd, run, cases, records)
    return Results(run=run, cases=cases, records=records)


def results_from_bytes(raw: bytes, source: str) -> Results | None:
    """The quick path (``fast_read``): the results, or None when the file is not of the shape
    ci-gate writes and ``results_from_dict`` must read it. It raises only what that would."""
    fast = read_fast(raw)
    if fast is None:
        return None
    rd = _Reader(source)
    # The precise reader's order: the top level, the run, then the cases and records (already
    # read), then whether they agree.
    _check_format(rd, fast.format, fast.schema_version)
    run = _run(rd, rd.obj(fast.run, "run"))
    _check_consistent(rd, run, fast.cases, fast.records)
    return Results(run=run, cases=fast.cases, records=fast.records)


def _check_format(rd: _Reader, fmt: Any, version: Any) -> None:
    if fmt != RESULTS_FORMAT:
        raise rd.fail("format", f"expected {RESULTS_FORMAT!r}, got {fmt!r}")
    if version != RESULTS_SCHEMA_VERSION:
        raise ResultsFileError(
            f"{rd.source}: schema_version: this file has version {version!r}; this ci-gate "
            f"reads version {RESULTS_SCHEMA_VERSION} (rerun the suite with this ci-gate version, "
            "or use the ci-gate version that wrote it)"
        )


def _check_consistent(
    rd: _Reader, run: RunInfo, cases: Mapping[str, CaseInfo], records: tuple[Record, ...]
) -> None:
    """What ci-gate always writes together agrees: an edited or spliced file is refused here
    rather than paired on a case that is not what its fingerprint says."""
    run_prints = run.fingerprint.cases
    for cid, case in cases.items():
        if run_prints.get(cid) != case.fingerprint:
            raise rd.fail(
                f"cases.{cid}.fingerprint",
                "does not match run.fingerprint.cases (the file was edited by hand)",
            )
    ids = [r.case_id for r in records]
    pairs = set(zip(ids, map(_sample, records), strict=True))
    if len(pairs) == len(ids) and all(map(cases.__contains__, ids)):
        return  # every record's case is known and none is given twice: the usual file
    seen: dict[tuple[str, int], int] = {}
    for i, record in enumerate(records):
        if record.case_id not in cases:
            raise rd.fail(f"records[{i}].case_id", f"{record.case_id!r:.80} is not in cases")
        first = seen.setdefault((record.case_id, record.sample), i)
        if first != i:
            raise rd.fail(
                f"records[{i}]", f"same case and sample as records[{first}] (a record given twice)"
            )


_sample = attrgetter("sample")


def record_from_dict(raw: Any, source: str, index: int = 0) -> Record:
    return _record(_Reader(source), index, raw)


def _run(rd: _Reader, d: Mapping[str, Any]) -> RunInfo:
    suite = rd.obj(rd.get(d, "suite", "run"), "run.suite")
    target = rd.obj(rd.get(d, "target", "run"), "run.target")
    fp = rd.obj(rd.get(d, "fingerprint", "run"), "run.fingerprint")
    git_raw = rd.get(d, "git", "run", dict, _NONE)
    totals = rd.obj(rd.get(d, "totals", "run"), "run.totals")
    git = None
    if git_raw is not None:
        git = GitInfo(
            commit=rd.get(git_raw, "commit", "run.git", str, _NONE),
            branch=rd.get(git_raw, "branch", "run.git", str, _NONE),
            dirty=rd.get(git_raw, "dirty", "run.git", bool, _NONE),
        )

    def total(key: str, *types: type) -> Any:
        return rd.count(totals, key, "run.totals", *types)

    def judge_total(key: str, *types: type) -> Any:
        # Files written before judges existed have none of these keys.
        return rd.optional_count(totals, key, "run.totals", *types)

    return RunInfo(
        suite_name=rd.get(suite, "name", "run.suite", str),
        suite_version=rd.get(suite, "version", "run.suite", str),
        suite_path=rd.get(suite, "path", "run.suite", str),
        target_id=rd.get(target, "id", "run.target", str),
        provider=rd.get(target, "provider", "run.target", str),
        model=rd.get(target, "model", "run.target", str, _NONE),
        repeats=_repeats(rd, d),
        fingerprint=Fingerprint(
            suite=rd.get(fp, "suite", "run.fingerprint", str),
            target=rd.get(fp, "target", "run.fingerprint", str),
            prompts=rd.get(fp, "prompts", "run.fingerprint", dict),
            assertions=rd.get(fp, "assertions", "run.fingerprint", str),
            repeats=rd.get(fp, "repeats", "run.fingerprint", str),
            prices=rd.get(fp, "prices", "run.fingerprint", str),
            cases=rd.get(fp, "cases", "run.fingerprint", dict),
        ),
        git=git,
        ci_gate_version=rd.get(d, "ci_gate_version", "run", str),
        started_at=rd.get(d, "started_at", "run", str),
        finished_at=rd.get(d, "finished_at", "run", str),
        duration_s=float(rd.count(d, "duration_s", "run", float)),
        status=_status(rd, d),
        stop_reason=rd.get(d, "stop_reason", "run", str, _NONE),
        prices_date=rd.get(d, "prices_date", "run", str),
        gate=_mapping(d.get("gate")),
        shard=_shard(rd, d.get("shard")),
        judges=_judges(rd, d.get("judges")),
        spec=_mapping(d.get("spec")),
        totals=Totals(
            cases=total("cases", int),
            records=total("records", int),
            passed=total("passed", int),
            failed=total("failed", int),
            errored=total("errored", int),
            not_run=total("not_run", int),
            cached=total("cached", int),
            reused=total("reused", int),
            calls=total("calls", int),
            input_tokens=total("input_tokens", int),
            output_tokens=total("output_tokens", int),
            cost_usd=float(total("cost_usd", float)),
            cost_usd_spent=float(total("cost_usd_spent", float)),
            judge_calls=judge_total("judge_calls", int),
            judge_input_tokens=judge_total("judge_input_tokens", int),
            judge_output_tokens=judge_total("judge_output_tokens", int),
            judge_cost_usd=float(judge_total("judge_cost_usd", float)),
        ),
    )


_STATUSES = ("complete", "interrupted", "budget_exhausted")


def _status(rd: _Reader, d: Mapping[str, Any]) -> str:
    status: str = rd.get(d, "status", "run", str)
    if status not in _STATUSES:
        raise rd.fail("run.status", f"expected one of {', '.join(_STATUSES)}, got {status!r:.60}")
    return status


def _weight(rd: _Reader, a: Mapping[str, Any], path: str) -> float:
    # The case's score divides by the weights: none may be 0, nor count against the others.
    weight = float(rd.get(a, "weight", path, float))
    if not weight > 0:
        raise rd.fail(f"{path}.weight", f"must be greater than 0, got {weight}")
    return weight


def _repeats(rd: _Reader, d: Mapping[str, Any]) -> int:
    repeats: int = rd.get(d, "repeats", "run", int)
    if repeats < 1:
        raise rd.fail("run.repeats", f"must be at least 1, got {repeats}")
    return repeats


def _judges(rd: _Reader, raw: Any) -> tuple[JudgeStatus, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise rd.fail("run.judges", f"expected a list, got {_kind(raw)}")
    out = []
    for i, item in enumerate(raw):
        path = f"run.judges[{i}]"
        j = rd.obj(item, path)
        out.append(
            JudgeStatus(
                assertion=rd.get(j, "assertion", path, str),
                type=rd.get(j, "type", path, str),
                judge=rd.get(j, "judge", path, str),
                model=rd.get(j, "model", path, str, _NONE),
                advisory=rd.get(j, "advisory", path, str, _NONE),
            )
        )
    return tuple(out)


def _judge_usage(rd: _Reader, raw: Any, path: str) -> JudgeUsage | None:
    if raw is None:
        return None
    j = rd.obj(raw, path)
    cost = rd.count(j, "cost_usd", path, float, _NONE)
    return JudgeUsage(
        calls=rd.count(j, "calls", path, int),
        cached=rd.count(j, "cached", path, int),
        input_tokens=rd.count(j, "input_tokens", path, int),
        output_tokens=rd.count(j, "output_tokens", path, int),
        cost_usd=None if cost is None else float(cost),
        latency_ms=float(rd.count(j, "latency_ms", path, float)),
    )


def _shard(rd: _Reader, raw: Any) -> Shard | None:
    # Files written before shards existed have no key; null is read the same way.
    if raw is None:
        return None
    d = rd.obj(raw, "run.shard")
    index = rd.get(d, "index", "run.shard", int)
    count = rd.get(d, "count", "run.shard", int)
    if not valid_shard(index, count):
        raise rd.fail("run.shard", f"{index}/{count} is not a shard (1 <= index <= count <= 256)")
    return Shard(index, count)


def _case(rd: _Reader, cid: str, d: Mapping[str, Any]) -> CaseInfo:
    path = f"cases.{cid}"
    tags = rd.get(d, "tags", path, list)
    if not all(isinstance(t, str) for t in tags):
        raise rd.fail(f"{path}.tags", "expected a list of strings")
    links = _links(rd, d, path)
    raw_inner = d.get("assertion_links", {})
    if not isinstance(raw_inner, dict):
        raise rd.fail(f"{path}.assertion_links", f"expected an object, got {_kind(raw_inner)}")
    inner = {}
    for name, value in raw_inner.items():
        at = f"{path}.assertion_links.{name}"
        inner[name] = _links(rd, rd.obj(value, at), at)
    return CaseInfo(
        id=cid,
        tags=tuple(tags),
        group=rd.get(d, "group", path, str, _NONE),
        vars=rd.get(d, "vars", path, dict),
        expected=rd.get(d, "expected", path),
        fingerprint=rd.get(d, "fingerprint", path, str),
        behaviours=links.behaviours,
        failure_modes=links.failure_modes,
        assertion_links=inner,
    )


def _links(rd: _Reader, d: Mapping[str, Any], path: str) -> SpecLinks:
    """Spec links are optional: files of suites without a spec have none."""
    found: dict[str, tuple[str, ...]] = {}
    for key in ("behaviours", "failure_modes"):
        names = d.get(key, [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise rd.fail(f"{path}.{key}", "expected a list of strings")
        found[key] = tuple(names)
    return SpecLinks(found["behaviours"], found["failure_modes"])


def _record(rd: _Reader, i: int, raw: Any) -> Record:
    path = f"records[{i}]"
    d = rd.obj(raw, path)
    err_raw = rd.get(d, "error", path, dict, _NONE)
    error = None
    if err_raw is not None:
        error = RecordError(
            kind=rd.get(err_raw, "kind", f"{path}.error", str),
            message=rd.get(err_raw, "message", f"{path}.error", str),
        )
    outcomes = []
    for j, a_raw in enumerate(rd.get(d, "assertions", path, list)):
        ap = f"{path}.assertions[{j}]"
        a = rd.obj(a_raw, ap)
        outcomes.append(
            AssertionOutcome(
                # Interned: the same few names and layers repeat in every record.
                name=sys.intern(rd.get(a, "name", ap, str)),
                type=sys.intern(rd.get(a, "type", ap, str)),
                passed=rd.get(a, "pass", ap, bool),
                score=float(rd.share(a, "score", ap, float)),
                weight=_weight(rd, a, ap),
                blocking=rd.get(a, "blocking", ap, bool),
                layer=sys.intern(rd.get(a, "layer", ap, str)),
                tag=rd.get(a, "tag", ap, str, _NONE),
                message=rd.get(a, "message", ap, str),
                advisory=a.get("advisory") if isinstance(a.get("advisory"), str) else None,
            )
        )
    passed = rd.get(d, "pass", path, bool, _NONE)
    if error is not None and passed is not None:
        raise rd.fail(f"{path}.pass", "a record with an error must have pass: null")
    latency = rd.count(d, "latency_ms", path, float, _NONE)
    score = rd.share(d, "score", path, float, _NONE)
    cost = rd.count(d, "cost_usd", path, float, _NONE)
    extra = d.get("extra")
    return Record(
        case_id=rd.get(d, "case_id", path, str),
        sample=rd.count(d, "sample", path, int),
        output=rd.get(d, "output", path, str, _NONE),
        passed=passed,
        score=None if score is None else float(score),
        assertions=tuple(outcomes),
        latency_ms=None if latency is None else float(latency),
        input_tokens=rd.count(d, "input_tokens", path, int, _NONE),
        output_tokens=rd.count(d, "output_tokens", path, int, _NONE),
        cost_usd=None if cost is None else float(cost),
        cached=rd.get(d, "cached", path, bool),
        reused=rd.get(d, "reused", path, bool),
        attempts=rd.count(d, "attempts", path, int),
        cache_key=rd.get(d, "cache_key", path, str),
        model=rd.get(d, "model", path, str, _NONE),
        error=error,
        extra=_mapping(extra),
        judge=_judge_usage(rd, d.get("judge"), f"{path}.judge"),
    )
