"""``load_suite``: read a suite file, check it completely, and build the frozen ``Suite``.

Order: read the YAML -> check the ``ci_gate`` format version first (a newer format is not worth
validating) -> JSON Schema -> included case files -> build -> cross-checks. Every problem found
is collected and raised together as one ``SuiteError``, one line each.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ci_gate import __version__
from ci_gate.errors import Problem, SuiteError
from ci_gate.pricing.table import default_table, with_overrides
from ci_gate.suite import schema_check
from ci_gate.suite.build import (
    CaseDefaults,
    Where,
    build_budget,
    build_case,
    build_judge,
    build_pairwise,
    build_prices,
    build_prompt,
    build_retry,
    build_target,
)
from ci_gate.suite.case_files import read_case_file
from ci_gate.suite.checks import Draft, check_all
from ci_gate.suite.model import SUITE_FORMAT_VERSION, Case, GateConfig, Suite
from ci_gate.suite.spec import build_spec, check_spec, gate_with_tradeoffs
from ci_gate.suite.yaml_source import YamlDoc, display_path, load_yaml

MAX_PROBLEMS = 50


def load_suite(path: str | os.PathLike[str]) -> Suite:
    """The validated suite at ``path``; raises ``SuiteError`` listing every problem found."""
    file = Path(path)
    display = display_path(file)
    doc = load_yaml(file, display)
    _check_version(doc)
    problems = schema_check.check(doc.data, doc.lines, display)
    if problems:
        raise _error(problems)
    data: dict[str, Any] = doc.data
    top = Where(display, doc.lines)

    targets = tuple(
        (build_target(raw, top.at("targets", i)), top.at("targets", i))
        for i, raw in enumerate(data["targets"])
    )
    prompts = tuple(
        (build_prompt(raw), top.at("prompts", i)) for i, raw in enumerate(data.get("prompts", []))
    )
    raw_defaults: Mapping[str, Any] = data.get("defaults", {})
    default_prompt: str | None = raw_defaults.get("prompt")
    # With a single prompt there is nothing to choose: cases that name none use it.
    case_prompt = default_prompt or (prompts[0][0].id if len(prompts) == 1 else None)
    defaults = CaseDefaults(
        vars=raw_defaults.get("vars", {}),
        tags=tuple(raw_defaults.get("tags", [])),
        asserts=tuple(
            (raw, top.at("defaults", "assert", i))
            for i, raw in enumerate(raw_defaults.get("assert", []))
        ),
        prompt=case_prompt,
    )
    cases, problems = _cases(data["cases"], top, file.resolve().parent, defaults)
    gate: Mapping[str, Any] = data.get("gate", {})
    judge = build_judge(data.get("judge", {}))
    pairwise = build_pairwise(data.get("pairwise"))
    draft = Draft(
        top=top,
        targets=targets,
        prompts=prompts,
        cases=cases,
        default_asserts=defaults.asserts,
        default_target=data.get("default_target"),
        default_prompt=default_prompt,
        gate=gate,
        judge=judge,
        pairwise=pairwise,
    )
    problems += check_all(draft)
    spec = build_spec(data.get("spec"))
    problems += check_spec(spec, top, gate, cases, defaults.asserts)
    if not cases and not problems:
        problems.append(top.at("cases").problem("the suite has no cases"))
    if problems:
        raise _error(problems)
    overrides = build_prices(data.get("prices", {}))
    return Suite(
        path=display,
        name=data["name"],
        version=str(data.get("version", "1")),
        description=data.get("description"),
        targets=tuple(t for t, _ in targets),
        default_target=data.get("default_target") or targets[0][0].id,
        prompts=tuple(p for p, _ in prompts),
        cases=tuple(c for c, _ in cases),
        repeats=data.get("repeats", 1),
        concurrency=data.get("concurrency", 8),
        retry=build_retry(data.get("retry", {})),
        budget=build_budget(data.get("budget", {})),
        prices=with_overrides(default_table(), overrides, display),
        gate=GateConfig(gate_with_tradeoffs(gate, spec)),
        raw=data,
        judge=judge,
        pairwise=pairwise,
        spec=spec,
    )


def _check_version(doc: YamlDoc) -> None:
    """The format version, checked before anything else: a newer format is not worth
    validating against this version's schema."""
    data = doc.data
    if data is None:
        raise SuiteError(
            [
                doc.problem(
                    (), "the file is empty", "a suite starts with 'ci_gate: 1'; see docs/suite.md"
                )
            ]
        )
    if not isinstance(data, dict):
        raise SuiteError(
            [
                doc.problem(
                    (),
                    "the top level must be a mapping (ci_gate, name, targets, cases...), "
                    f"got {schema_check.type_name(data)}",
                    "see docs/suite.md for the suite format",
                )
            ]
        )
    if "ci_gate" not in data:
        raise SuiteError(
            [
                doc.problem(
                    ("ci_gate",),
                    "missing the format version key 'ci_gate'",
                    "add 'ci_gate: 1' at the top of the file",
                )
            ]
        )
    version = data["ci_gate"]
    where = ("ci_gate",)
    if not isinstance(version, int) or isinstance(version, bool):
        problem = doc.problem(
            where,
            f"invalid format version {schema_check.show(version)}",
            f"expected an integer, got {schema_check.type_name(version)}; write ci_gate: 1",
        )
    elif version > SUITE_FORMAT_VERSION:
        problem = doc.problem(
            where,
            f"this suite needs ci-gate format {version}; upgrade ci-gate",
            f"ci-gate {__version__} reads format {SUITE_FORMAT_VERSION}",
        )
    elif version < 1:
        problem = doc.problem(where, f"unknown format version {version}", "write ci_gate: 1")
    else:
        return
    raise SuiteError([problem])


def _cases(
    items: list[dict[str, Any]], top: Where, base: Path, defaults: CaseDefaults
) -> tuple[tuple[tuple[Case, Where], ...], list[Problem]]:
    """Inline and included cases in file order, each built with the suite's defaults."""
    out: list[tuple[Case, Where]] = []
    problems: list[Problem] = []
    for index, item in enumerate(items):
        where = top.at("cases", index)
        if "file" not in item:
            case, found = build_case(item, where, top.file, (), defaults)
            out.append((case, where))
            problems += found
            continue
        path = base / item["file"]
        if not path.is_file():
            # A folder or a device (a symlink to /dev/zero) is there, but is no case file.
            what = "a directory" if path.is_dir() else "not a regular file"
            problems.append(
                where.at("file").problem(
                    f"case file {item['file']!r} is {what}"
                    if path.exists()
                    else f"case file not found: {item['file']!r}",
                    f"paths are relative to the suite file; looked for {display_path(path)}",
                )
            )
            continue
        raws, found = read_case_file(path, display_path(path))
        problems += found
        for raw in raws:
            if len(problems) >= schema_check.PROBLEM_LIMIT:
                break
            raw_where = Where(raw.file, raw.lines, raw.path)
            invalid = schema_check.check(
                raw.data, raw.lines, raw.file, definition="case", prefix=raw.path
            )
            if invalid:
                problems += invalid
                continue
            case, found = build_case(
                raw.data, raw_where, raw.file, tuple(item.get("tags", [])), defaults, item
            )
            out.append((case, raw_where))
            problems += found
    return tuple(out), problems


def _error(problems: list[Problem]) -> SuiteError:
    if len(problems) <= MAX_PROBLEMS:
        return SuiteError(problems)
    rest = len(problems) - MAX_PROBLEMS
    first = problems[0]
    # The checks stop looking after PROBLEM_LIMIT problems in one document.
    count = f"at least {rest}" if len(problems) >= schema_check.PROBLEM_LIMIT else str(rest)
    more = Problem(first.file, None, "", f"{count} more problems not shown", "fix these first")
    return SuiteError([*problems[:MAX_PROBLEMS], more])
