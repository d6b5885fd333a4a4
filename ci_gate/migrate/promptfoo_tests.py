"""promptfoo ``tests`` and ``defaultTest``, read from the config and the files it names.

Tests come inline, or from ``file://`` CSV, YAML, JSON and JSONL files (and simple globs of them).
A CSV row is a test as promptfoo reads it: every column is a var except the reserved ones
(``__expected``, ``__description``, ``__metric``, ``__threshold``, ``__metadata:KEY``,
``__config:__expectedN:threshold``, ``__prefix``, ``__suffix``, ``__providerOutput``); an
``__expected`` cell holds an assertion in promptfoo's short syntax (``icontains:bonjour``,
``similar(0.8):text``, ``grade:rubric``, else an exact value).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ci_gate.migrate.promptfoo_source import (
    At,
    Doc,
    Log,
    PromptfooError,
    Source,
    is_glob,
    parse_json,
    shown,
    suffix,
)

# The assertion types promptfoo's short syntax knows (BaseAssertionTypes).
# fmt: off
BASE_TYPES = (
    "answer-relevance", "bleu", "classifier", "contains", "contains-all", "contains-any",
    "contains-html", "contains-json", "contains-sql", "contains-xml", "context-faithfulness",
    "context-recall", "context-relevance", "conversation-relevance", "cost", "equals",
    "factuality", "finish-reason", "g-eval", "gleu", "guardrails", "icontains", "icontains-all",
    "icontains-any", "is-html", "is-json", "is-refusal", "is-sql", "is-valid-function-call",
    "is-valid-openai-function-call", "is-valid-openai-tools-call", "is-xml", "javascript",
    "latency", "levenshtein", "llm-rubric", "meteor", "model-graded-closedqa",
    "model-graded-factuality", "moderation", "perplexity", "perplexity-score", "pi", "python",
    "regex", "rouge-n", "similar", "starts-with", "tool-call-f1", "webhook", "word-count",
)
# fmt: on
_SHORT = re.compile(
    r"^(not-)?("
    + "|".join(map(re.escape, BASE_TYPES))
    + r")(?:\((\d+(?:\.\d+)?)\))?(?::([\s\S]*))?$"
)
_LIST_TYPES = frozenset({"contains-all", "contains-any", "icontains-all", "icontains-any"})
# fmt: off
_THRESHOLD_TYPES = frozenset({
    "answer-relevance", "classifier", "context-faithfulness", "context-recall",
    "context-relevance", "cost", "latency", "levenshtein", "perplexity-score", "perplexity",
    "rouge-n", "similar", "starts-with",
})
# fmt: on
_JS_FILE = re.compile(r"\.(js|cjs|mjs|ts)(:[A-Za-z_]\w*)?$")
_PY_FILE = re.compile(r"\.py(:[A-Za-z_]\w*)?$")
_CODE = (".py", ".js", ".ts", ".mjs", ".cjs")

# Why test keys and options have no place in a ci-gate case.
TEST_WHY = {
    "provider": "ci-gate runs every case on the run's target (--target); split such tests into "
    "a suite of their own",
    "providerOutput": "ci-gate scores what a target returns; a fake target with outputs by case "
    "id replays fixed outputs",
    "prompts": "ci-gate runs each case with its own prompt; give the case a prompt",
}
OPTION_WHY = {
    "prefix": "ci-gate sends each case's prompt as written; put the text into the prompt",
    "suffix": "ci-gate sends each case's prompt as written; put the text into the prompt",
    "provider": "ci-gate has one default judge and a judge per assertion (judge:), not per case",
    "transform": "ci-gate checks the output as the target returns it",
    "postprocess": "ci-gate checks the output as the target returns it",
}


@dataclass(frozen=True)
class RawTest:
    """One promptfoo test as written, with the places of it and of its assertions."""

    at: At
    data: Mapping[str, Any]
    asserts: tuple[tuple[Any, At], ...] = field(default=())


def read_default(source: Source, log: Log) -> RawTest | None:
    """``defaultTest``: applied under every test (vars, assertions, options, metadata)."""
    at = source.config.at("defaultTest")
    raw = source.config.data.get("defaultTest")
    if raw is None:
        return None
    if isinstance(raw, str) and raw.startswith("file://"):
        doc = source.load(raw, at)
        raw, at = doc.data, doc.at()
    if not isinstance(raw, Mapping):
        log.skip(at.where(), "defaultTest", "defaultTest must be a test object")
        return None
    return _test(raw, at, source, log)


def read_tests(source: Source, log: Log) -> list[RawTest]:
    """Every test of the config, in order."""
    at = source.config.at("tests")
    raw = source.config.data.get("tests")
    if raw is None:
        return []
    items: list[tuple[Any, At]] | None = [(raw, at)] if isinstance(raw, (str, Mapping)) else None
    if isinstance(raw, list):
        items = [(item, at.at(i)) for i, item in enumerate(raw)]
    if items is None:
        log.skip(at.where(), "tests", "tests must be a list of tests or files")
        return []
    out: list[RawTest] = []
    for item, item_at in items:
        if isinstance(item, str):
            out += _from_ref(item, item_at, source, log)
        elif isinstance(item, Mapping) and "path" in item and "vars" not in item:
            log.skip(
                item_at.where(),
                f"test generator {shown(item.get('path'))}",
                "ci-gate reads cases from files, not from code; write the generated "
                "tests to a CSV or YAML file and convert again",
            )
        elif isinstance(item, Mapping):
            out.append(_test(item, item_at, source, log))
        else:
            log.skip(item_at.where(), f"test {shown(item)}", "a test is an object or a file")
    return out


def _from_ref(ref: str, at: At, source: Source, log: Log) -> list[RawTest]:
    if not ref.startswith("file://") and "://" in ref:
        log.skip(
            at.where(),
            f"tests from {shown(ref)}",
            "ci-gate reads cases from local files; download them to a CSV or JSONL file",
        )
        return []
    kind = suffix(ref)
    if kind in _CODE:
        log.skip(
            at.where(),
            f"test generator {shown(ref)}",
            "ci-gate reads cases from files, not from code; write the generated tests to "
            "a CSV or YAML file and convert again",
        )
        return []
    if is_glob(ref):
        paths = source.glob(ref) if "{" not in ref else []
        if not paths:
            log.skip(
                at.where(),
                f"tests glob {shown(ref)}",
                "it matches no file (brace patterns are not expanded); list the files one by one",
            )
        out: list[RawTest] = []
        for path in paths:
            out += _from_ref("file://" + str(path), at, source, log)
        return out
    if kind in (".csv", ".tsv"):
        return _csv(ref, at, source, log, delimiter="\t" if kind == ".tsv" else ",")
    if kind == ".jsonl":
        text, label = source.read(ref, at)
        tests: list[RawTest] = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                doc = Doc(label, parse_json(line, label, number), {(): number})
                tests += _tests_in(doc, source, log)
        return tests
    if kind in (".yaml", ".yml", ".json"):
        return _tests_in(source.load(ref, at), source, log)
    log.skip(
        at.where(),
        f"tests file {shown(ref)}",
        "ci-gate reads tests from CSV, YAML, JSON and JSONL files",
    )
    return []


def _tests_in(doc: Doc, source: Source, log: Log) -> list[RawTest]:
    data = doc.data
    if isinstance(data, Mapping):
        return [_test(data, doc.at(), source, log)]
    if not isinstance(data, list):
        raise PromptfooError(f"{doc.label}: expected a list of tests, got {type(data).__name__}")
    out = []
    for index, item in enumerate(data):
        if isinstance(item, Mapping):
            out.append(_test(item, doc.at(index), source, log))
        else:
            log.skip(doc.at(index).where(), f"test {shown(item)}", "a test is an object")
    return out


def _test(data: Mapping[str, Any], at: At, source: Source, log: Log) -> RawTest:
    asserts = data.get("assert") or []
    if not isinstance(asserts, list):
        log.skip(at.at("assert").where(), "assert", "assert must be a list of assertions")
        asserts = []
    vars_ = data.get("vars")
    if isinstance(vars_, str) and vars_.startswith("file://"):
        doc = source.load(vars_, at.at("vars"))
        data = {**data, "vars": doc.data if isinstance(doc.data, Mapping) else {}}
    return RawTest(at, data, tuple((a, at.at("assert", i)) for i, a in enumerate(asserts)))


def _csv(ref: str, at: At, source: Source, log: Log, *, delimiter: str) -> list[RawTest]:
    text, label = source.read(ref, at)
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter, strict=True)
    out: list[RawTest] = []
    header: list[str] | None = None
    start = 1
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip() for cell in row]
                dupes = sorted({c for c in header if header.count(c) > 1})
                if dupes:
                    raise PromptfooError(f"{label}:{line}: duplicate column {dupes[0]!r}")
                continue
            if len(row) > len(header):
                raise PromptfooError(
                    f"{label}:{line}: {len(row)} cells but the header has {len(header)} "
                    "(quote cells that contain the delimiter)"
                )
            cells = dict(zip(header, [*row, *[""] * (len(header) - len(row))], strict=False))
            out.append(_csv_test(cells, Doc(label, cells, {(): line}), log))
    except csv.Error as exc:
        raise PromptfooError(f"{label}:{reader.line_num}: unreadable CSV: {exc}") from None
    return out


def _csv_test(row: Mapping[str, str], doc: Doc, log: Log) -> RawTest:
    data: dict[str, Any] = {"vars": {}}
    asserts: list[tuple[dict[str, Any], At]] = []
    metadata: dict[str, Any] = {}
    configs: dict[int, dict[str, Any]] = {}
    metric: str | None = None
    for key, value in row.items():
        at = doc.at(key)
        if key.startswith("__expected"):
            if value.strip():
                asserts.append((assertion_from_string(value.strip()), at))
        elif key in ("__prefix", "__suffix"):
            if value:
                log.skip(at.where(), f"test option {key[2:]!r}", OPTION_WHY[key[2:]])
        elif key == "__description":
            data["description"] = value
        elif key == "__providerOutput":
            if value:
                log.skip(at.where(), "test key 'providerOutput'", TEST_WHY["providerOutput"])
        elif key == "__metric":
            metric = value or None
        elif key == "__threshold":
            number = _number(value)
            if number is not None:
                data["threshold"] = number
        elif key.startswith("__metadata:"):
            name = key[len("__metadata:") :]
            if value.strip() and name.endswith("[]"):
                items = re.split(r"(?<!\\),", value)
                metadata[name[:-2]] = [i.strip().replace("\\,", ",") for i in items]
            elif value.strip():
                metadata[name] = value
        elif key.startswith("__config:"):
            if not value.strip():
                continue
            parts = key[len("__config:") :].split(":")
            found = re.fullmatch(r"__expected(\d*)", parts[0]) if len(parts) == 2 else None
            number = _number(value)
            if found is None or parts[1] != "threshold" or number is None:
                log.skip(
                    at.where(),
                    f"column {key!r}",
                    "promptfoo reads only __config:__expectedN:threshold with a number",
                )
                continue
            configs[int(found.group(1) or 1) - 1] = {"threshold": number}
        else:
            data["vars"][key] = value
    for index, (assertion, _) in enumerate(asserts):
        if metric:
            assertion["metric"] = metric
        assertion.update(configs.get(index, {}))
    if metadata:
        data["metadata"] = metadata
    return RawTest(doc.at(), data, tuple(asserts))


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def assertion_from_string(expected: str) -> dict[str, Any]:
    """An ``__expected`` cell as the assertion promptfoo reads from it."""
    for prefix in ("javascript:", "fn:", "eval:"):
        if expected.startswith(prefix):
            return {"type": "javascript", "value": expected[len(prefix) :].strip()}
    if expected.startswith("file://") and _JS_FILE.search(expected):
        return {"type": "javascript", "value": expected[len("file://") :].strip()}
    for prefix in ("grade:", "llm-rubric:"):
        if expected.startswith(prefix):
            return {"type": "llm-rubric", "value": expected[len(prefix) :]}
    if expected.startswith("python:"):
        return {"type": "python", "value": expected[len("python:") :].strip()}
    if expected.startswith("file://") and _PY_FILE.search(expected):
        return {"type": "python", "value": expected}
    match = _SHORT.match(expected)
    if match is None:
        return {"type": "equals", "value": expected}
    negate, kind, threshold, value = match.groups()
    full = f"not-{kind}" if negate else kind
    if kind in _LIST_TYPES:
        return {"type": full, "value": [v.strip() for v in value.split(",")] if value else value}
    if kind in ("contains-json", "is-json"):
        return {"type": full, "value": value} if value else {"type": full}
    out: dict[str, Any] = {"type": full}
    if value is not None:
        out["value"] = value.strip()
    if kind in _THRESHOLD_TYPES:
        out["threshold"] = float(threshold) if threshold else (0.8 if kind == "similar" else 0.75)
    return out
