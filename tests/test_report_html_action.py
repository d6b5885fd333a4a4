"""The Action writes report.html beside the other reports, names it in the ``html-path`` output,
and points the comment and the job summary at the artifact that holds it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.action_world import World, open_world
from tests.browser.pages import embedded


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with open_world(tmp_path) as w:
        yield w


def test_a_compared_pull_request_gets_the_html_report_and_a_link_to_it(world: World) -> None:
    w = world
    w.refresh()
    head, event = w.open_pull(2, "answer in one sentence", degrade=True)
    env = w.env("pull_request", event, head, "refs/pull/2/merge")
    result = w.step(env)
    assert result.code == 1, result.log

    assert result.outputs["html-path"] == "ci-gate-out/support-bot/report.html"
    data = embedded(w.work / result.outputs["html-path"])
    assert data["format"] == "ci-gate-viewer"
    report = data["report"]
    assert isinstance(report, dict) and report["verdict"] == "fail"
    trend = data["trend"]
    assert isinstance(trend, dict) and [p["current"] for p in trend["points"]] == [False, True]
    # The example's spec: the behaviour whose cases regressed, and every case's links to it.
    (impact,) = report["comparison"]["spec_impact"]
    assert impact["item"]["name"] == "answers-from-help-center" and impact["regressed"]
    cases = data["cases"]
    assert isinstance(cases, list)
    linked = {c["id"] for c in cases if "answers-from-help-center" in c.get("bh", [])}
    assert set(impact["regressed"]) <= linked

    run_url = f"https://github.com/{w.repo}/actions/runs/{env['GITHUB_RUN_ID']}"
    line = (
        f"Full report: download the `ci-gate-report` artifact from [{run_url}]({run_url}) and"
        " open `ci-gate-out/support-bot/report.html`."
    )
    (comment,) = [c.body for c in w.gh.comments(w.owner, w.name, 2)]
    assert line in comment
    assert line in result.summary


def test_without_a_baseline_there_is_no_html_report(world: World) -> None:
    w = world
    head, event = w.open_pull(3, "a first pull request")  # no refresh stored a baseline
    result = w.step(w.env("pull_request", event, head, "refs/pull/3/merge"))
    assert result.code == 0, result.log
    assert result.outputs["html-path"] == ""
    assert not (w.work / "ci-gate-out" / "support-bot" / "report.html").exists()
    assert "ci-gate-report" not in result.summary
