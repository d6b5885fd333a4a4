"""``convert_promptfoo``: a promptfoo config as a ci-gate suite, and a list of what did not fit.

Nothing is written here: the caller writes ``Conversion.files`` (``suite.yaml``, and
``cases.jsonl`` for a large suite) into one folder, ``suite_dir`` (default: the config's own),
which the paths the suite keeps (python scorers' folders) are relative to. Prompts, tests and
vars read from files are written into the suite. The suite starts with comments that list what
was not converted and what was converted approximately. See docs/migrating-from-promptfoo.md for
what maps to what.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ci_gate.migrate.promptfoo_asserts import Out, Scope
from ci_gate.migrate.promptfoo_cases import CaseOut, Defaults, build_cases
from ci_gate.migrate.promptfoo_checks import tools_of
from ci_gate.migrate.promptfoo_emit import Commented, jsonl, yaml_document
from ci_gate.migrate.promptfoo_graders import Graders
from ci_gate.migrate.promptfoo_open import open_config
from ci_gate.migrate.promptfoo_prompts import PromptOut, convert_prompts
from ci_gate.migrate.promptfoo_providers import convert_provider, provider_items
from ci_gate.migrate.promptfoo_source import Ids, Log, PromptfooError, Source, Unconverted, slug
from ci_gate.migrate.promptfoo_tests import RawTest, read_default, read_tests
from ci_gate.suite.template import MissingValue, lookup, placeholders

SUITE_FILE = "suite.yaml"
CASES_FILE = "cases.jsonl"
# Above this many cases they go to a JSONL case file, which stays readable in a diff.
INLINE_CASES = 100


@dataclass(frozen=True)
class Conversion:
    files: Mapping[str, str]  # relative path -> text; always holds "suite.yaml"
    unconverted: tuple[Unconverted, ...]
    notes: tuple[str, ...]  # things converted approximately, said plainly
    targets: tuple[Mapping[str, Any], ...]  # the suite's raw targets, judges included


def convert_promptfoo(config_path: Path, *, suite_dir: Path | None = None) -> Conversion:
    """The ci-gate suite for the promptfoo config at ``config_path``, to be written into
    ``suite_dir`` (default: the config's folder); raises ``PromptfooError`` (exit 2, one line)
    when the file cannot be read or is no promptfoo config."""
    source = open_config(Path(config_path), suite_dir)
    log = Log()
    settings = _top_level(source, log)
    target_ids = Ids()
    targets, prices, tools = _targets(source, log, target_ids)
    prompts = convert_prompts(source, log, Ids())
    default = read_default(source, log)
    tests = read_tests(source, log)
    if not tests:
        log.note(
            "the config has no tests: the suite has one case without vars, as promptfoo "
            "runs each prompt once"
        )
        tests = [RawTest(source.config.at("tests"), {})]
    options = default.data.get("options") if default is not None else None
    grader = options.get("provider") if isinstance(options, Mapping) else None
    graders = Graders(
        log,
        target_ids,
        (grader, default.at.at("options", "provider")) if grader is not None and default else None,
    )
    scope = Scope(source, log, graders, tools)
    prompt_ids = [p.id for p in prompts] or ["placeholder"]
    cases, defaults = build_cases(tests, default, prompt_ids, scope)
    if not prompts:
        prompts = [_placeholder_prompt(source, log, cases)]
    cases = _complete_vars(cases, defaults, prompts, log)
    if not cases:
        last = log.unconverted[-1]
        raise PromptfooError(
            f"{source.config.label}: no test could be converted; the last: {last.where}: "
            f"{last.what}: {last.why}"
        )
    cases = [_unique_names(case, log) for case in cases]
    common = _common_count(cases)
    if len(targets) > 1:
        log.note(
            f"promptfoo runs every provider; ci-gate runs one target per run: "
            f"{targets[0]['id']!r} is the default, run another with --target ID and "
            "compare two runs with ci-gate compare"
        )
    if len(prompts) > 1:
        log.note(
            "promptfoo runs every test with every prompt: each test became one case per "
            "prompt (ID/PROMPT), tagged prompt:PROMPT"
        )
    if graders.targets:
        log.note(
            "judged assertions (llm-rubric) only advise until ci-gate calibrate has "
            "measured the judge on labelled outputs; see docs/suite.md"
        )
    suite = _suite(
        source,
        settings,
        targets + graders.targets,
        {**prices, **graders.prices},
        prompts,
        defaults,
        cases,
        common,
        graders.default_judge,
    )
    files = {SUITE_FILE: ""}
    if len(cases) > INLINE_CASES:
        files[CASES_FILE] = jsonl([_case(c, common=common) for c in cases])
        suite["cases"] = [{"file": CASES_FILE}]
    else:
        suite["cases"] = [Commented(_comments(c), _case(c, common=common)) for c in cases]
    files[SUITE_FILE] = yaml_document(_header(source, log), suite)
    return Conversion(MappingProxyType(files), log.unconverted, log.notes, tuple(suite["targets"]))


_TOP_WHY = {
    "scenarios": "ci-gate has no scenarios; write each scenario's tests out as cases",
    "outputPath": "ci-gate run writes its results file where -o says",
    "writeLatestResults": "ci-gate run writes its results file where -o says",
    "sharing": "ci-gate reports on the pull request (a comment and a check), not to a sharing "
    "service",
    "env": "ci-gate reads the environment when a run starts; export these variables there "
    "(keys as CI secrets)",
    "commandLineOptions": "give ci-gate run its options on the command line",
    "nunjucksFilters": "ci-gate templates have no filters; compute the values into vars",
    "derivedMetrics": "ci-gate gates on the pass rate, the score, assertions by name and tags "
    "(gate.quality); compute other numbers from the results file",
    "extensions": "ci-gate runs no hooks; run those steps before or after it in the workflow",
    "redteam": "ci-gate runs a fixed suite and generates no attacks; export generated tests to a "
    "file and convert them as tests",
    "metadata": "a ci-gate suite has a name, a version and a description only",
    "tags": "a ci-gate suite has a name, a version and a description only",
    "tracing": "ci-gate records no traces",
}
_HANDLED = frozenset(
    {"description", "prompts", "providers", "targets", "tests", "defaultTest", "evaluateOptions"}
)


def _top_level(source: Source, log: Log) -> dict[str, Any]:
    """Top-level keys with no place in a suite, logged; ``evaluateOptions`` that have one."""
    config = source.config
    for key in config.data:
        if key not in _HANDLED:
            log.skip(
                config.at(key).where(),
                f"key {key!r}",
                _TOP_WHY.get(key, "not a promptfoo config key ci-gate knows"),
            )
    settings: dict[str, Any] = {}
    options = config.data.get("evaluateOptions")
    for key, value in options.items() if isinstance(options, Mapping) else ():
        number = isinstance(value, int) and not isinstance(value, bool) and value >= 1
        if key == "maxConcurrency" and number:
            settings["concurrency"] = value
        elif key == "repeat" and number:
            settings["repeats"] = value
        else:
            log.skip(
                config.at("evaluateOptions", key).where(),
                f"run option {key!r}",
                "ci-gate run has no such option (see ci-gate run --help)",
            )
    return settings


def _targets(
    source: Source, log: Log, ids: Ids
) -> tuple[list[dict[str, Any]], dict[str, dict[str, float]], tuple[tuple[str, Any], ...]]:
    config = source.config
    key = "providers" if "providers" in config.data else "targets"
    raw = config.data.get(key)
    targets: list[dict[str, Any]] = []
    prices: dict[str, dict[str, float]] = {}
    if raw is not None:
        for item, at in provider_items(raw, config.at(key), source):
            converted = convert_provider(item, at, log)
            if converted is not None:
                targets.append({"id": ids.take(converted.wanted), **converted.entry})
                prices.update(converted.prices)
    else:
        log.skip(
            config.at().where(),
            "providers",
            "the config names no providers (promptfoo "
            "took them from --providers); the suite has a placeholder target: replace it",
        )
    if not targets:
        if raw is not None:
            log.note(
                "no provider could be converted: the fake target 'placeholder', which "
                "echoes the prompt, stands in; replace it"
            )
        targets.append(
            {"id": ids.take("placeholder"), "provider": "fake", "default_output": "echo"}
        )
    return targets, prices, tools_of(targets[0].get("params") or {})


def _placeholder_prompt(source: Source, log: Log, cases: list[CaseOut]) -> PromptOut:
    names = list(dict.fromkeys(k for c in cases for k in c.vars))
    text = "\n".join(f"{n}: {{{{ {n} }}}}" for n in names) or "Replace this prompt."
    log.skip(
        source.config.at().where(),
        "prompts",
        "the config has no prompts (promptfoo took "
        "them from --prompts); the suite has a placeholder prompt that sends the vars: "
        "replace it with your prompt",
    )
    return PromptOut("placeholder", {"id": "placeholder", "template": text}, (text,))


def _complete_vars(
    cases: list[CaseOut], defaults: Defaults, prompts: list[PromptOut], log: Log
) -> list[CaseOut]:
    """The cases whose vars fill their prompt. A var a prompt uses but a case lacks renders
    empty in promptfoo: it is added to ``defaults.vars`` as ""."""
    by_id = {p.id: p for p in prompts}
    out: list[CaseOut] = []
    for case in cases:
        prompt = by_id[case.prompt] if case.prompt in by_id else prompts[0]
        names = sorted({n for text in prompt.texts for n in placeholders(text)})
        values = {**defaults.vars, **case.vars}
        missing = [n for n in names if n.split(".")[0] not in values]
        for name in missing:
            root = name.split(".")[0]
            defaults.vars[root] = ""
            values[root] = ""
            log.note(
                f"the prompt uses {{{{ {root} }}}} but not every test sets it: defaults.vars "
                'sets it to "", which is how promptfoo renders a missing var'
            )
        unfit = [n for n in names if not _has(values, n)]
        if unfit:
            log.skip(
                case.origin,
                f"case {case.id!r}",
                f"prompt {prompt.id!r} reads {{{{ {unfit[0]} }}}}, which its vars do not "
                "hold (promptfoo renders it empty); add the value and convert again",
            )
            continue
        out.append(case)
    return out


def _has(values: Mapping[str, Any], name: str) -> bool:
    try:
        lookup(values, name)
    except MissingValue:
        return False
    return True


def _unique_names(case: CaseOut, log: Log) -> CaseOut:
    """Assertion names (from promptfoo metrics) made unique within the case, as ci-gate needs."""
    names = Ids()
    asserts: list[tuple[bool, Out]] = []
    for origin, assertion in case.asserts:
        wanted = assertion.get("name")
        if isinstance(wanted, str):
            name = names.take(wanted)
            if name != wanted:
                log.note(
                    f"metric {wanted!r} names several assertions of a test; ci-gate names "
                    f"the later ones {wanted}-2, {wanted}-3..."
                )
                assertion = {**assertion, "name": name}
        asserts.append((origin, assertion))
    return CaseOut(
        case.id, case.origin, case.description, case.vars, case.tags, case.prompt, tuple(asserts)
    )


def _common_count(cases: list[CaseOut]) -> int:
    """How many leading defaultTest assertions every case shares: those go to defaults.assert."""
    first = cases[0].asserts
    count = 0
    while count < len(first) and first[count][0]:
        if any(len(c.asserts) <= count or c.asserts[count] != first[count] for c in cases):
            break
        count += 1
    return count


def _case(case: CaseOut, *, common: int) -> dict[str, Any]:
    out: dict[str, Any] = {"id": case.id}
    if case.vars:
        out["vars"] = case.vars
    tags = [*case.tags, *([f"prompt:{case.prompt}"] if case.prompt else [])]
    if tags:
        out["tags"] = tags
    if case.prompt:
        out["prompt"] = case.prompt
    own = [a for _, a in case.asserts[common:]]
    if own:
        out["assert"] = own
    return out


def _suite(
    source: Source,
    settings: dict[str, Any],
    targets: list[dict[str, Any]],
    prices: dict[str, dict[str, float]],
    prompts: list[PromptOut],
    defaults: Defaults,
    cases: list[CaseOut],
    common: int,
    judge: str | None,
) -> dict[str, Any]:
    """The suite but its ``cases``, which go inline or to a case file."""
    description = source.config.data.get("description")
    name = slug(source.folder.name) or slug(str(description or "")) or "promptfoo-suite"
    suite: dict[str, Any] = {"ci_gate": 1, "name": name}
    if isinstance(description, str) and description.strip():
        suite["description"] = description
    suite["targets"] = targets
    suite["prompts"] = [p.entry for p in prompts]
    default_block: dict[str, Any] = {}
    if defaults.vars:
        default_block["vars"] = defaults.vars
    if defaults.tags:
        default_block["tags"] = list(defaults.tags)
    if common:
        default_block["assert"] = [a for _, a in cases[0].asserts[:common]]
    if default_block:
        suite["defaults"] = default_block
    suite.update(settings)
    if prices:
        suite["prices"] = prices
    if judge is not None:
        suite["judge"] = {"target": judge}
    return suite


def _comments(case: CaseOut) -> tuple[str, ...]:
    if case.description:
        return (f"{case.origin}: {case.description}",)
    return (case.origin,)


def _header(source: Source, log: Log) -> list[str]:
    config = source.from_suite(source.folder / source.config.label)
    lines = [
        f"Converted by ci-gate from the promptfoo config {config}; check it with ci-gate validate."
    ]
    if source.folder != source.suite_dir:
        lines.append(f"Places below are in {source.from_suite(source.folder)}/.")
    if log.unconverted:
        lines.append(f"Not converted ({len(log.unconverted)}):")
        lines += [f"  - {u.where}: {u.what}: {u.why}" for u in log.unconverted]
    if log.notes:
        lines.append(f"Converted approximately ({len(log.notes)}):")
        lines += [f"  - {n}" for n in log.notes]
    return lines
