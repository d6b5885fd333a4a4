from __future__ import annotations

import random
from pathlib import Path

from ci_gate.providers.base import ProviderResponse
from ci_gate.run.backoff import retry_delay
from ci_gate.run.cache import ResponseCache
from ci_gate.run.journal import Journal, journal_path, load_journal
from ci_gate.suite.model import Retry
from tests.factories import record


def test_journal_keeps_finished_records_and_skips_a_torn_last_line(tmp_path: Path) -> None:
    path = journal_path(tmp_path / "results.json")
    assert path.name == "results.json.journal"
    j = Journal(path, "sha256:suite", "app", items=2)
    j.append(0, record("a", 0))
    j.append(1, record("b", 0, passed=False))
    j.close()
    with path.open("a", encoding="utf-8") as f:
        f.write('{"case_id": "c", "sam')  # a kill -9 in the middle of a write
    found = load_journal(path, "sha256:suite", "app")
    assert set(found) == {("a", 0), ("b", 0)}
    assert found[("b", 0)].passed is False


def test_journal_of_another_suite_or_target_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "r.json.journal"
    j = Journal(path, "sha256:one", "app", items=1)
    j.append(0, record("a", 0))
    j.close()
    assert load_journal(path, "sha256:two", "app") == {}
    assert load_journal(path, "sha256:one", "other") == {}
    assert load_journal(tmp_path / "absent", "sha256:one", "app") == {}


def test_cache_round_trip_keeps_recorded_latency_tokens_and_cost(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache")
    resp = ProviderResponse("hello", 123.4, 10, 3, "gpt-4o-mini-2024-07-18", "stop", {"x": 1})
    cache.put("k", resp, 0.0042)
    cache.close()
    again = ResponseCache(tmp_path / "cache")  # a later run, another process
    hit = again.get("k")
    assert hit is not None
    assert hit.response == resp
    assert hit.cost_usd == 0.0042
    assert again.get("missing") is None
    again.close()


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    policy = Retry(max_attempts=8, backoff_s=0.5, max_backoff_s=4.0)
    rng = random.Random(1)
    for attempt in range(1, 8):
        ceiling = min(4.0, 0.5 * 2 ** (attempt - 1))
        for _ in range(50):
            assert 0.0 <= retry_delay(policy, attempt, None, rng) <= ceiling
    for _ in range(50):
        d = retry_delay(policy, 1, 7.0, rng)
        assert 7.0 <= d <= 7.7
    assert retry_delay(policy, 1, 10_000.0, rng) <= 121.0
