"""Embeddings: the fake provider's hashed vectors, the openai provider's ``/embeddings`` call
against a real local server, and ``similar`` assertions of both methods through the runner."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from ci_gate.errors import SuiteError
from ci_gate.providers.base import Embeddings, ProviderError
from ci_gate.providers.fake import FakeProvider
from ci_gate.providers.fake_embed import DIMENSIONS, fake_embedding
from ci_gate.providers.openai import OpenAIProvider, parse_embeddings
from ci_gate.results.model import Results
from ci_gate.run.runner import RunOptions, run_suite
from ci_gate.similarity import cosine
from ci_gate.suite.load import load_suite
from ci_gate.suite.model import Target
from tests.fakes.model_server import Fault, ModelServer

KEY = "sk-embed-test-0123456789"
ENV = {"EMBED_KEY": KEY}
REFUND = "You can get a refund within 30 days of purchase."


# --- fake embeddings ---------------------------------------------------------------------------


def test_fake_embedding_is_a_deterministic_unit_vector() -> None:
    v = fake_embedding(REFUND)
    assert len(v) == DIMENSIONS
    assert math.isclose(math.fsum(x * x for x in v), 1.0)
    assert v == fake_embedding(REFUND)
    assert fake_embedding("") == fake_embedding("  ...  ")  # nothing to embed, same direction
    assert math.isclose(math.fsum(x * x for x in fake_embedding("")), 1.0)


def test_fake_embeddings_of_texts_sharing_words_are_close() -> None:
    base = fake_embedding(REFUND)
    paraphrase = cosine(base, fake_embedding("Within 30 days of purchase, you get a refund"))
    case_only = cosine(base, fake_embedding(REFUND.upper()))
    unrelated = cosine(base, fake_embedding("The weather in Lisbon is sunny today"))
    assert case_only == pytest.approx(1.0)
    assert paraphrase > 0.8
    assert unrelated < 0.3
    assert paraphrase > unrelated + 0.5


def test_fake_provider_embeds_each_text_in_order() -> None:
    provider = FakeProvider(Target("emb", "fake", "fake-embed", {}, {}))
    got = asyncio.run(provider.embed(["b", REFUND]))
    assert got.vectors == [fake_embedding("b"), fake_embedding(REFUND)]
    assert got.model == "fake-embed" and got.input_tokens == 1 + math.ceil(len(REFUND) / 4)


# --- openai /embeddings ------------------------------------------------------------------------


def _openai(url: str) -> Target:
    return Target(
        id="embedder",
        provider="openai",
        model="text-embedding-3-small",
        params={"temperature": 0},
        options={"base_url": f"{url}/v1", "api_key_env": "EMBED_KEY"},
        timeout_s=5.0,
    )


def _embed(url: str, texts: Sequence[str]) -> Embeddings:
    async def go() -> Embeddings:
        async with httpx.AsyncClient() as client:
            return await OpenAIProvider(_openai(url), client, ENV).embed(texts)

    return asyncio.run(go())


def test_openai_embed_posts_model_and_input_and_orders_by_index() -> None:
    with ModelServer() as server:
        got = _embed(server.url, ["first text", "second"])
        (sent,) = server.requests
    assert sent.path == "/v1/embeddings"
    assert sent.body == {"model": "text-embedding-3-small", "input": ["first text", "second"]}
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    # The server lists the items in reverse: the provider puts them back by index.
    assert got.vectors == [fake_embedding("first text"), fake_embedding("second")]
    assert got.input_tokens == 3 + 2
    assert got.model == "text-embedding-3-small"
    assert got.latency_ms > 0


@pytest.mark.parametrize(
    ("status", "kind"), [(400, "client_error"), (401, "client_error"), (429, "rate_limited")]
)
def test_openai_embed_http_errors_become_provider_errors(status: int, kind: str) -> None:
    with ModelServer() as server:
        server.fail(status=status, echo_headers=True)
        with pytest.raises(ProviderError) as caught:
            _embed(server.url, ["x"])
    assert caught.value.kind == kind and caught.value.status == status
    assert KEY not in caught.value.message  # the echoed key is scrubbed like chat errors


def test_openai_embed_server_error_is_retryable() -> None:
    with ModelServer() as server:
        server.fail(status=503)
        with pytest.raises(ProviderError) as caught:
            _embed(server.url, ["x"])
        assert caught.value.kind == "server_error" and caught.value.retryable
        assert _embed(server.url, ["x"]).vectors == [fake_embedding("x")]  # the next one works


@pytest.mark.parametrize("fault", ["non_json", "truncated"])
def test_openai_embed_unreadable_body_is_bad_response(fault: str) -> None:
    with ModelServer() as server:
        server.push(Fault(fault))
        with pytest.raises(ProviderError) as caught:
            _embed(server.url, ["x"])
    assert caught.value.kind == "bad_response"


def test_openai_embed_malformed_answer_is_bad_response() -> None:
    with ModelServer() as server:
        server.replay([(200, {}, {"object": "list", "data": [], "model": "m"})])
        with pytest.raises(ProviderError) as caught:
            _embed(server.url, ["x"])
    assert caught.value.kind == "bad_response"
    assert (
        caught.value.message == "unexpected embeddings response: expected 1 embeddings, got 0 items"
    )


def _item(index: Any, embedding: Any) -> dict[str, Any]:
    return {"object": "embedding", "index": index, "embedding": embedding}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([], "no data list"),
        ({"data": "nope"}, "no data list"),
        ({"data": [_item(0, [1.0])]}, "expected 2 embeddings, got 1 items"),
        ({"data": [_item(0, [1.0]), _item(0, [1.0])]}, "repeated or out-of-range index"),
        ({"data": [_item(0, [1.0]), _item(2, [1.0])]}, "repeated or out-of-range index"),
        ({"data": [_item(0, [1.0]), _item(None, [1.0])]}, "missing"),
        ({"data": [_item(0, [1.0]), _item(True, [1.0])]}, "missing"),
        ({"data": [_item(0, [1.0]), "x"]}, "missing"),
        ({"data": [_item(0, [1.0]), _item(1, [])]}, "data item 1 has no embedding"),
        ({"data": [_item(0, [1.0]), _item(1, ["1"])]}, "data item 1 has no embedding"),
        ({"data": [_item(0, [1.0]), _item(1, [math.nan])]}, "finite numbers"),
        ({"data": [_item(0, [1.0]), _item(1, "AAAA")]}, "data item 1 has no embedding"),
    ],
)
def test_parse_embeddings_rejects_malformed_bodies(body: Any, words: str) -> None:
    with pytest.raises(ProviderError) as caught:
        parse_embeddings(body, 2, latency_ms=1.0, model="m")
    assert caught.value.kind == "bad_response" and words in caught.value.message


def test_parse_embeddings_without_usage_or_model() -> None:
    got = parse_embeddings(
        {"data": [_item(1, [0, 1]), _item(0, [2.5, -1])]}, 2, latency_ms=3.0, model="asked"
    )
    assert got.vectors == [[2.5, -1.0], [0.0, 1.0]]
    assert got.input_tokens is None and got.model == "asked" and got.latency_ms == 3.0


# --- through the runner ------------------------------------------------------------------------

OUTPUTS = {
    "close": "Within 30 days of purchase you can get a refund.",
    "off": "The weather in Lisbon is sunny today.",
    "plain": REFUND,
}
BOTH = [
    {"type": "similar", "name": "words", "value": REFUND, "threshold": 0.5},
    {
        "type": "similar",
        "name": "meaning",
        "value": REFUND,
        "method": "embedding",
        "embedder": "emb",
        "threshold": 0.7,
    },
]


def _suite(
    tmp_path: Path,
    asserts: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    embed_url: str | None = None,
) -> Path:
    targets: list[dict[str, Any]] = [
        {"id": "app", "provider": "fake", "outputs": {c: OUTPUTS[c] for c in asserts}},
        {"id": "emb", "provider": "fake", "model": "fake-embed"},
    ]
    if embed_url is not None:
        targets.append(
            {
                "id": "oemb",
                "provider": "openai",
                "model": "text-embedding-3-small",
                "base_url": f"{embed_url}/v1",
                "api_key_env": "EMBED_KEY",
                "timeout_s": 5,
            }
        )
    data = {
        "ci_gate": 1,
        "name": "similar",
        "targets": targets,
        "default_target": "app",
        "retry": {"max_attempts": 2, "backoff_s": 0.01, "max_backoff_s": 0.02},
        "cases": [
            {"id": c, "vars": {"q": f"question {c}"}, "assert": [dict(a) for a in specs]}
            for c, specs in asserts.items()
        ],
    }
    path = tmp_path / "suite.yaml"
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def _run(path: Path, tmp_path: Path, *, cache: bool = False, out: str = "r.json") -> Results:
    options = RunOptions(
        output=tmp_path / out,
        use_cache=cache,
        cache_dir=tmp_path / "cache",
        progress=False,
        resume=False,
    )
    return asyncio.run(run_suite(load_suite(path), options, ENV))


def test_similar_of_both_methods_through_the_runner(tmp_path: Path) -> None:
    string_only = [{"type": "similar", "value": REFUND}]
    res = _run(_suite(tmp_path, {"close": BOTH, "off": BOTH, "plain": string_only}), tmp_path)
    by_case = {r.case_id: r for r in res.records}
    assert all(r.error is None for r in res.records)
    close, off, plain = by_case["close"], by_case["off"], by_case["plain"]
    assert close.passed is True and off.passed is False and plain.passed is True
    words, meaning = close.assertions
    assert words.passed and meaning.passed and meaning.score > 0.9
    assert meaning.message.startswith("embedding similarity 0.9")
    assert words.layer == "knowledge" and words.type == "similar"
    assert not any(a.passed for a in off.assertions)
    # One embeddings call per record that has an embedding assertion; none for string only.
    assert close.judge is not None and close.judge.calls == 1 and close.judge.input_tokens > 0
    assert off.judge is not None and off.judge.calls == 1
    assert plain.judge is None
    assert res.run.totals.judge_calls == 2


def test_openai_embedder_through_the_runner_is_cached(tmp_path: Path) -> None:
    spec = {"type": "similar", "value": REFUND, "method": "embedding", "embedder": "oemb"}
    with ModelServer() as server:
        path = _suite(tmp_path, {"close": [spec], "off": [spec]}, embed_url=server.url)
        first = _run(path, tmp_path, cache=True, out="1.json")
        assert len(server.requests) == 2
        assert {tuple(r.body["input"]) for r in server.requests} == {
            (OUTPUTS["close"], REFUND),
            (OUTPUTS["off"], REFUND),
        }
        second = _run(path, tmp_path, cache=True, out="2.json")
        assert len(server.requests) == 2  # every vector came from the cache
    for res, cached in ((first, 0), (second, 1)):
        by_case = {r.case_id: r for r in res.records}
        assert by_case["close"].passed is True and by_case["off"].passed is False
        usage = by_case["close"].judge
        assert usage is not None and usage.calls == 1 and usage.cached == cached
    assert [a.score for r in first.records for a in r.assertions] == [
        a.score for r in second.records for a in r.assertions
    ]


def test_a_failing_embedder_makes_an_error_not_a_failed_case(tmp_path: Path) -> None:
    spec = {"type": "similar", "value": REFUND, "method": "embedding", "embedder": "oemb"}
    with ModelServer() as server:
        server.fail(status=400)
        res = _run(_suite(tmp_path, {"close": [spec]}, embed_url=server.url), tmp_path)
        assert len(server.requests) == 1  # a 400 is not retried
    (record,) = res.records
    assert record.passed is None and record.error is not None
    assert record.error.kind == "embedder"
    assert "embedder 'oemb' failed: client_error" in record.error.message
    assert record.output == OUTPUTS["close"]  # the target's answer is kept
    assert res.run.totals.failed == 0 and res.run.totals.errored == 1


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"type": "similar", "value": "x", "method": "embedding"}, "needs embedder"),
        ({"type": "similar", "value": "x", "embedder": "emb"}, "only used with method"),
        (
            {"type": "similar", "value": "x", "method": "embedding", "embedder": "emb2"},
            "no target has the id 'emb2'",
        ),
        ({"type": "similar", "value": "x", "threshold": 2}, "threshold: invalid value 2"),
    ],
)
def test_similar_configuration_errors_stop_the_load(
    tmp_path: Path, spec: Mapping[str, Any], words: str
) -> None:
    path = _suite(tmp_path, {"close": [spec]})
    with pytest.raises(SuiteError) as caught:
        load_suite(path)
    assert words in str(caught.value)
