"""Reading included case files (JSONL, CSV, YAML) into raw case objects with line numbers.

The result is not validated yet: each raw case is checked against the schema's ``case``
definition by the loader, with the file and lines kept here, so that a mistake in an included
file is reported as ``cases/billing.jsonl:12: assert[0].mode: ...``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ci_gate.errors import Problem, SuiteError
from ci_gate.suite.schema_check import PROBLEM_LIMIT
from ci_gate.suite.yaml_source import KeyPath, parse_yaml, read_text
from ci_gate.wellformed import has_surrogates

SUFFIXES = (".jsonl", ".csv", ".yaml", ".yml")
MAX_TABLE_BYTES = 50 * 1024 * 1024  # JSONL and CSV files may hold many thousands of cases
CSV_KEYS = (
    "id",
    "tags",
    "expected",
    "group",
    "prompt",
    "assert",
    "behaviours",
    "failure_modes",
)
_TAG_SPLIT = re.compile(r"[;,]")


@dataclass(frozen=True)
class RawCase:
    """One case as read: ``path`` is where it sits in ``file``, ``lines`` maps key paths of that
    file to lines (the nearest ancestor's line is used for paths without one)."""

    data: Any
    file: str
    line: int | None
    path: KeyPath = ()
    lines: Mapping[KeyPath, int] = field(default_factory=dict)


def read_case_file(path: Path, display: str) -> tuple[list[RawCase], list[Problem]]:
    """The cases of one file and the problems found reading it (syntax, shape, encoding)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        return [], [
            Problem(
                display,
                None,
                "",
                f"unsupported case file type {suffix or path.name!r}",
                "use .jsonl, .csv, .yaml or .yml",
            )
        ]
    try:
        if suffix in (".yaml", ".yml"):
            cases, problems = _read_yaml(read_text(path, display), display)
        else:
            text = read_text(path, display, max_bytes=MAX_TABLE_BYTES)
            reader = _read_jsonl if suffix == ".jsonl" else _read_csv
            cases, problems = reader(text, display)
    except SuiteError as exc:
        return [], list(exc.problems)
    if not cases and not problems:
        problems.append(Problem(display, None, "", "the file has no cases", None))
    return cases, problems


def _read_jsonl(text: str, display: str) -> tuple[list[RawCase], list[Problem]]:
    cases: list[RawCase] = []
    problems: list[Problem] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        if len(problems) >= PROBLEM_LIMIT:  # a 50 MB file of bad lines: stop, memory stays small
            break
        try:
            data = json.loads(line, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as exc:
            problems.append(
                Problem(
                    display,
                    number,
                    "",
                    f"invalid JSON at column {exc.colno}: {exc.msg}",
                    "each line must be one complete JSON object",
                )
            )
            continue
        except _DuplicateKey as exc:
            problems.append(Problem(display, number, exc.key, f"duplicate key {exc.key!r}", None))
            continue
        except RecursionError:
            problems.append(Problem(display, number, "", "JSON nested too deeply", None))
            continue
        except ValueError:  # Python refuses to read an integer of over 4300 digits
            problems.append(
                Problem(display, number, "", "a number in this line is too large", "quote it")
            )
            continue
        if _SURROGATE_ESCAPE_RE.search(line) and (where := _lone_surrogate(data)) is not None:
            problems.append(_surrogate_problem(display, number, where))
            continue
        if not isinstance(data, dict):
            problems.append(
                Problem(
                    display,
                    number,
                    "",
                    f"each line must be a JSON object (a case), got {type(data).__name__}",
                    'e.g. {"id": "refund-01", "vars": {"question": "..."}}',
                )
            )
            continue
        cases.append(RawCase(data, display, number, (), {(): number}))
    return cases, problems


# Only a line that spells a surrogate escape can decode to a lone one: the rest are not walked.
_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")


def _lone_surrogate(value: Any, path: str = "") -> str | None:
    """The key path of the first string holding a lone surrogate, or None."""
    if isinstance(value, str):
        return path if has_surrogates(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _lone_surrogate(key, path) or _lone_surrogate(item, f"{path}.{key}".lstrip("."))
            if found is not None:
                return found
    if isinstance(value, list):
        for n, item in enumerate(value):
            found = _lone_surrogate(item, f"{path}[{n}]")
            if found is not None:
                return found
    return None


def _surrogate_problem(display: str, line: int, where: str) -> Problem:
    # YAML refuses such an escape outright; a case file must not be the way round it.
    return Problem(
        display,
        line,
        where,
        "invalid Unicode: a \\u escape of half a surrogate pair (such as \\ud800) alone",
        "write the character itself, or both halves of the pair (\\ud83d\\ude00)",
    )


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _read_csv(text: str, display: str) -> tuple[list[RawCase], list[Problem]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[Problem] = []
    try:
        header = next(reader, None)
        if header is None:
            return [], []
        columns = [name.strip() for name in header]
        problems += _check_header(columns, display)
        if problems:
            return [], problems
        cases: list[RawCase] = []
        for row in reader:
            if len(problems) >= PROBLEM_LIMIT:
                break
            if not any(cell.strip() for cell in row):
                continue
            # the row may span lines (quoted newlines): report the line where it starts
            line = reader.line_num - sum(cell.count("\n") for cell in row)
            if len(row) != len(columns):
                problems.append(
                    Problem(
                        display,
                        line,
                        "",
                        f"row has {len(row)} cells but the header has {len(columns)} columns",
                        "quote cells that contain commas",
                    )
                )
                continue
            data, row_problems = _csv_case(dict(zip(columns, row, strict=True)), display, line)
            problems += row_problems
            if not row_problems:
                cases.append(RawCase(data, display, line, (), {(): line}))
    except csv.Error as exc:
        problems.append(Problem(display, reader.line_num, "", f"invalid CSV: {exc}", None))
        return [], problems
    return cases, problems


def _check_header(columns: list[str], display: str) -> list[Problem]:
    problems: list[Problem] = []
    if "id" not in columns:
        found = ", ".join(repr(c) for c in columns[:12])
        problems.append(
            Problem(
                display,
                1,
                "",
                "the CSV header has no 'id' column",
                f"add an 'id' column; the header has {found}",
            )
        )
    seen: set[str] = set()
    for index, name in enumerate(columns, start=1):
        if not name:
            problems.append(Problem(display, 1, "", f"column {index} has no name in the header"))
        elif name in seen:
            problems.append(Problem(display, 1, "", f"column {name!r} appears twice in the header"))
        seen.add(name)
    return problems


def _csv_case(row: dict[str, str], display: str, line: int) -> tuple[dict[str, Any], list[Problem]]:
    data: dict[str, Any] = {"id": row["id"].strip()}
    problems: list[Problem] = []
    # Lists in a cell are separated by ; or , (a tag or spec name holds neither).
    for key in ("tags", "behaviours", "failure_modes"):
        items = [t.strip() for t in _TAG_SPLIT.split(row.get(key, "")) if t.strip()]
        if items:
            data[key] = list(dict.fromkeys(items))
    for key in ("expected", "group", "prompt"):
        if row.get(key, "") != "":
            data[key] = row[key]
    if row.get("assert", "").strip():
        try:
            data["assert"] = json.loads(row["assert"])
            if (where := _lone_surrogate(data["assert"], "assert")) is not None:
                problems.append(_surrogate_problem(display, line, where))
                del data["assert"]
        except (ValueError, RecursionError) as exc:  # ValueError: bad JSON, or a huge integer
            where = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            problems.append(
                Problem(
                    display,
                    line,
                    "assert",
                    f"the assert cell is not valid JSON{where}",
                    'write a JSON list, e.g. [{"type": "contains", "value": "30 days"}]',
                )
            )
    data["vars"] = {k: v for k, v in row.items() if k not in CSV_KEYS}
    return data, problems


def _read_yaml(text: str, display: str) -> tuple[list[RawCase], list[Problem]]:
    doc = parse_yaml(text, display)
    items: Any = doc.data
    prefix: KeyPath = ()
    if isinstance(items, dict) and set(items) == {"cases"}:
        items, prefix = items["cases"], ("cases",)
    if items is None:
        return [], []
    if not isinstance(items, list):
        return [], [
            Problem(
                display,
                doc.line(prefix),
                "",
                "a YAML case file must hold a list of cases (or a mapping with only 'cases:')",
                "start each case with '- id: ...'",
            )
        ]
    cases = [
        RawCase(item, display, doc.line((*prefix, i)), (*prefix, i), doc.lines)
        for i, item in enumerate(items)
    ]
    return cases, []
