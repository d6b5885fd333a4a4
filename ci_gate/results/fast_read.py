"""The quick path of reading a results file: msgspec decodes and type-checks its records and cases
in C, straight from the bytes, and they are built from that.

It accepts only the shape ci-gate writes. On anything else (bad JSON, a missing key, a wrong type,
a number out of range, NaN, a lone surrogate, or an unusual but valid value) ``read_fast`` gives
None and the precise reader (stdlib ``json`` and ``codec``) decodes the file instead, naming the
file and key path of what is wrong. So this path refuses whatever the precise one refuses and
builds the same values; it only makes the common case fast: a 52 MB file of 50,000 records in a
fraction of the time Python-level checks of every key take. The run section, small, always goes
through the precise reader. ``tests/test_results_fast_read.py`` holds the two paths to that.

This is the only module that imports msgspec.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import msgspec

from ci_gate.results.model import (
    AssertionOutcome,
    CaseInfo,
    JudgeUsage,
    Record,
    RecordError,
    SpecLinks,
)

_FMAX = sys.float_info.max
# msgspec reads an integer where a float is due, as the precise reader does; it never reads
# true/false as a number, nor NaN or an infinity at all.
_Share = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
_Amount = Annotated[float, msgspec.Meta(ge=0.0, le=_FMAX)]
_Weight = Annotated[float, msgspec.Meta(gt=0.0, le=_FMAX)]
_Count = Annotated[int, msgspec.Meta(ge=0)]


class _Outcome(msgspec.Struct, frozen=True, gc=False, rename={"passed": "pass"}):
    name: str
    type: str
    passed: bool
    score: _Share
    weight: _Weight
    blocking: bool
    layer: str
    tag: str | None
    message: str
    # The precise reader keeps a string and reads anything else as null; such a file goes there.
    advisory: str | None = None


class _Error(msgspec.Struct, gc=False):
    kind: str
    message: str


class _Judge(msgspec.Struct, gc=False):
    calls: _Count
    cached: _Count
    input_tokens: _Count
    output_tokens: _Count
    cost_usd: _Amount | None
    latency_ms: _Amount


class _Record(msgspec.Struct, gc=False, rename={"passed": "pass"}):
    case_id: str
    sample: _Count
    output: str | None
    passed: bool | None
    score: _Share | None
    assertions: list[_Outcome]
    latency_ms: _Amount | None
    input_tokens: _Count | None
    output_tokens: _Count | None
    cost_usd: _Amount | None
    cached: bool
    reused: bool
    attempts: _Count
    cache_key: str
    model: str | None
    error: _Error | None
    extra: Any = None  # the precise reader keeps an object and reads anything else as {}
    judge: _Judge | None = None


class _Links(msgspec.Struct, gc=False):
    behaviours: list[str] = []
    failure_modes: list[str] = []


class _Case(msgspec.Struct, gc=False):
    tags: list[str]
    group: str | None
    vars: dict[str, Any]
    expected: Any
    fingerprint: str
    behaviours: list[str] = []
    failure_modes: list[str] = []
    assertion_links: dict[str, _Links] = {}


class _Document(msgspec.Struct):
    format: Any
    schema_version: Any
    run: Any
    cases: dict[str, _Case]
    records: list[_Record]


_DECODER = msgspec.json.Decoder(_Document)
T = TypeVar("T")


def _builder(cls: type[T]) -> Callable[..., T]:
    """A function that makes ``cls`` from every field, in order, as its ``__init__`` does but
    without a frozen dataclass's one-call-per-field detour around its own ``__setattr__``: half
    the time of ``Record(...)``, 50,000 times a file. It sets the same slots, so the object is
    the same (``tests/test_results_fast_read.py`` compares them)."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    namespace.update({f"set_{n}": getattr(cls, n).__set__ for n in names})
    body = "".join(f"    set_{n}(made, {n})\n" for n in names)
    exec(f"def build({', '.join(names)}):\n    made = new(cls)\n{body}    return made\n", namespace)
    built: Callable[..., T] = namespace["build"]
    return built


_RECORD = _builder(Record)
_CASE = _builder(CaseInfo)


class Decoded(msgspec.Struct):
    """A file's parts: the top level and run section still to be checked by the precise
    reader, the cases and records already built."""

    format: Any
    schema_version: Any
    run: Any
    cases: dict[str, CaseInfo]
    records: tuple[Record, ...]


def read_fast(raw: bytes) -> Decoded | None:
    """The file's cases and records, or None when the precise reader must look at it."""
    try:
        doc = _DECODER.decode(raw)
    except (msgspec.MsgspecError, ValueError, RecursionError):  # invalid UTF-8: ValueError
        return None
    cases = {cid: _case_info(cid, c) for cid, c in doc.cases.items()}
    records = _records(doc.records)
    if records is None:
        return None
    return Decoded(doc.format, doc.schema_version, doc.run, cases, records)


def decode_record(raw: bytes) -> Record | None:
    """One record (a journal line), or None when the precise reader must look at it."""
    try:
        record = _RECORD_DECODER.decode(raw)
    except (msgspec.MsgspecError, ValueError, RecursionError):  # invalid UTF-8: ValueError
        return None
    built = _records([record])
    return None if built is None else built[0]


_RECORD_DECODER = msgspec.json.Decoder(_Record)


def _records(raw: list[_Record]) -> tuple[Record, ...] | None:
    # Equal outcomes (one assertion passing in thousands of records) share one object.
    shared: dict[_Outcome, AssertionOutcome] = {}
    out = []
    for r in raw:
        if r.error is not None and r.passed is not None:
            return None  # refused by the precise reader, which says why
        outcomes = []
        for a in r.assertions:
            outcome = shared.get(a)
            if outcome is None:
                outcome = shared[a] = _outcome(a)
            outcomes.append(outcome)
        error = r.error
        judge = r.judge
        extra = r.extra
        out.append(
            _RECORD(
                r.case_id,
                r.sample,
                r.output,
                r.passed,
                r.score,
                tuple(outcomes),
                r.latency_ms,
                r.input_tokens,
                r.output_tokens,
                r.cost_usd,
                r.cached,
                r.attempts,
                r.cache_key,
                None if error is None else RecordError(error.kind, error.message),
                r.reused,
                r.model,
                extra if type(extra) is dict else {},
                None if judge is None else _judge(judge),
            )
        )
    return tuple(out)


def _outcome(a: _Outcome) -> AssertionOutcome:
    return AssertionOutcome(
        # Interned: the same few names and layers repeat in every record.
        sys.intern(a.name),
        sys.intern(a.type),
        a.passed,
        a.score,
        a.weight,
        a.blocking,
        sys.intern(a.layer),
        a.tag,
        a.message,
        a.advisory,
    )


def _judge(j: _Judge) -> JudgeUsage:
    return JudgeUsage(j.calls, j.cached, j.input_tokens, j.output_tokens, j.cost_usd, j.latency_ms)


def _case_info(cid: str, c: _Case) -> CaseInfo:
    return _CASE(
        cid,
        tuple(c.tags),
        c.group,
        c.vars,
        c.expected,
        c.fingerprint,
        tuple(c.behaviours),
        tuple(c.failure_modes),
        {
            name: SpecLinks(tuple(x.behaviours), tuple(x.failure_modes))
            for name, x in c.assertion_links.items()
        },
    )
