"""The HTML report viewer in a real headless Chromium, opened offline from a file:// URL.

One browser for the module. The page is the sample of ``tests/browser/pages.py``; what each filter
should leave is counted from the same data in Python. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from ci_gate.report.html import write_html
from tests.browser.chromium import ARTIFACTS, chromium, require_browser
from tests.browser.pages import (
    GATE,
    HOSTILE_DESCRIPTION,
    HOSTILE_ID,
    HOSTILE_MODE,
    HOSTILE_OUTPUT,
    SPEC_REGRESSED,
    many_cases,
    write_page,
)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("pages")
    sample = folder / "report.html"
    data = write_page(sample)
    return {"url": sample.as_uri(), "data": data, "folder": folder}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    require_browser()
    with chromium(tmp_path_factory.mktemp("profile")) as driver:
        yield driver


def open_page(driver: Any, url: str) -> None:
    driver.get("about:blank")  # a new document even when only the fragment differs
    driver.get_log("browser")  # what an earlier test left in the log
    driver.get(url)
    assert driver.execute_script("return document.body.getAttribute('data-ready')") == "1"


def rows(driver: Any) -> list[str]:
    script = (
        "return Array.from(document.querySelectorAll('#case-rows tr'))"
        ".map(function (r) { return r.children[1].textContent; })"
    )
    result: list[str] = driver.execute_script(script)
    return result


def choose(driver: Any, select_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, select_id)).select_by_value(value)


def ids(data: dict[str, Any], **match: str) -> set[str]:
    def keep(c: dict[str, Any]) -> bool:
        if "status" in match and c["status"] != match["status"]:
            return False
        if "tag" in match and match["tag"] not in c["tags"]:
            return False
        if "fm" in match and match["fm"] not in c.get("fm", []):
            return False
        if "bh" in match and match["bh"] not in c.get("bh", []):
            return False
        return not ("layer" in match and match["layer"] not in c["layers"])

    return {c["id"] for c in data["cases"] if keep(c)}


def shot(driver: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / name
    png = base64.b64decode(driver.get_screenshot_as_base64())
    target.write_bytes(png)
    print(f"screenshot: {target}")
    return target


def test_the_page_loads_offline_with_no_error_and_no_request(
    browser: Any, pages: dict[str, Any]
) -> None:
    open_page(browser, pages["url"])
    assert browser.get_log("browser") == []  # no script error, no CSP violation
    resources = browser.execute_script("return performance.getEntriesByType('resource').length")
    assert resources == 0
    assert browser.execute_script("return document.getElementById('verdict-word').textContent")
    headline = browser.execute_script("return document.getElementById('headline').textContent")
    assert headline == pages["data"]["report"]["gate"]["headline"]
    assert browser.title.startswith("Fail — ci-gate")
    charts = browser.execute_script("return document.querySelectorAll('svg.chart').length")
    assert charts >= 5  # two forest plots, two histograms, the trend
    png = shot(browser, "report-viewer.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_each_filter_narrows_the_table_to_the_matching_cases(
    browser: Any, pages: dict[str, Any]
) -> None:
    data = pages["data"]
    open_page(browser, pages["url"])
    assert len(rows(browser)) == len(data["cases"])
    choose(browser, "f-status", "regressed")
    assert set(rows(browser)) == ids(data, status="regressed")
    assert browser.execute_script("return location.hash") == "#status=regressed"
    choose(browser, "f-tag", "format")
    assert set(rows(browser)) == ids(data, status="regressed", tag="format") != set()
    choose(browser, "f-tag", "")
    choose(browser, "f-layer", "safety")
    assert rows(browser) == [HOSTILE_ID]
    choose(browser, "f-layer", "")
    choose(browser, "f-status", "fixed")
    assert set(rows(browser)) == ids(data, status="fixed")
    choose(browser, "f-status", "changed")
    moved = {"regressed", "fixed", "errored", "added", "removed"}
    assert set(rows(browser)) == {c["id"] for c in data["cases"] if c["status"] in moved}
    browser.find_element("id", "f-reset").click()
    assert len(rows(browser)) == len(data["cases"])


def test_free_text_search_matches_ids_outputs_and_messages(
    browser: Any, pages: dict[str, Any]
) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    open_page(browser, pages["url"])
    box = browser.find_element("id", "f-q")
    box.send_keys("ship to 42")
    wait = WebDriverWait(browser, 5, poll_frequency=0.05)
    wait.until(lambda d: "q=ship" in d.execute_script("return location.hash"))
    assert set(rows(browser)) == ids(pages["data"], status="fixed")
    box.clear()
    box.send_keys("did not answer")
    wait.until(lambda d: "answer" in d.execute_script("return location.hash"))
    assert set(rows(browser)) == ids(pages["data"], status="errored")


def test_a_link_opens_a_filtered_view(browser: Any, pages: dict[str, Any]) -> None:
    open_page(browser, pages["url"] + "#status=regressed&tag=format")
    assert set(rows(browser)) == ids(pages["data"], status="regressed", tag="format")
    value = browser.execute_script("return document.getElementById('f-tag').value")
    assert value == "format"


def test_three_clicks_to_why_a_case_regressed(browser: Any, pages: dict[str, Any]) -> None:
    open_page(browser, pages["url"])
    browser.find_element("id", "jump-regressed").click()  # 1: from the verdict
    assert set(rows(browser)) == ids(pages["data"], status="regressed")
    first = browser.find_element("css selector", "#case-rows tr")
    case_id = first.find_elements("css selector", "td")[1].text
    first.click()  # 2: the worst regressed case
    detail = browser.find_element("id", "detail")
    assert detail.is_displayed()
    why = browser.find_element("id", "why").text
    assert "passed on the baseline" in why and f"in the answer of {case_id}" in why
    outputs = [e.text for e in detail.find_elements("css selector", ".sides pre.output")]
    by_id = {c["id"]: c for c in pages["data"]["cases"]}
    assert outputs == [by_id[case_id]["base"]["out"], by_id[case_id]["head"]["out"]]
    assert detail.find_elements("css selector", "#diff del, #diff ins")
    shot(browser, "report-viewer-case.png")
    browser.find_element("id", "close-detail").click()
    assert not browser.find_element("id", "detail").is_displayed()


def test_a_hostile_output_and_id_show_as_text_and_run_nothing(
    browser: Any, pages: dict[str, Any]
) -> None:
    open_page(browser, pages["url"] + "#case=" + quote(HOSTILE_ID, safe=""))
    assert browser.execute_script("return window.__pwned === undefined")
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    assert browser.execute_script("return document.scripts.length") == 2
    bold = "return document.querySelectorAll('#app b').length"
    assert browser.execute_script(bold) == 0
    shown = browser.execute_script(
        "return document.querySelector('#detail .side.head pre.output').textContent"
    )
    visible = HOSTILE_OUTPUT.replace("\u202e", "U+202E").replace("\u202c", "U+202C")
    assert shown == visible.replace("\u200b", "U+200B")
    heading = browser.execute_script("return document.querySelector('#detail h3').textContent")
    assert heading.endswith(HOSTILE_ID)
    marks = browser.execute_script("return document.querySelectorAll('#detail .ctl').length")
    assert marks >= 3
    assert browser.get_log("browser") == []
    shot(browser, "report-viewer-hostile.png")


def spec_rows(driver: Any) -> list[dict[str, str]]:
    """The rows of the section in the spec's words: key, name, description, and each cell."""
    script = (
        "return Array.from(document.querySelectorAll('#spec-impact tbody tr')).map(function (r) {"
        " var d = r.querySelector('.desc');"
        " return {key: r.getAttribute('data-spec'), name: r.querySelector('strong').textContent,"
        " desc: d ? d.textContent : '', cells: Array.from(r.children).map(function (c) {"
        " return c.textContent; })}; })"
    )
    result: list[dict[str, str]] = driver.execute_script(script)
    return result


def spec_link(driver: Any, key: str, status: str) -> Any:
    for row in driver.find_elements("css selector", "#spec-impact tbody tr"):
        if row.get_attribute("data-spec") == key:
            return row.find_element("css selector", f"a.spec-link[data-status={status}]")
    raise AssertionError(f"no row {key!r} in the spec's section")


def test_the_spec_section_counts_each_failure_mode_and_links_to_its_cases(
    browser: Any, pages: dict[str, Any]
) -> None:
    data = pages["data"]
    open_page(browser, pages["url"])
    order = browser.execute_script(
        "return Array.from(document.querySelectorAll('#app > section')).map(s => s.id)"
    )
    assert order[:2] == ["spec", "metrics"]  # right after the verdict
    primary = browser.find_element("id", "spec-primary").text
    assert primary.startswith("The team optimises for the pass rate: 90.2% → 66.7% (-23.5 pt")
    assert "95% interval -37." in primary
    found = spec_rows(browser)
    # Failure modes, most severe first, then the behaviour; only those whose cases moved.
    assert [r["key"] for r in found] == [
        "failure_mode.breaks-the-order-page",
        "failure_mode.invents-refund-policy",
        f"failure_mode.{HOSTILE_MODE}",
        "behaviour.answers-from-help-center",
    ]
    refunds = found[1]
    assert refunds["name"] == "invents-refund-policy"
    assert refunds["desc"] == "Promises a refund that the refund policy does not give."
    assert "high" in refunds["cells"][0]
    assert refunds["cells"][1].startswith("12 cases newly fail")
    assert refunds["cells"][-1].startswith("knowledge / retrieval")  # where to intervene
    assert "100.0% → 0.0%" in refunds["cells"][4] and "warn" in refunds["cells"][5]
    helps = found[3]["cells"]
    assert helps[2].startswith("4 cases fixed") and helps[3].startswith("2 cases errored")
    browser.execute_script("document.getElementById('spec').scrollIntoView()")
    shot(browser, "report-viewer-spec.png")

    spec_link(browser, "failure_mode.invents-refund-policy", "regressed").click()
    assert browser.execute_script("return location.hash") == (
        "#status=regressed&fm=invents-refund-policy"
    )
    linked = ids(data, status="regressed", fm="invents-refund-policy")
    assert set(rows(browser)) == linked == SPEC_REGRESSED["invents-refund-policy"]
    assert browser.execute_script("return document.getElementById('f-fm').value") == (
        "invents-refund-policy"
    )
    browser.back()
    spec_link(browser, "behaviour.answers-from-help-center", "fixed").click()
    assert set(rows(browser)) == ids(data, status="fixed", bh="answers-from-help-center") != set()


def test_failure_mode_and_behaviour_filters_follow_every_link_of_a_case(
    browser: Any, pages: dict[str, Any]
) -> None:
    data = pages["data"]
    open_page(browser, pages["url"])
    choose(browser, "f-fm", "leaks-data")  # linked by the cases themselves; none moved
    assert set(rows(browser)) == ids(data, fm="leaks-data") == {f"ok-{i:02d}" for i in range(10)}
    assert browser.execute_script("return location.hash") == "#fm=leaks-data"
    choose(browser, "f-fm", "")
    choose(browser, "f-bh", "greets")  # linked only through the cases' "polite" assertion
    assert set(rows(browser)) == ids(data, bh="greets") == {f"ok-{i:02d}" for i in range(10)}
    choose(browser, "f-status", "regressed")
    assert rows(browser) == []
    browser.execute_script("location.hash = 'case=refund-00'")  # every filter cleared
    assert browser.find_element("id", "case-links").text == (
        "Failure modes: invents-refund-policy (high)"
    )
    assert "failure mode invents-refund-policy (high)" in browser.find_element("id", "why").text
    browser.find_element("css selector", "#case-links a").click()
    assert set(rows(browser)) == ids(data, fm="invents-refund-policy")
    assert not browser.find_element("id", "detail").is_displayed()


def test_a_hostile_failure_mode_shows_as_text_and_runs_nothing(
    browser: Any, pages: dict[str, Any]
) -> None:
    open_page(browser, pages["url"])
    (row,) = [r for r in spec_rows(browser) if r["key"] == f"failure_mode.{HOSTILE_MODE}"]
    assert row["name"] == HOSTILE_MODE
    assert row["desc"] == HOSTILE_DESCRIPTION.replace("\u202e", "U+202E").replace(
        "\u202c", "U+202C"
    )
    assert browser.execute_script("return window.__pwned === undefined")
    assert browser.execute_script("return document.querySelectorAll('img, #app b').length") == 0
    assert browser.execute_script("return document.scripts.length") == 2
    spec_link(browser, f"failure_mode.{HOSTILE_MODE}", "regressed").click()
    assert rows(browser) == [HOSTILE_ID]
    assert browser.execute_script("return document.getElementById('f-fm').value") == HOSTILE_MODE
    open_page(browser, pages["url"] + "#fm=" + quote(HOSTILE_MODE, safe=""))
    assert rows(browser) == [HOSTILE_ID]
    assert browser.get_log("browser") == []


def test_the_policy_blocks_injected_scripts_and_network_requests(
    browser: Any, pages: dict[str, Any]
) -> None:
    open_page(browser, pages["url"])
    browser.execute_script(
        "var s = document.createElement('script'); s.textContent = 'window.__injected = 1';"
        "document.body.appendChild(s);"
        "var i = document.createElement('img'); i.src = 'http://127.0.0.1:9/x.png';"
        "document.body.appendChild(i);"
    )
    assert browser.execute_script("return window.__injected === undefined")
    fetched = browser.execute_async_script(
        "var done = arguments[0];"
        "fetch('http://127.0.0.1:9/').then(function () { done('fetched'); },"
        " function (e) { done('blocked'); });"
    )
    assert fetched == "blocked"
    log = " ".join(entry["message"] for entry in browser.get_log("browser"))
    assert "Content Security Policy" in log


def test_thousands_of_cases_render_a_page_at_a_time(
    browser: Any, pages: dict[str, Any], tmp_path: Path
) -> None:
    from ci_gate.compare.compare import compare
    from ci_gate.gate.decide import decide
    from ci_gate.gate.policy import parse_policy

    base, head = many_cases(1500)
    comparison = compare(base, head, resamples=100)
    path = tmp_path / "big.html"
    write_html(path, comparison, decide(comparison, parse_policy(GATE)), base, head)
    open_page(browser, path.as_uri())
    assert len(rows(browser)) == 200
    assert rows(browser)[0] == "c00000"  # regressed cases first
    browser.find_element("id", "more").click()
    assert len(rows(browser)) == 400
    choose(browser, "f-status", "regressed")
    assert len(rows(browser)) == 150 and not browser.find_element("id", "more").is_displayed()
    count = browser.find_element("id", "count").text
    assert count.startswith("Showing 150 of 150 matching cases (1,500 in all)")
    # No spec: no section in its words, and no filter that could only say "any".
    assert browser.execute_script("return document.getElementById('spec')") is None
    assert not browser.find_element("id", "f-fm").is_displayed()
