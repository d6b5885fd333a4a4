"""Pairwise preference: a judge picks the better of base's and head's output for each case.

Only cases answered in both runs (first sample) with the same definition are judged; identical
outputs are a tie without a call. The order of the two outputs is drawn per case from a seeded
hash, so about half the cases show head first: a judge that favours the first (or second)
position adds noise to the result instead of bias. The verdict is recorded from head's side:
win, tie or loss. A judge that fails for a case is an error for that case, not a verdict.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from ci_gate.assertions.base import ScorerError
from ci_gate.assertions.text import excerpt
from ci_gate.judge.ask import ask
from ci_gate.judge.prompts import preference_question
from ci_gate.providers.http_client import make_client
from ci_gate.providers.registry import build_provider
from ci_gate.results.model import Record, Results
from ci_gate.run.cache import ResponseCache, default_cache_dir
from ci_gate.run.graders import Graders
from ci_gate.run.ledger import Ledger, StopRun
from ci_gate.run.scoring import SampleScoring, ScoringSetup
from ci_gate.suite.model import Case, Suite
from ci_gate.suite.template import render_messages

Outcome = Literal["win", "tie", "loss"]
REASON_CHARS = 160


@dataclass(frozen=True)
class Preference:
    """The judge's verdict on one case, from head's side (None when it could not be had)."""

    case_id: str
    group: str | None
    outcome: Outcome | None
    head_first: bool
    reason: str
    judged: bool  # False for identical outputs, a tie without a call
    error: str | None = None


@dataclass(frozen=True)
class Preferences:
    judge: str
    model: str | None
    rubric: str
    cases: tuple[Preference, ...]
    judge_calls: int
    judge_cost_usd: float | None

    def count(self, outcome: Outcome) -> int:
        return sum(1 for p in self.cases if p.outcome == outcome)

    @property
    def errors(self) -> int:
        return sum(1 for p in self.cases if p.error is not None)


def head_goes_first(case_id: str, seed: int) -> bool:
    digest = hashlib.sha256(f"{seed}\x1f{case_id}".encode()).digest()
    return digest[0] & 1 == 1


def _first_answer(results: Results) -> dict[str, Record]:
    out: dict[str, Record] = {}
    for r in results.records:
        if r.sample == 0 and r.error is None and r.output is not None:
            out[r.case_id] = r
    return out


def _request_text(suite: Suite, case: Case | None, vars_: Mapping[str, object]) -> str:
    """What both outputs answered: the case's rendered last user message, else its vars."""
    if case is not None and case.prompt is not None:
        for message in reversed(render_messages(suite, case)):
            if message.role == "user":
                return message.content
    return json.dumps(dict(vars_), sort_keys=True, ensure_ascii=False, default=str)


def _suite_dir(suite: Suite) -> Path:
    return Path(suite.path).resolve().parent


async def _one(
    scoring: SampleScoring, judge: str, rubric: str, base: str, head: str, head_first: bool
) -> tuple[Outcome | None, str, str | None]:
    first, second = (head, base) if head_first else (base, head)
    question = preference_question(rubric, scoring.request_text, first, second)
    try:
        answer = await ask(scoring, judge, question)
    except ScorerError as exc:
        return None, "", exc.message
    better = answer["better"]
    reason = excerpt(str(answer.get("reason", "")), REASON_CHARS)
    if better == "tie":
        return "tie", reason, None
    head_won = (better == "A") == head_first
    return ("win" if head_won else "loss"), reason, None


async def prefer(
    suite: Suite,
    base: Results,
    head: Results,
    env: Mapping[str, str],
    *,
    client: httpx.AsyncClient,
    cache: ResponseCache | None,
    seed: int = 0,
    concurrency: int | None = None,
) -> Preferences:
    """Ask the suite's pairwise judge about every case both runs answered alike."""
    config = suite.pairwise
    if config is None:
        raise ValueError("the suite has no pairwise section")
    judge_id = config.judge or suite.judge.target
    assert judge_id is not None, "the suite loader requires a pairwise judge"
    judge = suite.target(judge_id)
    base_dir = _suite_dir(suite)
    ledger = Ledger(max_calls=suite.budget.max_calls, max_cost_usd=suite.budget.max_cost_usd)
    graders = Graders(
        {judge_id: build_provider(judge, client, env, base_dir)},
        cache=cache,
        prices=suite.prices,
        retry=suite.retry,
        ledger=ledger,
        rng=random.Random(),
    )
    setup = ScoringSetup(graders, judge_id, base_dir, env)
    cases = {c.id: c for c in suite.cases}
    base_answers, head_answers = _first_answer(base), _first_answer(head)
    shared = [
        cid
        for cid in head.cases
        if cid in base_answers
        and cid in head_answers
        and cid in base.cases
        and base.cases[cid].fingerprint == head.cases[cid].fingerprint
    ]
    slots = asyncio.Semaphore(concurrency or suite.concurrency)
    scorings: list[SampleScoring] = []

    async def one(case_id: str) -> Preference:
        info = head.cases[case_id]
        b, h = base_answers[case_id].output or "", head_answers[case_id].output or ""
        first = head_goes_first(case_id, seed)
        if b == h:
            return Preference(case_id, info.group, "tie", first, "identical outputs", False)
        request = _request_text(suite, cases.get(case_id), info.vars)
        case = cases.get(case_id)
        if case is None:  # a case of the results no longer in the suite: judged all the same
            case = Case(case_id, info.vars, info.tags, info.expected, (), None, info.group, "")
        scoring = SampleScoring(setup, case, 0, request)
        scorings.append(scoring)
        async with slots:
            try:
                outcome, reason, error = await _one(scoring, judge_id, config.rubric, b, h, first)
            except StopRun as stop:
                outcome, reason, error = None, "", f"not judged: {stop.reason}"
        return Preference(case_id, info.group, outcome, first, reason, True, error)

    try:
        verdicts = await asyncio.gather(*(one(cid) for cid in shared))
    finally:
        await graders.aclose()
    costs = [s.cost for s in scorings]
    return Preferences(
        judge=judge_id,
        model=judge.model,
        rubric=config.rubric,
        cases=tuple(verdicts),
        judge_calls=sum(s.calls - s.cached for s in scorings),
        judge_cost_usd=None if any(c is None for c in costs) else sum(c or 0.0 for c in costs),
    )


def judge_pairs(
    suite: Suite,
    base: Results,
    head: Results,
    env: Mapping[str, str],
    *,
    use_cache: bool = True,
    cache_dir: Path | None = None,
    seed: int = 0,
) -> Preferences:
    """``prefer`` with its own HTTP client and the response cache, for commands."""

    async def go() -> Preferences:
        client = make_client(suite.concurrency)
        cache = ResponseCache(cache_dir or default_cache_dir(env)) if use_cache else None
        try:
            return await prefer(suite, base, head, env, client=client, cache=cache, seed=seed)
        finally:
            await client.aclose()
            if cache is not None:
                cache.close()

    return asyncio.run(go())
