"""Pairwise preference: order randomised per case, win/tie/loss from head's side, the metric."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ci_gate.compare.preference import summarise
from ci_gate.judge.pairwise import Preferences, head_goes_first, prefer
from ci_gate.providers.http_client import make_client
from ci_gate.results.model import Results
from ci_gate.suite.load import load_suite
from tests.fakes.model_server import ModelServer
from tests.judge_kit import ENV, run, write_suite

# A judge as a python target: it finds the two fenced outputs and prefers the one that
# apologises; ``bias`` makes it answer a fixed position instead.
JUDGE = """
import json, re

BIAS = {bias!r}

def judge(request):
    user = request["messages"][-1]["content"]
    token = re.search(r"<(DATA-[0-9A-F]{{16}})>", user).group(1)
    a = user.split("Output A:\\n<" + token + ">\\n", 1)[1].split("\\n</" + token + ">", 1)[0]
    b = user.split("Output B:\\n<" + token + ">\\n", 1)[1].split("\\n</" + token + ">", 1)[0]
    if BIAS:
        better = BIAS
    elif ("sorry" in a.lower()) == ("sorry" in b.lower()):
        better = "tie"
    else:
        better = "A" if "sorry" in a.lower() else "B"
    return json.dumps({{"reason": "apology decides", "better": better}})
"""


def _runs(
    tmp_path: Path, base: dict[str, str], head: dict[str, str], bias: str = ""
) -> tuple[Path, Results, Results]:
    # A module name per test: python targets' modules stay imported for the process.
    module = "pair_judge_" + "".join(ch for ch in tmp_path.name if ch.isalnum())
    (tmp_path / f"{module}.py").write_text(JUDGE.format(bias=bias), encoding="utf-8")
    judge = {"id": "judge", "provider": "python", "function": f"{module}:judge", "path": "."}
    common = {
        "assertions": [{"type": "length", "min": 1}],
        "judge": {"target": "judge"},
        "extra_targets": [judge],
        "top": {"pairwise": {"rubric": "The better answer apologises for the trouble."}},
    }
    base_path = write_suite(tmp_path, base, name="base.yaml", **common)  # type: ignore[arg-type]
    head_path = write_suite(tmp_path, head, name="head.yaml", **common)  # type: ignore[arg-type]
    return (
        head_path,
        run(base_path, tmp_path, out="base.json"),
        run(head_path, tmp_path, out="head.json"),
    )


def _prefer(path: Path, base: Results, head: Results, seed: int = 0) -> Preferences:
    async def go() -> Preferences:
        client = make_client(4)
        try:
            return await prefer(
                load_suite(path), base, head, ENV, client=client, cache=None, seed=seed
            )
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_wins_ties_and_losses_are_read_from_heads_side_in_either_order(tmp_path: Path) -> None:
    ids = [f"c{i:02d}" for i in range(24)]
    base = {c: ("Sorry, fixed." if i % 3 != 1 else "Fixed.") for i, c in enumerate(ids)}
    head = {c: ("Sorry, fixed!" if i % 3 != 2 else "Fixed!") for i, c in enumerate(ids)}
    path, b, h = _runs(tmp_path, base, head)
    prefs = _prefer(path, b, h)
    by_case = {p.case_id: p for p in prefs.cases}
    for i, c in enumerate(ids):
        expected = {0: "tie", 1: "win", 2: "loss"}[i % 3]
        assert by_case[c].outcome == expected, c
    # Both orders were used, so position cannot decide the result.
    firsts = {p.head_first for p in prefs.cases}
    assert firsts == {True, False}
    assert prefs.judge_calls == 24 and prefs.errors == 0


def test_a_judge_biased_to_one_position_cancels_out(tmp_path: Path) -> None:
    ids = [f"c{i:02d}" for i in range(40)]
    path, b, h = _runs(
        tmp_path, dict.fromkeys(ids, "Fixed."), dict.fromkeys(ids, "Fixed!"), bias="A"
    )
    prefs = _prefer(path, b, h)
    head_first = sum(1 for c in ids if head_goes_first(c, 0))
    assert prefs.count("win") == head_first and prefs.count("loss") == 40 - head_first
    summary = summarise(prefs, resamples=500, seed=0, confidence=0.95)
    assert summary is not None
    low, high = summary.metric.low, summary.metric.high
    assert low is not None and high is not None and low < 0 < high  # no preference shown
    assert summary.metric.p_worse is not None and summary.metric.p_worse > 0.05


def test_identical_outputs_are_ties_without_a_call(tmp_path: Path) -> None:
    same = {"a": "Sorry!", "b": "Hello"}
    path, b, h = _runs(tmp_path, same, same)
    prefs = _prefer(path, b, h)
    assert [p.outcome for p in prefs.cases] == ["tie", "tie"]
    assert prefs.judge_calls == 0 and not any(p.judged for p in prefs.cases)


def test_a_clear_loss_is_significant_with_rates_and_intervals(tmp_path: Path) -> None:
    ids = [f"c{i:02d}" for i in range(30)]
    path, b, h = _runs(tmp_path, dict.fromkeys(ids, "Sorry, done."), dict.fromkeys(ids, "Done."))
    summary = summarise(_prefer(path, b, h), resamples=500, seed=0, confidence=0.95)
    assert summary is not None
    m = summary.metric
    assert m.key == "quality.preference" and m.head == -1.0 and m.base == 0.0
    assert m.p_worse is not None and m.p_worse < 1e-6
    assert summary.losses.count == 30 and summary.losses.low > 0.85 and summary.losses.high == 1.0
    assert summary.wins.count == 0 and summary.wins.low == 0.0 and 0 < summary.wins.high < 0.15


def test_a_failing_judge_is_an_error_for_the_case_not_a_verdict(tmp_path: Path) -> None:
    with ModelServer(answers={"": "no idea"}) as server:
        judge = {
            "id": "judge",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "base_url": f"{server.url}/v1",
            "api_key_env": "JUDGE_KEY",
        }
        top = {"pairwise": {"rubric": "Better apology."}}
        kw = {"assertions": [{"type": "length", "min": 1}], "extra_targets": [judge]}
        base_path = write_suite(tmp_path, {"a": "x"}, name="b.yaml", top=top, **kw)  # type: ignore[arg-type]
        head_path = write_suite(tmp_path, {"a": "y"}, name="h.yaml", top=top, **kw)  # type: ignore[arg-type]
        b = run(base_path, tmp_path, out="b.json")
        h = run(head_path, tmp_path, out="h.json")
        prefs = _prefer(head_path, b, h)
    (only,) = prefs.cases
    assert only.outcome is None and only.error is not None and "two tries" in only.error
    assert summarise(prefs, resamples=100, seed=0, confidence=0.95) is None


def test_cases_whose_definition_changed_are_not_judged(tmp_path: Path) -> None:
    path, b, h = _runs(tmp_path, {"a": "Sorry", "b": "x"}, {"a": "Hi", "b": "y"})
    changed = json.loads((tmp_path / "head.json").read_text("utf-8"))
    assert "a" in changed["cases"]
    from dataclasses import replace

    info = replace(h.cases["a"], fingerprint="sha256:other")
    h2 = replace(h, cases={**h.cases, "a": info})
    prefs = _prefer(path, b, h2)
    assert [p.case_id for p in prefs.cases] == ["b"]


@pytest.mark.parametrize(("k", "n"), [(0, 40), (40, 40), (7, 20)])
def test_wilson_interval_contains_the_share(k: int, n: int) -> None:
    from ci_gate.stats.proportion import wilson_interval

    low, high = wilson_interval(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0
    assert high - low < 0.5
