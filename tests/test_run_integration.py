"""`ci-gate run` end to end, in-process and as a process, against real local servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from ci_gate.cli import main
from ci_gate.results.store import read_results
from tests.fakes.model_server import Fault, ModelServer

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "support-bot" / "suite.yaml"
RESULTS_SCHEMA = json.loads((ROOT / "ci_gate" / "results" / "schema.json").read_text("utf-8"))


def openai_suite(tmp_path: Path, url: str, cases: int, **extra: object) -> Path:
    lines = [
        "ci_gate: 1",
        "name: it",
        "targets:",
        "  - id: gpt",
        "    provider: openai",
        "    model: gpt-4o-mini",
        f"    base_url: {url}/v1",
        "    api_key_env: TEST_KEY",
        "    params: {temperature: 0}",
        "    timeout_s: 5",
        "prompts:",
        "  - {id: p, template: 'Say {{ word }}'}",
        "defaults:",
        "  prompt: p",
        "  assert: [{type: contains, value: Say}]",
        "retry: {max_attempts: 4, backoff_s: 0.01, max_backoff_s: 0.05}",
    ]
    lines += [f"{k}: {json.dumps(v)}" for k, v in extra.items()]
    lines.append("cases:")
    lines += [f"  - {{id: c{i:03d}, vars: {{word: w{i}}}}}" for i in range(cases)]
    path = tmp_path / "suite.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bundled_example_runs_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results.json"
    assert main(["run", str(EXAMPLE), "-o", str(out), "-q"]) == 0
    data = json.loads(out.read_text("utf-8"))
    jsonschema.Draft202012Validator(RESULTS_SCHEMA).validate(data)
    res = read_results(out)
    assert res.run.status == "complete"
    assert res.run.totals.cases >= 30 and len(res.records) == res.run.totals.cases
    assert len({t for c in res.cases.values() for t in c.tags}) >= 3
    assert res.run.totals.errored == 0
    assert res.run.totals.passed >= 30
    assert res.run.totals.cost_usd > 0  # priced from the suite's own price table
    assert not (tmp_path / "results.json.journal").exists()
    line = capsys.readouterr().out
    assert "support-bot on app" in line and "passed" in line


def test_openai_target_retries_429_with_retry_after_and_records_server_latency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_KEY", "sk-test-abcdefghijklmnop")
    with ModelServer(service_ms=30) as server:
        server.rate_limit(times=2, retry_after="0")
        suite = openai_suite(tmp_path, server.url, 6, concurrency=1)
        out = tmp_path / "r.json"
        assert main(["run", str(suite), "-o", str(out), "-q", "--no-cache"]) == 0
        assert len(server.requests) == 8  # 6 cases + 2 retried
        assert all(
            r.headers["Authorization"] == "Bearer sk-test-abcdefghijklmnop" for r in server.requests
        )
    res = read_results(out)
    first = next(r for r in res.records if r.case_id == "c000")
    assert first.attempts == 3 and first.passed is True
    assert all(r.error is None for r in res.records)
    for r in res.records:
        assert r.latency_ms is not None and 25 <= r.latency_ms < 200
        assert r.input_tokens and r.output_tokens and r.cost_usd
    assert "sk-test" not in out.read_text("utf-8")


def test_provider_failure_is_an_error_never_a_failed_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_KEY", "k-123456")
    with ModelServer() as server:
        server.fail(status=500, times=4)  # c000 exhausts its 4 attempts
        server.push(
            Fault("non_json"), Fault("non_json"), Fault("non_json")
        )  # c001: not retried? see below
        suite = openai_suite(tmp_path, server.url, 3, concurrency=1)
        out = tmp_path / "r.json"
        assert main(["run", str(suite), "-o", str(out), "-q", "--no-cache"]) == 0
    res = read_results(out)
    by_id = {r.case_id: r for r in res.records}
    assert by_id["c000"].error is not None and by_id["c000"].error.kind == "server_error"
    assert by_id["c000"].passed is None and by_id["c000"].attempts == 4
    assert by_id["c001"].error is not None and by_id["c001"].passed is None
    assert res.run.totals.failed == 0
    assert res.run.totals.errored == 2 + (by_id["c002"].error is not None)


def test_cache_hit_keeps_recorded_latency_and_cost_and_spends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_KEY", "k-123456")
    cache = tmp_path / "cache"
    with ModelServer(service_ms=20) as server:
        suite = openai_suite(tmp_path, server.url, 5)
        first, second = tmp_path / "1.json", tmp_path / "2.json"
        assert main(["run", str(suite), "-o", str(first), "-q", "--cache-dir", str(cache)]) == 0
        assert main(["run", str(suite), "-o", str(second), "-q", "--cache-dir", str(cache)]) == 0
        assert len(server.requests) == 5
        # a different sample count is a different request for samples >= 1 only
        third = tmp_path / "3.json"
        assert (
            main(
                [
                    "run",
                    str(suite),
                    "-o",
                    str(third),
                    "-q",
                    "--cache-dir",
                    str(cache),
                    "--repeats",
                    "2",
                ]
            )
            == 0
        )
        assert len(server.requests) == 10
    a, b = read_results(first), read_results(second)
    assert all(r.cached for r in b.records) and not any(r.cached for r in a.records)
    assert [r.latency_ms for r in a.records] == [r.latency_ms for r in b.records]
    assert [r.cost_usd for r in a.records] == [r.cost_usd for r in b.records]
    assert b.run.totals.cost_usd == a.run.totals.cost_usd > 0
    assert b.run.totals.cost_usd_spent == 0 and b.run.totals.calls == 0
    assert [r.cache_key for r in a.records] == [r.cache_key for r in b.records]


def test_budget_stops_cleanly_and_the_rerun_makes_only_missing_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEST_KEY", "k-123456")
    with ModelServer() as server:
        suite = openai_suite(tmp_path, server.url, 10, concurrency=1)
        out = tmp_path / "r.json"
        args = ["run", str(suite), "-o", str(out), "-q", "--no-cache"]
        assert main([*args, "--max-calls", "4"]) == 1
        assert "stopped early" in capsys.readouterr().err
        partial = read_results(out)
        assert partial.run.status == "budget_exhausted"
        assert len(partial.records) == 10  # every case accounted for
        assert sum(r.error is not None and r.error.kind == "budget" for r in partial.records) == 6
        assert len(server.requests) == 4
        assert main(args) == 0
        assert len(server.requests) == 10  # only the 6 missing calls were made
    done = read_results(out)
    assert done.run.status == "complete" and done.run.totals.passed == 10


def test_missing_api_key_variable_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = openai_suite(tmp_path, "http://127.0.0.1:9", 2)
    assert main(["run", str(suite), "-o", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TEST_KEY" in err and "Traceback" not in err
    assert not (tmp_path / "r.json").exists()


def _spawn_run(suite: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    env.update(TEST_KEY="k-123456", CI="true", PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "ci_gate", "run", str(suite), "-o", str(out), "--no-cache", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("how", ["kill", "interrupt"])
def test_a_run_killed_or_interrupted_halfway_resumes_with_only_unfinished_calls(
    tmp_path: Path, how: str
) -> None:
    with ModelServer() as server:
        suite = openai_suite(tmp_path, server.url, 12, concurrency=1)
        out = tmp_path / "r.json"
        # Requests 1-5 are answered; the 6th hangs until the process is stopped. With one call in
        # flight at a time, five records are in the journal when the 6th request arrives.
        server.push(Fault("ok", 5), Fault("slow", 1, delay_ms=60_000))
        arrived = server.request_arrived(6)
        proc = _spawn_run(suite, out, "-q")
        assert arrived.wait(timeout=30)
        if how == "kill":
            proc.kill()
        else:
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        if how == "kill":
            assert proc.returncode == -signal.SIGKILL and not out.exists()
        else:
            assert proc.returncode == 1, err
            stopped = read_results(out)
            assert stopped.run.status == "interrupted"
            assert sum(r.error is None for r in stopped.records) == 5
            assert "Traceback" not in err
        assert len(server.requests) == 6
        rerun = _spawn_run(suite, out, "-q")
        _, err = rerun.communicate(timeout=60)
        assert rerun.returncode == 0, err
        assert len(server.requests) == 6 + 7  # the hung call and the six never made
    res = read_results(out)
    assert res.run.status == "complete" and res.run.totals.passed == 12


def test_identical_requests_reuse_the_baseline_response(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_KEY", "k-123456")
    with ModelServer(service_ms=10) as server:
        suite = openai_suite(tmp_path, server.url, 4)
        base = tmp_path / "base.json"
        assert main(["run", str(suite), "-o", str(base), "-q", "--no-cache"]) == 0
        assert len(server.requests) == 4
        # The PR changes one case's input: only that request is made again.
        text = suite.read_text("utf-8").replace("word: w3}", "word: changed}")
        suite.write_text(text, encoding="utf-8")
        head = tmp_path / "head.json"
        args = ["run", str(suite), "-o", str(head), "-q", "--no-cache", "--reuse", str(base)]
        assert main(args) == 0
        assert len(server.requests) == 5
    b, h = read_results(base), read_results(head)
    reused = [r for r in h.records if r.reused]
    assert [r.case_id for r in reused] == ["c000", "c001", "c002"]
    assert all(not r.cached and r.attempts == 0 for r in reused)
    assert [r.latency_ms for r in reused] == [r.latency_ms for r in b.records[:3]]
    assert h.run.totals.reused == 3 and h.run.totals.calls == 1
    assert h.run.totals.cost_usd_spent < h.run.totals.cost_usd


def test_the_teams_own_code_is_never_reused(tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    assert main(["run", str(EXAMPLE), "-o", str(base), "-q"]) == 0
    head = tmp_path / "head.json"
    assert main(["run", str(EXAMPLE), "-o", str(head), "-q", "--reuse", str(base)]) == 0
    assert read_results(head).run.totals.reused == 0
