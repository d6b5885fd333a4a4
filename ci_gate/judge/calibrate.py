"""``ci-gate calibrate``: measure how reliable each judged assertion's judge is, and write the
calibration file that lets a run make those assertions blocking.

Each judged assertion is calibrated once per calibration key (``calibration_key``: its type,
rubric, options and judge), so an assertion from ``defaults.assert`` is one entry however many
cases it is in. Its items are the human-labelled outputs of its cases (``labels:``) and, with a
results file, the first answered output of each of its cases (unlabelled: for self-agreement
only). Every item is judged ``repeats`` times by the assertion's own function, exactly as a run
grades it, with the repeat as the sample index: the run's cache keys apply, so verdicts a run
already paid for are reused and calibrating again is cheap.
"""

from __future__ import annotations

import asyncio
import os
import random
import ssl
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from ci_gate.assertions import registry
from ci_gate.assertions.base import Output, ScorerError
from ci_gate.errors import EXIT_FAIL, ConfigError, GateError
from ci_gate.judge.calibration import (
    Calibration,
    calibration_key,
    read_calibrations,
    shortfall,
    write_calibrations,
)
from ci_gate.providers.base import Provider, ProviderRequest
from ci_gate.providers.fake import request_text
from ci_gate.providers.http_client import make_client
from ci_gate.providers.registry import build_provider
from ci_gate.results.model import Results
from ci_gate.run.cache import ResponseCache, default_cache_dir
from ci_gate.run.graders import Graders
from ci_gate.run.ledger import Ledger, StopRun
from ci_gate.run.scoring import SampleScoring, ScoringSetup
from ci_gate.stats.agreement import accuracy, cohen_kappa, self_agreement
from ci_gate.suite.model import AssertionSpec, Case, Suite, Target
from ci_gate.suite.template import render_messages

DEFAULT_REPEATS = 5
DEFAULT_FILE = "calibration.json"
NOTHING = "nothing to calibrate on (add labels: to its cases, or pass --results)"
ALL_FAILED = "not calibrated: every judgement failed"


class CalibrationStopped(GateError):
    """The budget ran out before every judgement was made: no file is written."""

    exit_code = EXIT_FAIL


@dataclass(frozen=True)
class CalibrateOptions:
    repeats: int = DEFAULT_REPEATS
    results: Results | None = None
    output: str | None = None  # -o, relative to the working directory
    use_cache: bool = True
    cache_dir: Path | None = None
    concurrency: int | None = None
    tls: Future[ssl.SSLContext] | None = None


@dataclass(frozen=True)
class Item:
    """One output to judge ``repeats`` times; ``label`` is the human verdict, if any."""

    case: Case
    spec: AssertionSpec
    output: Output
    label: bool | None


@dataclass(frozen=True)
class Group:
    """The judged assertions that share one calibration key, and what to judge for them."""

    key: str
    names: tuple[str, ...]
    type: str
    judge: Target
    items: tuple[Item, ...]


@dataclass
class _Tally:
    """Verdicts per item and failed judgements of one group (filled by the workers)."""

    verdicts: list[list[bool]]
    errors: int = 0
    first_error: str | None = None


@dataclass(frozen=True)
class Outcome:
    group: Group
    entry: Calibration | None  # None: nothing judged, or every judgement failed
    errors: int
    first_error: str | None
    status: str  # "can block", or why not


@dataclass(frozen=True)
class Destination:
    path: Path
    shown: str
    source: str  # how the path was chosen, for the output
    in_use: bool  # whether the suite's judge.calibration names this file
    relative: str  # the path as judge.calibration would name it


@dataclass(frozen=True)
class Report:
    outcomes: tuple[Outcome, ...]
    destination: Destination
    written: int
    kept: int
    judge_calls: int
    cached_calls: int
    spent_usd: float
    repeats: int


def destination(suite: Suite, output: str | None) -> Destination:
    """Where the file goes: ``-o``, else the suite's ``judge.calibration``, else next to it."""
    suite_dir = Path(suite.path).resolve().parent
    named = suite.judge.calibration
    if output is not None:
        path, shown, source = Path(output).resolve(), output, "-o"
    elif named is not None:
        path = suite_dir / named
        shown, source = str(Path(suite.path).parent / named), "judge.calibration of the suite"
    else:
        path = suite_dir / DEFAULT_FILE
        shown = str(Path(suite.path).parent / DEFAULT_FILE)
        source = "the default, next to the suite"
    in_use = named is not None and (suite_dir / named).resolve() == path.resolve()
    return Destination(path, shown, source, in_use, os.path.relpath(path, suite_dir))


def _labels_for(case: Case, spec: AssertionSpec, judged: int) -> list[Item]:
    items = []
    for label in case.labels:
        if label.assertion == spec.name or (label.assertion is None and judged == 1):
            extra = {} if label.context is None else {"context": label.context}
            items.append(Item(case, spec, Output(label.output, extra), label.passed))
    return items


def _first_answers(results: Results | None) -> dict[str, Output]:
    first: dict[str, tuple[int, Output]] = {}
    for r in results.records if results is not None else ():
        if r.output is not None and (r.case_id not in first or r.sample < first[r.case_id][0]):
            first[r.case_id] = (r.sample, Output(r.output, r.extra))
    return {case_id: output for case_id, (_, output) in first.items()}


def groups(suite: Suite, results: Results | None) -> list[Group]:
    """The suite's judged assertions by calibration key, in first-use order, with their items."""
    answers = _first_answers(results)
    found: dict[str, tuple[list[str], str, Target, list[Item]]] = {}
    for case in suite.cases:
        judged = [s for s in case.assertions if registry.is_judged(s)]
        for spec in judged:
            (judge_id,) = registry.models_of(spec, suite.judge.target)
            judge = suite.target(judge_id)
            key = calibration_key(spec, judge)
            names, _, _, items = found.setdefault(key, ([], spec.type, judge, []))
            if spec.name not in names:
                names.append(spec.name)
            labelled = _labels_for(case, spec, len(judged))
            items += labelled
            answer = answers.get(case.id)
            # An output that is also labelled is judged once, as the labelled item.
            if answer is not None and all(i.output.text != answer.text for i in labelled):
                items.append(Item(case, spec, answer, None))
    return [
        Group(key, tuple(names), kind, judge, tuple(items))
        for key, (names, kind, judge, items) in found.items()
    ]


def _request_text(suite: Suite, case: Case) -> str:
    # The input as a run shows it to the judge: the rendered prompt, or the vars as JSON.
    return request_text(ProviderRequest(case.id, 0, case.vars, render_messages(suite, case), {}))


async def _judge_all(
    suite: Suite,
    todo: Sequence[Group],
    options: CalibrateOptions,
    env: Mapping[str, str],
    base_dir: Path,
) -> tuple[list[_Tally], Ledger, list[SampleScoring]]:
    concurrency = options.concurrency or suite.concurrency
    tallies = [_Tally([[] for _ in g.items]) for g in todo]
    scorings: list[SampleScoring] = []
    ledger = Ledger(max_calls=suite.budget.max_calls, max_cost_usd=suite.budget.max_cost_usd)
    texts = {i.case.id: _request_text(suite, i.case) for g in todo for i in g.items}
    target_ids = {
        t for g in todo for i in g.items for t in registry.models_of(i.spec, suite.judge.target)
    }
    client = make_client(concurrency, options.tls)
    cache = None
    providers: dict[str, Provider] = {}
    try:
        if options.use_cache and any(suite.target(t).cache for t in target_ids):
            cache = ResponseCache(options.cache_dir or default_cache_dir(env))
        for target_id in sorted(target_ids):
            providers[target_id] = build_provider(suite.target(target_id), client, env, base_dir)
        graders = Graders(
            providers,
            cache=cache,
            prices=suite.prices,
            retry=suite.retry,
            ledger=ledger,
            rng=random.Random(),
        )
        setup = ScoringSetup(graders, suite.judge.target, base_dir, env)
        jobs = iter(
            [
                (gi, ii, sample)
                for gi, g in enumerate(todo)
                for ii in range(len(g.items))
                for sample in range(options.repeats)
            ]
        )

        async def worker() -> None:
            for gi, ii, sample in jobs:
                item = todo[gi].items[ii]
                tally = tallies[gi]
                scoring = SampleScoring(setup, item.case, sample, texts[item.case.id])
                scorings.append(scoring)
                afn = registry.get(item.spec.type).afn
                assert afn is not None, "judged assertions are asynchronous"
                try:
                    result = await afn(item.spec, item.output, item.case, scoring)
                except StopRun:
                    return
                except ScorerError as exc:
                    _failed(tally, exc.message)
                except Exception as exc:  # an assertion bug: counted like a failed judgement
                    _failed(tally, f"assertion raised {type(exc).__name__}: {exc}")
                else:
                    tally.verdicts[ii].append(result.passed)

        await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    finally:
        for provider in providers.values():
            await provider.aclose()
        await client.aclose()
        if cache is not None:
            cache.close()
    return tallies, ledger, scorings


def _failed(tally: _Tally, message: str) -> None:
    tally.errors += 1
    if tally.first_error is None:
        tally.first_error = message


def summarise(group: Group, tally: _Tally, repeats: int, created_at: str) -> Calibration | None:
    """The calibration entry of ``group`` from its verdicts; None when it has none."""
    judgements = sum(len(v) for v in tally.verdicts)
    if judgements == 0:
        return None
    pairs = [
        (verdict, item.label)
        for item, verdicts in zip(group.items, tally.verdicts, strict=True)
        if item.label is not None
        for verdict in verdicts
    ]
    return Calibration(
        key=group.key,
        assertion=", ".join(group.names),
        type=group.type,
        judge=group.judge.id,
        model=group.judge.model,
        repeats=repeats,
        outputs=len(group.items),
        judgements=judgements,
        self_agreement=self_agreement(tally.verdicts),
        # Labelled outputs the statistics rest on: one whose every judgement failed is not.
        labels=sum(
            1
            for item, verdicts in zip(group.items, tally.verdicts, strict=True)
            if item.label is not None and verdicts
        ),
        accuracy=accuracy(pairs),
        kappa=cohen_kappa(pairs),
        created_at=created_at,
    )


def _existing(dest: Destination) -> dict[str, Calibration]:
    if not dest.path.exists():
        return {}
    try:
        return read_calibrations(dest.path, dest.shown)
    except ConfigError:
        raise ConfigError(
            f"{dest.shown}: exists but is not a calibration file this ci-gate can read, so its"
            " other entries cannot be kept; move it away or write elsewhere with -o"
        ) from None


def _status(entry: Calibration | None, group: Group, suite: Suite, dest: Destination) -> str:
    if not group.items:
        return NOTHING
    if entry is None:
        return ALL_FAILED
    # Judged as a run will judge it once the suite names this file.
    reason = shortfall(entry, replace(suite.judge, calibration=dest.relative))
    return "can block" if reason is None else reason.removeprefix("advisory: ")


def calibrate(suite: Suite, options: CalibrateOptions, env: Mapping[str, str]) -> Report:
    """Judge every item, write the calibration file, and say how each judge did."""
    if options.repeats < 2:
        raise ValueError(f"repeats must be at least 2, got {options.repeats}")
    found = groups(suite, options.results)
    if not found:
        raise ConfigError(
            f"{suite.path}: no judged assertion (llm-rubric, context-faithfulness) to calibrate"
        )
    if not any(g.items for g in found):
        raise ConfigError(
            f"{suite.path}: no output to calibrate the judges on: add labels: (outputs with a"
            " human pass/fail) to cases with judged assertions, or pass --results FILE of a run"
        )
    dest = destination(suite, options.output)
    existing = _existing(dest)
    todo = [g for g in found if g.items]
    base_dir = Path(suite.path).resolve().parent
    tallies, ledger, scorings = asyncio.run(_judge_all(suite, todo, options, env, base_dir))
    if ledger.stop is not None:
        again = (
            "verdicts made so far are cached, so running again repeats none of them"
            if options.use_cache
            else "run again"
        )
        raise CalibrationStopped(
            f"calibration stopped: {ledger.stop.reason}; no calibration file was written"
            f" (raise budget in the suite; {again})"
        )
    created_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    by_key = {g.key: t for g, t in zip(todo, tallies, strict=True)}
    outcomes = []
    fresh: dict[str, Calibration] = {}
    for group in found:
        tally = by_key.get(group.key, _Tally([]))
        entry = summarise(group, tally, options.repeats, created_at) if group.items else None
        if entry is not None:
            fresh[entry.key] = entry
        status = _status(entry, group, suite, dest)
        outcomes.append(Outcome(group, entry, tally.errors, tally.first_error, status))
    if fresh:
        # In the existing file's order, so that recalibrating one assertion is a small diff.
        merged = {**{k: fresh.get(k, e) for k, e in existing.items()}, **fresh}
        write_calibrations(dest.path, list(merged.values()), suite.name)
    return Report(
        outcomes=tuple(outcomes),
        destination=dest,
        written=len(fresh),
        kept=len(set(existing) - set(fresh)) if fresh else 0,
        judge_calls=sum(s.calls - s.cached for s in scorings),
        cached_calls=sum(s.cached for s in scorings),
        spent_usd=ledger.spent_usd,
        repeats=options.repeats,
    )
