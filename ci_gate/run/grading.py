"""Setting up a run's graders: which targets judge or embed, and which judged assertions are
advisory because their judge is not calibrated well enough."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from ci_gate.assertions import registry
from ci_gate.judge.calibration import advisories, calibration_key, read_calibrations
from ci_gate.providers.registry import build_provider
from ci_gate.results.model import JudgeStatus
from ci_gate.run.cache import ResponseCache
from ci_gate.run.graders import Graders
from ci_gate.run.ledger import Ledger
from ci_gate.run.scoring import ScoringSetup
from ci_gate.suite.model import AssertionSpec, Case, Suite, Target


def needs_graders(suite: Suite, cases: Sequence[Case]) -> bool:
    return any(registry.needs_scoring(c.assertions) for c in cases)


def grader_ids(suite: Suite, cases: Sequence[Case] | None = None) -> list[str]:
    """The targets the assertions of ``cases`` (default: all) call, in first-use order."""
    found: dict[str, None] = {}
    for case in suite.cases if cases is None else cases:
        for spec in case.assertions:
            for target_id in registry.models_of(spec, suite.judge.target):
                found.setdefault(target_id, None)
    return list(found)


def judged_specs(suite: Suite, cases: Sequence[Case]) -> list[tuple[AssertionSpec, Target]]:
    out = []
    for case in cases:
        for spec in case.assertions:
            if registry.is_judged(spec):
                (judge,) = registry.models_of(spec, suite.judge.target)
                out.append((spec, suite.target(judge)))
    return out


class Advisory:
    """Looks up each judged spec's advisory reason once (specs are shared objects per case)."""

    def __init__(self, suite: Suite, reasons: Mapping[str, str | None]) -> None:
        self._suite = suite
        self._reasons = reasons
        self._by_spec: dict[int, str | None] = {}

    def __call__(self, spec: AssertionSpec) -> str | None:
        got = self._by_spec.get(id(spec), "")
        if got != "":
            return got
        (judge,) = registry.models_of(spec, self._suite.judge.target)
        reason = self._reasons.get(calibration_key(spec, self._suite.target(judge)))
        self._by_spec[id(spec)] = reason
        return reason


def advisory_for(suite: Suite, cases: Sequence[Case]) -> tuple[Advisory, tuple[JudgeStatus, ...]]:
    specs = judged_specs(suite, cases)
    entries = {}
    if specs and suite.judge.calibration is not None:
        path = Path(suite.path).resolve().parent / suite.judge.calibration
        entries = read_calibrations(path, suite.judge.calibration)
    reasons = advisories(specs, suite.judge, entries)
    statuses: dict[tuple[str, str], JudgeStatus] = {}
    for spec, judge in specs:
        key = calibration_key(spec, judge)
        statuses.setdefault(
            (spec.name, key),
            JudgeStatus(spec.name, spec.type, judge.id, judge.model, reasons[key]),
        )
    return Advisory(suite, reasons), tuple(statuses.values())


def setup_scoring(
    suite: Suite,
    cases: Sequence[Case],
    *,
    client: httpx.AsyncClient,
    env: Mapping[str, str],
    base_dir: Path,
    cache: ResponseCache | None,
    ledger: Ledger,
    rng: random.Random,
) -> tuple[ScoringSetup | None, tuple[JudgeStatus, ...]]:
    """Graders for ``cases`` (None when no assertion needs one); builds every grader target now,
    so that a judge that cannot work (no API key) stops the run before any call."""
    if not needs_graders(suite, cases):
        return None, ()
    advisory, statuses = advisory_for(suite, cases)
    providers = {
        target_id: build_provider(suite.target(target_id), client, env, base_dir)
        for target_id in grader_ids(suite, cases)
    }
    graders = Graders(
        providers, cache=cache, prices=suite.prices, retry=suite.retry, ledger=ledger, rng=rng
    )
    return ScoringSetup(graders, suite.judge.target, base_dir, env, advisory), statuses
