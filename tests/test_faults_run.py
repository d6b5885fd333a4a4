"""A 1,000-case run against a model server that faults 20% of calls at random, in every way a
real API fails: every case is accounted for, no call is made beyond its retries, and the gate
reads errors as errors (the error budget), never as quality regressions."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from ci_gate.cli import main
from ci_gate.results.model import Results
from ci_gate.results.store import read_results
from tests.fakes.model_chaos import CHAOS_KINDS
from tests.fakes.model_server import ModelServer

CASES = 1000
MAX_ATTEMPTS = 4
RATE = 0.2
SEED = 20240601
# What each fault kind becomes in the record when it is the last attempt's.
FATAL = {"truncated": "bad_response", "non_json": "bad_response"}
RETRIED = {
    "429_retry_after": "rate_limited",
    "429": "rate_limited",
    "500": "server_error",
    "502": "server_error",
    "503": "server_error",
    "timeout": "timeout",
    "reset": "connection",
    "short_body": "connection",
}
ANSWERED = {None, "missing_usage", "drip"}
assert set(FATAL) | set(RETRIED) | ANSWERED == {*CHAOS_KINDS, None}


def write_suite(path: Path, url: str, cases: int) -> Path:
    lines = [
        "ci_gate: 1",
        "name: chaos",
        "targets:",
        "  - id: gpt",
        "    provider: openai",
        "    model: gpt-4o-mini",
        f"    base_url: {url}/v1",
        "    api_key_env: FAULTS_KEY",
        # Short, so that a "timeout" fault costs little; long enough for a loaded CI machine.
        "    timeout_s: 0.5",
        "prompts:",
        "  - {id: p, template: 'Say {{ word }}'}",
        "defaults:",
        "  prompt: p",
        "  assert: [{type: contains, value: Say}]",
        "concurrency: 32",
        f"retry: {{max_attempts: {MAX_ATTEMPTS}, backoff_s: 0.001, max_backoff_s: 0.01}}",
        "cases:",
    ]
    lines += [f"  - {{id: c{i:04d}, vars: {{word: w{i}}}}}" for i in range(cases)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class ChaosRun:
    base: Path
    head: Path
    results: Results
    kinds_by_case: dict[str, list[str | None]]  # the fault of each call to a case, in order
    requests: int
    stopped_handlers: int


def case_of(content: str) -> str:
    return f"c{int(content.removeprefix('Say w')):04d}"


def fault_sequences(server: ModelServer) -> dict[str, list[str | None]]:
    """Each case's calls as the chaos plan decided them, in the order they were made."""
    assert server.chaos_plan is not None
    case_by_body = {
        hashlib.sha256(r.raw).hexdigest()[:16]: case_of(r.body["messages"][-1]["content"])
        for r in server.requests
    }
    calls: dict[str, dict[int, str | None]] = {}
    for draw in server.chaos_plan.draws:
        calls.setdefault(case_by_body[draw.body], {})[draw.nth] = draw.kind
    return {case: [kinds[n] for n in sorted(kinds)] for case, kinds in calls.items()}


@pytest.fixture(scope="module")
def chaos_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosRun]:
    tmp = tmp_path_factory.mktemp("faults")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FAULTS_KEY", "sk-faults-test")
        with ModelServer(service_ms=0) as clean:
            suite = write_suite(tmp / "suite.yaml", clean.url, CASES)
            assert main(["run", str(suite), "-o", str(tmp / "base.json"), "-q", "--no-cache"]) == 0
        with ModelServer(service_ms=0) as server:
            server.chaos(RATE, SEED)
            suite = write_suite(tmp / "suite.yaml", server.url, CASES)
            # --no-cache: the cache would answer every case from the clean run, meeting no fault.
            assert main(["run", str(suite), "-o", str(tmp / "head.json"), "-q", "--no-cache"]) == 0
            timeouts = server.chaos_plan.faulted()["timeout"] if server.chaos_plan else 0
            # Every call the client gave up on had its handler stopped: none is left sleeping.
            assert server.handler_stopped(timeouts).wait(10)
            yield ChaosRun(
                base=tmp / "base.json",
                head=tmp / "head.json",
                results=read_results(tmp / "head.json"),
                kinds_by_case=fault_sequences(server),
                requests=len(server.requests),
                stopped_handlers=server.stopped,
            )


def expected_outcome(kinds: Sequence[str | None]) -> tuple[int, str | None]:
    """(calls, error kind or None) that the retry policy should make of these faults."""
    for n, kind in enumerate(kinds, start=1):
        if kind in ANSWERED:
            return n, None
        if kind in FATAL:
            return n, FATAL[kind]
        if n == MAX_ATTEMPTS:
            return n, RETRIED[str(kind)]
    return len(kinds), "more calls were expected"


def test_every_case_is_accounted_for_once(chaos_run: ChaosRun) -> None:
    res = chaos_run.results
    assert res.run.status == "complete"
    assert Counter(r.case_id for r in res.records) == {f"c{i:04d}": 1 for i in range(CASES)}
    for r in res.records:
        if r.error is None:
            assert r.passed is not None and r.output is not None
        else:
            assert r.passed is None and r.error.kind in {*FATAL.values(), *RETRIED.values()}
            assert r.error.message.strip()
    totals = res.run.totals
    assert totals.passed + totals.failed + totals.errored == CASES
    assert totals.errored == sum(r.error is not None for r in res.records) > 0


def test_no_call_beyond_retries(chaos_run: ChaosRun) -> None:
    res = chaos_run.results
    attempts = {r.case_id: r.attempts for r in res.records}
    assert chaos_run.requests == sum(attempts.values()) == res.run.totals.calls
    assert set(chaos_run.kinds_by_case) == set(attempts)
    for case, kinds in chaos_run.kinds_by_case.items():
        assert len(kinds) == attempts[case] <= MAX_ATTEMPTS, case


def test_each_case_ends_as_its_faults_say(chaos_run: ChaosRun) -> None:
    """The plan is seeded per request body, so each case's fate is known: a fault that will not
    change on retry (an answer that is not JSON) errors at once, the others are retried until an
    answer comes or the attempts run out; and the error kind names the last fault."""
    for r in chaos_run.results.records:
        kinds = chaos_run.kinds_by_case[r.case_id]
        calls, error = expected_outcome(kinds)
        assert (r.attempts, r.error.kind if r.error else None) == (calls, error), (r.case_id, kinds)


def test_an_answer_without_usage_is_kept_without_tokens(chaos_run: ChaosRun) -> None:
    """A provider that reports no usage gives a good answer with unknown tokens and cost: the
    record passes or fails on its output, it is not an error."""
    bare = [
        r
        for r in chaos_run.results.records
        if chaos_run.kinds_by_case[r.case_id][-1] == "missing_usage"
    ]
    assert bare
    for r in bare:
        assert r.error is None and r.passed is True
        assert (r.input_tokens, r.output_tokens, r.cost_usd) == (None, None, None)
    dripped = [
        r for r in chaos_run.results.records if chaos_run.kinds_by_case[r.case_id][-1] == "drip"
    ]
    assert dripped and all(r.passed is True and r.input_tokens == 2 for r in dripped)
    assert chaos_run.results.run.totals.input_tokens == 2 * sum(
        r.input_tokens is not None for r in chaos_run.results.records
    )


def test_the_figures(chaos_run: ChaosRun, capsys: pytest.CaptureFixture[str]) -> None:
    calls = [k for kinds in chaos_run.kinds_by_case.values() for k in kinds]
    faulted = Counter(k for k in calls if k is not None)
    hit = [kinds for kinds in chaos_run.kinds_by_case.values() if any(kinds)]
    survived = sum(expected_outcome(k)[1] is None for k in hit)
    errored = chaos_run.results.run.totals.errored
    with capsys.disabled():
        print(
            f"\nchaos: {len(calls)} calls, {sum(faulted.values())} faulted {dict(faulted)}, "
            f"{len(calls) - CASES} retries, {len(hit)} cases hit, {survived} survived, "
            f"{errored} errored; {chaos_run.stopped_handlers} handlers stopped"
        )
    assert set(faulted) == set(CHAOS_KINDS)  # every kind was met at least once
    assert 0.15 < sum(faulted.values()) / len(calls) < 0.25
    assert survived + errored == len(hit)
    assert chaos_run.stopped_handlers >= faulted["timeout"]


def compare(run: ChaosRun, out: Path, budget: str) -> tuple[int, dict[str, object]]:
    code = main(
        [
            *("compare", str(run.base), str(run.head), "-q", "--json", str(out)),
            *("--set", f"errors.max_rate={budget}"),
        ]
    )
    return code, json.loads(out.read_text("utf-8"))


def test_errors_spend_the_budget_and_never_count_as_regressions(
    chaos_run: ChaosRun, tmp_path: Path
) -> None:
    errored = chaos_run.results.run.totals.errored
    rate = errored / CASES
    code, report = compare(chaos_run, tmp_path / "generous.json", f"{2 * rate:.3f}")
    assert (code, report["verdict"]) == (0, "pass")
    summary = report["summary"]
    assert isinstance(summary, dict)
    assert (summary["errored"], summary["compared"], summary["regressed"]) == (
        errored,
        CASES - errored,
        0,
    )
    # A budget is a ceiling: exactly the observed rate still passes, anything below does not.
    code, report = compare(chaos_run, tmp_path / "exact.json", f"{rate}")
    assert (code, report["verdict"]) == (0, "pass")
    code, report = compare(chaos_run, tmp_path / "tight.json", f"{rate / 2:.3f}")
    assert (code, report["verdict"]) == (1, "error")


def test_failed_calls_are_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A response cache filled during faults holds only answers: a rerun asks again exactly for
    the cases that errored, and an answer without usage is served from the cache as it was."""
    monkeypatch.setenv("FAULTS_KEY", "sk-faults-test")
    cache = ["--cache-dir", str(tmp_path / "cache")]
    with ModelServer(service_ms=0) as server:
        server.chaos(0.5, SEED, kinds=["non_json", "missing_usage", "503"])
        suite = write_suite(tmp_path / "suite.yaml", server.url, 60)
        assert main(["run", str(suite), "-o", str(tmp_path / "first.json"), "-q", *cache]) == 0
        first = read_results(tmp_path / "first.json")
        # The same server (the cache keys on the base URL), healed.
        server.chaos_plan = None
        del server.requests[:]
        assert main(["run", str(suite), "-o", str(tmp_path / "again.json"), "-q", *cache]) == 0
        asked = sorted(case_of(r.body["messages"][-1]["content"]) for r in server.requests)
    again = {r.case_id: r for r in read_results(tmp_path / "again.json").records}
    assert asked == sorted(r.case_id for r in first.records if r.error is not None) != []
    for r in first.records:
        assert again[r.case_id].cached == (r.error is None)
        assert again[r.case_id].error is None
        if r.error is None:
            assert again[r.case_id].input_tokens == r.input_tokens
    assert any(r.error is None and r.input_tokens is None for r in first.records)


def test_retries_run_out_on_a_server_that_always_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAULTS_KEY", "sk-faults-test")
    with ModelServer(service_ms=0) as server:
        server.chaos(1.0, SEED, kinds=["429", "429_retry_after", "502", "reset", "short_body"])
        suite = write_suite(tmp_path / "suite.yaml", server.url, 8)
        assert main(["run", str(suite), "-o", str(tmp_path / "r.json"), "-q", "--no-cache"]) == 0
        requests = len(server.requests)
    res = read_results(tmp_path / "r.json")
    assert requests == 8 * MAX_ATTEMPTS == res.run.totals.calls
    assert all(r.attempts == MAX_ATTEMPTS and r.passed is None for r in res.records)
    assert {r.error.kind for r in res.records if r.error} <= {
        "rate_limited",
        "server_error",
        "connection",
    }
    assert res.run.totals.errored == 8
