"""The full report as JSON, for tools and archives: everything the markdown shows, and more.

Stable output (sorted keys, two-space indent, no timestamps of its own), described by
``report_schema.json`` next to this module. Values the comparison could not compute are
``null``; so are non-finite numbers, which JSON cannot hold. Strings are kept as they are (this
is data, not markup) except that lone surrogates, which no UTF-8 file can hold, become U+FFFD.
Per-case fingerprint hashes are left out: with 100,000 cases they would be most of the file,
and ``comparability.changed`` already names the cases whose hash differs.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from ci_gate.compare.model import Comparison
from ci_gate.gate.model import GateResult
from ci_gate.wellformed import wellformed

REPORT_FORMAT = "ci-gate-report"
REPORT_SCHEMA_VERSION = 1
_COUNTED = ("regressed", "fixed", "still_failing", "flaky", "errored")


def jsonable(value: object) -> Any:
    """``value`` as plain JSON data: dataclasses and mappings as objects, tuples as arrays."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return wellformed(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {wellformed(str(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [jsonable(v) for v in items]
    return wellformed(str(value))


def _run(run: object) -> Any:
    data = jsonable(run)
    data["fingerprint"].pop("cases", None)
    if data.get("shard") is None:
        data.pop("shard", None)  # only a shard's run says so; whole runs read as before
    if not data.get("judges"):
        data.pop("judges", None)  # likewise only runs with judged assertions list them
    if not data.get("spec"):
        data.pop("spec", None)  # and only suites with a spec have one
    return data


def report_data(comparison: Comparison, gate: GateResult) -> dict[str, Any]:
    """The report as a JSON-ready dict (what :func:`render_json` writes)."""
    c = comparison
    data: dict[str, Any] = jsonable(c)
    data["base"] = _run(c.base)
    data["head"] = _run(c.head)
    if data.get("consistency") is None:
        data.pop("consistency", None)  # only suites with groups have it; others read as before
    if data.get("preference") is None:
        data.pop("preference", None)  # only comparisons asked for a pairwise judgement have it
    if not data.get("spec_impact"):
        data.pop("spec_impact", None)
    comp = c.comparability
    summary = {status: sum(1 for case in c.cases if case.status == status) for status in _COUNTED}
    summary.update(added=len(comp.added), removed=len(comp.removed), changed=len(comp.changed))
    summary["compared"] = comp.compared
    return {
        "format": REPORT_FORMAT,
        "schema_version": REPORT_SCHEMA_VERSION,
        "verdict": gate.verdict,
        "summary": summary,
        "gate": jsonable(gate),
        "comparison": data,
    }


def render_json(comparison: Comparison, gate: GateResult) -> str:
    """The full report as JSON text (UTF-8 safe), ending in a newline."""
    data = report_data(comparison, gate)
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


@cache
def report_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that every :func:`render_json` output satisfies."""
    text = resources.files("ci_gate.report").joinpath("report_schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
