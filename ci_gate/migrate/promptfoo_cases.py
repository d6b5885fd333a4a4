"""promptfoo tests as ci-gate cases.

Each test's vars are merged over ``defaultTest.vars``; a var whose value is a list of strings runs
once per value, as promptfoo runs it (``disableVarExpansion`` turns that off). promptfoo runs
every test with every prompt, so with several prompts each test becomes one case per prompt,
``ID/PROMPT``. A test's ``threshold`` of 0 ("report the scores, never fail") makes its
assertions non-blocking; a higher one has no equivalent and is listed.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ci_gate.migrate.promptfoo_asserts import Out, Scope, convert_assertion
from ci_gate.migrate.promptfoo_source import At, Ids, Log, is_glob, shown, slug, suffix
from ci_gate.migrate.promptfoo_tests import OPTION_WHY, TEST_WHY, RawTest

MAX_COMBINATIONS = 1000
BINARY = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf", ".mp3", ".wav", ".mp4"})


@dataclass(frozen=True)
class CaseOut:
    id: str
    origin: str  # where the test was written, for a comment above the case
    description: str | None
    vars: dict[str, Any]
    tags: tuple[str, ...]
    prompt: str | None
    asserts: tuple[tuple[bool, Out], ...]  # (from defaultTest, assertion), in order


@dataclass(frozen=True)
class Defaults:
    vars: dict[str, Any]
    tags: tuple[str, ...]


def build_cases(
    tests: list[RawTest], default: RawTest | None, prompt_ids: list[str], scope: Scope
) -> tuple[list[CaseOut], Defaults]:
    log = scope.log
    d_data: Mapping[str, Any] = default.data if default is not None else {}
    d_at = default.at if default is not None else scope.source.config.at("defaultTest")
    d_vars = _vars(d_data.get("vars"), d_at.at("vars"), scope)
    _check_keys(d_data, d_at, log, default=True)
    d_tags = _tags(d_data.get("metadata"), d_at, log)
    d_asserts = default.asserts if default is not None else ()
    d_options = _options(d_data)
    # A default list var is expanded in each test, so it is each case's own var.
    spread = {k for k, v in d_vars.items() if _expands(v)}
    ids = Ids()
    cases: list[CaseOut] = []
    for number, test in enumerate(tests, 1):
        data = test.data
        _check_keys(data, test.at, log, default=False)
        t_vars = _vars(data.get("vars"), test.at.at("vars"), scope)
        options = _options(data)
        expand = not (options.get("disableVarExpansion") or d_options.get("disableVarExpansion"))
        combos, listed = _combinations({**d_vars, **t_vars}, test.at, log, expand)
        description = data.get("description") if isinstance(data.get("description"), str) else None
        base = (slug(description) if description else "") or f"case-{number:03d}"
        threshold = data.get("threshold", d_data.get("threshold"))
        tags = _tags(data.get("metadata"), test.at, log)
        origin = test.at.where().rstrip(": ")
        for index, combo in enumerate(combos, 1):
            case_scope = replace(scope, vars=combo)
            asserts = [
                (True, a) for raw, at in d_asserts for a in convert_assertion(raw, at, case_scope)
            ] + [
                (False, a)
                for raw, at in test.asserts
                for a in convert_assertion(raw, at, case_scope)
            ]
            asserts = _threshold(asserts, threshold, test, log)
            own = {k: v for k, v in combo.items() if k in t_vars or k in listed or k in spread}
            stem = base if len(combos) == 1 else f"{base}-{index}"
            for prompt_id in prompt_ids if len(prompt_ids) > 1 else [None]:
                case_id = ids.take(stem if prompt_id is None else f"{stem}/{prompt_id}")
                cases.append(
                    CaseOut(case_id, origin, description, own, tags, prompt_id, tuple(asserts))
                )
    defaults = Defaults({k: v for k, v in d_vars.items() if k not in spread}, d_tags)
    return cases, defaults


def _options(data: Mapping[str, Any]) -> Mapping[str, Any]:
    options = data.get("options")
    return options if isinstance(options, Mapping) else {}


def _check_keys(data: Mapping[str, Any], at: At, log: Log, *, default: bool) -> None:
    for key, value in data.items():
        if key in ("description", "vars", "assert", "threshold", "metadata"):
            continue
        if key == "options" and isinstance(value, Mapping):
            for option in value:
                if option == "disableVarExpansion" or (option == "provider" and default):
                    continue
                log.skip(
                    at.at("options", option).where(),
                    f"test option {option!r}",
                    OPTION_WHY.get(option, "ci-gate cases have no such option"),
                )
            continue
        what = f"default test key {key!r}" if default else f"test key {key!r}"
        log.skip(at.at(key).where(), what, TEST_WHY.get(key, "ci-gate cases have no such key"))


def _vars(raw: Any, at: At, scope: Scope) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        scope.log.skip(at.where(), "vars", "vars must be a mapping of names to values")
        return {}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and value.startswith("file://"):
            loaded = _file_var(value, at.at(str(key)), scope)
            if loaded is None:
                continue
            value = loaded
        out[str(key)] = value
    return out


def _file_var(ref: str, at: At, scope: Scope) -> str | None:
    """A var read from a file, as promptfoo reads it: text as it is, YAML as JSON."""
    kind = suffix(ref)
    why = None
    if is_glob(ref):
        why = "ci-gate vars are values, not file patterns; write one case per file"
    elif kind in (".py", ".js", ".ts", ".mjs", ".cjs"):
        why = "ci-gate vars are values, not code; write the computed value into the case"
    elif kind in BINARY:
        why = "ci-gate prompts are text; images, audio and PDFs cannot be sent"
    if why is not None:
        scope.log.skip(at.where(), f"var from {shown(ref)}", why)
        return None
    if kind in (".yaml", ".yml"):
        data = scope.source.load(ref, at).data
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text, label = scope.source.read(ref, at)
    scope.log.note(f"the var was read from {label} into the suite", at.where())
    return text


def _expands(value: Any) -> bool:
    """Whether promptfoo runs a test once per item of this var: a list of strings."""
    return isinstance(value, list) and bool(value) and isinstance(value[0], str)


def _combinations(
    merged: dict[str, Any], at: At, log: Log, expand: bool
) -> tuple[list[dict[str, Any]], set[str]]:
    """Each combination of the list-valued vars (promptfoo expands lists of strings), and the
    names of those vars."""
    listed = {k for k, v in merged.items() if expand and _expands(v)}
    if not listed:
        return [merged], set()
    count = 1
    for key in listed:
        count *= len(merged[key])
    if count > MAX_COMBINATIONS:
        log.skip(
            at.at("vars").where(),
            f"{count} combinations of list vars",
            f"more than {MAX_COMBINATIONS} cases from one test; write the cases out",
        )
        return [merged], set()
    keys = [k for k in merged if k in listed]
    combos = [
        {**merged, **dict(zip(keys, values, strict=False))}
        for values in itertools.product(*(merged[k] for k in keys))
    ]
    log.note(
        f"list vars ({', '.join(keys)}) became {len(combos)} cases, one per "
        "combination, as promptfoo runs them",
        at.where(),
    )
    return combos, listed


def _tags(metadata: Any, at: At, log: Log) -> tuple[str, ...]:
    if not isinstance(metadata, Mapping) or not metadata:
        return ()
    tags: list[str] = []
    for key, value in metadata.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, (str, int, float, bool)) and str(item).strip():
                tags.append(f"{key}:{item}")
    log.note("promptfoo metadata became tags (key:value), which slice the reports")
    return tuple(dict.fromkeys(tags))


def _threshold(
    asserts: list[tuple[bool, Out]], threshold: Any, test: RawTest, log: Log
) -> list[tuple[bool, Out]]:
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not asserts:
        return asserts
    csv_row = isinstance(test.at.doc.data, Mapping) and "__threshold" in test.at.doc.data
    at = test.at.at("__threshold" if csv_row else "threshold")
    if threshold <= 0:
        log.note(
            f"threshold {threshold:g} (report the scores, never fail the "
            "test) made the case's assertions non-blocking",
            at.where(),
        )
        return [(d, {**a, "blocking": False}) for d, a in asserts]
    log.skip(
        at.where(),
        f"test threshold {threshold:g}",
        "ci-gate passes a case when each blocking assertion passes, not when a weighted "
        "score reaches a threshold; the assertions stay blocking (stricter): make some "
        "blocking: false, or gate on quality.score",
    )
    return asserts
