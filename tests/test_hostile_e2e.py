"""Hostile text end to end: a suite whose every free-text field and every model output is hostile,
run as a baseline and as a pull request that regresses, through ``ci-gate action`` against the
fake GitHub. The posted comment, the job summary, the outputs file and the job log are then read
back by the rules GitHub and the Actions runner apply to them.

Nothing is mocked: the outputs come from the suite's ``fake`` target, a ``python`` scorer of the
suite writes hostile messages (lone surrogates included, which YAML cannot hold), and the comment
is what the fake GitHub stored.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest

from ci_gate.publish.sticky import COMMENT_LIMIT, marker
from tests.action_world import StepResult, World, git, open_world
from tests.fakes.github_server import WRITE_TOKEN
from tests.hostile_corpus import (
    EVERY_HOSTILE,
    MORE_WORKFLOW_COMMANDS,
    one_megabyte,
    one_megabyte_line,
)
from tests.test_report_html import inert_page

SUITE = "evals/hostile.yaml"
SUITE_NAME = "hostile"
SCORER = "hostile_e2e_scorer"
NEEDLE = "ZZ-REGRESSED"
# Case ids may only use [A-Za-z0-9_.:/-], which still spells workflow commands, references,
# list markers and paths.
CASE_IDS = (
    "::stop-commands::TOKEN",
    "::TOKEN::",
    "::add-mask::id",
    "::error::id",
    "::warning::id",
    "::notice::id",
    "::set-output",
    "::group::id",
    "::endgroup::",
    "::",
    "-",
    "--",
    "---",
    "1.",
    "..",
    "/",
    "//evil.example/x",
    "../../etc/passwd",
    "_em_",
    "__strong__",
    "GH-123",
    "gh-7",
    "a::b",
    "0.1.0",
)
SCORER_SOURCE = '''\
"""Fails an output that regressed, with a message as hostile as the output it quotes."""


def check(output, context):
    if "ZZ-REGRESSED" not in output:
        return True
    message = (
        "lone \\ud800 and \\udfff surrogates, @octocat, #12, <!-- ci-gate:sticky suite=hostile -->"
        " ::error::from a scorer %0A::add-mask::x \\u202e"
    )
    return {"pass": False, "score": 0.0, "message": message + output[-80:]}
'''

# --- writing the suite ----------------------------------------------------------------------------

# Characters a YAML stream may not hold raw (or that it reads as line breaks): written as escapes.
_YAML_RAW_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def _no_surrogates(text: str) -> str:
    return "".join(c for c in text if not 0xD800 <= ord(c) <= 0xDFFF)


def _yaml(document: object) -> str:
    """``document`` as YAML (JSON is YAML), escaping what a YAML stream cannot hold raw."""
    text = json.dumps(document, ensure_ascii=False, indent=1)
    return _YAML_RAW_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _pieces() -> list[str]:
    """Every hostile piece YAML can carry (lone surrogates come from the scorer instead)."""
    return [p for p in dict.fromkeys(_no_surrogates(p) for p in EVERY_HOSTILE) if p.strip()]


def hostile_suite() -> tuple[dict[str, object], int]:
    """The suite, and how many distinct hostile strings it holds."""
    pieces = _pieces()
    n = len(CASE_IDS)
    base: dict[str, str] = {}
    head: dict[str, str] = {}
    cases: list[dict[str, object]] = []
    used: set[str] = set(CASE_IDS)
    for i, case_id in enumerate(CASE_IDS):
        mine = pieces[i::n]  # every piece lands in some case
        used.update(mine)
        text = "\n".join(mine)
        needle = f"{NEEDLE}-{i} {MORE_WORKFLOW_COMMANDS[i % len(MORE_WORKFLOW_COMMANDS)]}"
        used.add(needle)
        base[case_id] = text
        head[case_id] = f"{text}\n{needle}"
        cases.append(
            {
                "id": case_id,
                "vars": {"question": mine[0], "context": {mine[-1]: mine[1:3]}},
                "tags": [mine[0], mine[-1]] if mine[0] != mine[-1] else [mine[0]],
                "expected": mine[1] if len(mine) > 1 else mine[0],
                "assert": [
                    {
                        "type": "not-contains",
                        "name": mine[0],
                        "description": mine[-1],
                        "value": [needle],
                    },
                    {
                        "type": "python",
                        "name": f"scorer {mine[-1]}",
                        "value": f"{SCORER}:check",
                    },
                ],
            }
        )
    # A megabyte in the baseline's output, and a megabyte on one line in this run's.
    base[CASE_IDS[0]] = _no_surrogates(one_megabyte())
    head[CASE_IDS[0]] = f"{base[CASE_IDS[0]]}\n{NEEDLE}-0 ::stop-commands::TOKEN"
    head[CASE_IDS[1]] = f"{_no_surrogates(one_megabyte_line())} {NEEDLE}-1 ::TOKEN::"
    used.update((base[CASE_IDS[0]], head[CASE_IDS[0]], head[CASE_IDS[1]]))
    suite: dict[str, object] = {
        "ci_gate": 1,
        "name": SUITE_NAME,
        "description": "".join(pieces[:20]),
        "targets": [
            {"id": "bot", "provider": "fake", "outputs": base},
            {"id": "bot-bad", "provider": "fake", "outputs": head},
        ],
        "default_target": "bot",
        "cases": cases,
        "gate": {
            "min_cases": 10,
            "bootstrap": {"resamples": 200, "seed": 1},
            "quality": {"pass_rate": {"max_drop": "5pt"}},
        },
    }
    return suite, len(used) + 1  # + the scorer's message


# --- what GitHub and the runner make of text ------------------------------------------------------

_FENCE_OPEN = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_FENCE_CLOSE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*")
_BACKTICKS = re.compile(r"(\\*)(`+)")
# GitHub links @login (and @org/team) when the @ does not follow a letter, digit or underscore.
MENTION = re.compile(r"(?<![A-Za-z0-9_])@[A-Za-z0-9]")
# #123 (also owner/repo#123) and GH-123 link to issues; &#39; is an entity, not a reference.
REFERENCE = re.compile(r"(?<![A-Za-z0-9_&])#\d|(?<![A-Za-z0-9_])gh-\d", re.IGNORECASE)
TAG = re.compile(r"<(/?[A-Za-z][A-Za-z0-9-]*)")
OWN_TAGS = {"details", "/details", "summary", "/summary", "sub", "/sub", "br"}
SEPARATOR_ROW = re.compile(r"\|(:?-+:?\|)+")


def outside_fences(markdown: str) -> tuple[list[str], bool]:
    """The lines outside fenced code blocks (CommonMark's rules), and whether all were closed."""
    outside: list[str] = []
    fence: tuple[str, int] | None = None
    for line in markdown.split("\n"):
        if fence is None:
            opening = _FENCE_OPEN.fullmatch(line)
            if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
                fence = (opening.group(1)[0], len(opening.group(1)))
            else:
                outside.append(line)
            continue
        close = _FENCE_CLOSE.fullmatch(line)
        if close and close.group(1)[0] == fence[0] and len(close.group(1)) >= fence[1]:
            fence = None
    return outside, fence is None


def without_code_spans(line: str) -> str:
    """``line`` with its code spans removed: a backtick run opens one, the next run of the same
    length closes it; a backslash escapes the first backtick of a run."""
    runs: list[tuple[int, int, int]] = []  # (start, end, length) of unescaped runs
    for m in _BACKTICKS.finditer(line):
        start, length = m.start(2), len(m.group(2))
        if len(m.group(1)) % 2:
            start, length = start + 1, length - 1
        if length:
            runs.append((start, m.end(2), length))
    out, pos, i = [], 0, 0
    while i < len(runs):
        start, _, length = runs[i]
        close = next((j for j in range(i + 1, len(runs)) if runs[j][2] == length), None)
        if close is None:
            i += 1
            continue
        out.append(line[pos:start])
        pos = runs[close][1]
        i = close + 1
    out.append(line[pos:])
    return "".join(out)


def unescaped_pipes(row: str) -> int:
    return sum(1 for m in re.finditer(r"(\\*)\|", row) if len(m.group(1)) % 2 == 0)


def controls(text: str) -> list[str]:
    """Control and format characters (bidi, zero-width, BOM, tags...) but newline and tab."""
    found = {c for c in text if c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cf")}
    return sorted(f"U+{ord(c):04X}" for c in found)


def markdown_problems(markdown: str) -> list[str]:
    """What in ``markdown`` would ping, link an issue, render as HTML or break the layout."""
    problems: list[str] = []
    try:
        markdown.encode("utf-8")
    except UnicodeEncodeError:
        problems.append("lone surrogates (GitHub refuses the body)")
    if controls(markdown) or "\r" in markdown:
        problems.append(f"control characters {controls(markdown) or ['CR']}")
    outside, closed = outside_fences(markdown)
    if not closed:
        problems.append("a fenced code block is left open")
    prose = "\n".join(without_code_spans(line) for line in outside)
    problems += [f"mention {m!r}" for m in MENTION.findall(prose)[:5]]
    problems += [f"reference {m!r}" for m in REFERENCE.findall(prose)[:5]]
    problems += [f"HTML tag <{t}>" for t in sorted(set(TAG.findall(prose)) - OWN_TAGS)]
    for tag in ("details", "summary", "sub"):
        depth = 0
        for m in re.finditer(rf"<(/?){tag}[\s>]", prose):
            depth += -1 if m.group(1) else 1
            if depth < 0:
                problems.append(f"</{tag}> closes nothing")
                depth = 0
        if depth:
            problems.append(f"<{tag}> left open")
    for table in tables(outside):
        if len(table) < 2 or not SEPARATOR_ROW.fullmatch(table[1].replace(" ", "")):
            problems.append(f"a table without its separator row: {table[0][:80]!r}")
        elif {unescaped_pipes(row) for row in table} != {unescaped_pipes(table[0])}:
            problems.append(f"a table whose rows have other cells than its header: {table[:3]}")
    return problems


def tables(lines: list[str]) -> list[list[str]]:
    found: list[list[str]] = []
    table: list[str] = []
    for line in [*lines, ""]:
        if line.startswith("|"):
            table.append(line)
        elif table:
            found.append(table)
            table = []
    return found


def assert_safe_markdown(markdown: str) -> None:
    assert markdown_problems(markdown) == []
    assert len(tables(outside_fences(markdown)[0])) >= 2  # the report's own tables were checked


_COMMAND = re.compile(r"::([A-Za-z][A-Za-z0-9_-]*)(?: ([^:]*))?::(.*)")
_DATA_ESCAPE = re.compile(r"%(?!25|0D|0A)")
_PROPERTY_ESCAPE = re.compile(r"%(?!25|0D|0A|3A|2C)")
Command = tuple[str, dict[str, str], str]


def unescape(value: str) -> str:
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        value = value.replace(code, char)
    return value


def read_log(log: str, secrets: tuple[str, ...]) -> tuple[list[Command], list[str]]:
    """The workflow commands the runner would run from ``log``, and the problems: a command that
    is not one ci-gate writes, data or a property left unescaped, a mask of anything but a
    secret, the legacy ``##[`` syntax."""
    commands: list[Command] = []
    problems: list[str] = []
    for line in log.splitlines():
        if "##[" in line:  # the legacy syntax counts anywhere in a line
            problems.append(f"legacy command: {line[:120]!r}")
        stripped = line.lstrip()  # .NET's TrimStart: Unicode whitespace
        if not stripped.startswith("::"):
            continue
        m = _COMMAND.fullmatch(line)  # ci-gate writes its own at the start of the line
        if m is None or m.group(1) not in ("add-mask", "error", "warning", "notice"):
            problems.append(f"not a command ci-gate writes: {line[:120]!r}")
            continue
        name, raw_props, data = m.group(1), m.group(2) or "", m.group(3)
        if name == "add-mask" and data not in secrets:
            problems.append(f"a mask of something else than a secret: {line[:120]!r}")
        if _DATA_ESCAPE.search(data):
            problems.append(f"unescaped %: {line[:120]!r}")
        props: dict[str, str] = {}
        for pair in filter(None, raw_props.split(",")):
            key, _, value = pair.partition("=")
            if key not in ("file", "line", "col", "title") or _PROPERTY_ESCAPE.search(value):
                problems.append(f"a bad property {pair[:80]!r}")
            props[key] = unescape(value)
        commands.append((name, props, unescape(data)))
    return commands, problems


def workflow_commands(log: str, secrets: tuple[str, ...]) -> list[Command]:
    commands, problems = read_log(log, secrets)
    assert problems == []
    return commands


@pytest.mark.parametrize(
    ("markdown", "problem"),
    [
        ("ping @octocat", "mention"),
        ("`code` and then @octocat", "mention"),
        ("fixes #12", "reference"),
        ("see GH-7", "reference"),
        ("```\nopen fence", "left open"),
        ("<img src=x onerror=alert(1)>", "HTML tag"),
        ("<details><summary>x</summary>", "<details> left open"),
        ("</details>", "closes nothing"),
        ("| a | b |\n|---|---|\n| 1 | 2 | 3 |", "other cells"),
        ("| a | b |\n| 1 | 2 |", "separator"),
        ("bidi \u202e override", "control"),
        ("zero\u200bwidth", "control"),
        ("lone \ud800", "surrogates"),
    ],
)
def test_the_markdown_checks_catch_what_they_look_for(markdown: str, problem: str) -> None:
    assert any(problem in p for p in markdown_problems(markdown)), markdown_problems(markdown)


def test_the_markdown_checks_accept_what_github_leaves_alone() -> None:
    fine = (
        "`@octocat` and ``#12`` in code spans, mail a@b.com, &#39;, ＠octocat, ＃12\n\n"
        "```\n@octocat #12 <img> | x |\n```\n\n"
        "| a | b \\| c |\n|---|---|\n| 1 | 2 |\n\n<details><summary>x</summary>\n\ny\n\n</details>"
    )
    assert markdown_problems(fine) == []


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("::stop-commands::x", "not a command"),
        ("  ::error::indented", "not a command"),
        ("\u3000::set-output name=x::y", "not a command"),
        ("x ##[error]y", "legacy"),
        ("::error title=a:b::x", "not a command"),
        ("::error title=a%b::x", "bad property"),
        ("::error::100%", "unescaped %"),
        ("::add-mask::anything", "a mask"),
    ],
)
def test_the_log_checks_catch_what_they_look_for(line: str, problem: str) -> None:
    _, problems = read_log(f"ci-gate: fine\n{line}\n", ("SECRET",))
    assert any(problem in p for p in problems), problems


def test_the_log_checks_read_commands_as_the_runner_does() -> None:
    log = "::add-mask::SECRET\nan ::error::in the middle\n::error file=a,title=R%3A x::m %25%0A\n"
    commands, problems = read_log(log, ("SECRET",))
    assert problems == []
    assert commands[1] == ("error", {"file": "a", "title": "R: x"}, "m %\n")


# --- the story ------------------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with open_world(tmp_path) as w:
        yield w


def _step(w: World, capfd: pytest.CaptureFixture[str], env: dict[str, str]) -> StepResult:
    capfd.readouterr()
    result = w.step(env)
    out, err = capfd.readouterr()  # the run's progress, anything printed past the step's stream
    result.log += out + err
    return result


def test_hostile_outputs_names_and_ids_cannot_escape_the_comment_summary_or_log(
    world: World, capfd: pytest.CaptureFixture[str]
) -> None:
    w = world
    suite, tried = hostile_suite()
    (w.work / SUITE).write_text(_yaml(suite), "utf-8")
    (w.work / "evals" / f"{SCORER}.py").write_text(SCORER_SOURCE, "utf-8")
    w.commit("main", "a suite of hostile text")
    git(w.work, "push", "--quiet", "origin", w.default_branch)
    assert tried > len(_pieces()) > 180

    main = w.shas["main"]
    w.checkout(main)
    event = w.push_event("push/with-new-branch.payload.json", "refs/heads/master", main)
    refresh = _step(w, capfd, w.env("push", event, main, "refs/heads/master", suite=SUITE))
    assert refresh.code == 0, refresh.log[-3000:]
    workflow_commands(refresh.log, (WRITE_TOKEN,))

    # The pull request switches the suite to the target whose every output regressed.
    w.branch("feature", main)
    text = (w.work / SUITE).read_text("utf-8")
    (w.work / SUITE).write_text(
        text.replace('"default_target": "bot"', '"default_target": "bot-bad"'), "utf-8"
    )
    head = w.commit("pr", "the regressed bot")
    event = w.pull_event("pull_request/opened.payload.json", 2, head, main)
    w.gh.seed_from_event(event)
    w.checkout(head)
    result = _step(w, capfd, w.env("pull_request", event, head, "refs/pull/2/merge", suite=SUITE))
    assert result.code == 1, result.log[-3000:]
    assert result.outputs["verdict"] == "fail"

    # The comment: one, ci-gate's, its marker the only one, and inert.
    bodies = [c.body for c in w.gh.comments(w.owner, w.name, 2)]
    assert len(bodies) == 1
    body = bodies[0]
    assert len(body) <= COMMENT_LIMIT
    assert body.split("\n", 1)[0] == marker(SUITE_NAME)
    assert body.count("<!--") == 1  # forged markers in outputs were broken up
    assert_safe_markdown(body.split("\n", 1)[1])
    # The hostile text is shown, defused, not dropped.
    assert f"{NEEDLE}-" in body and "＠octocat" in body and "Newly failing cases (24)" in body
    assert "::stop-commands::TOKEN" in body
    # Every output changed: no diff may call two outputs identical, not even a megabyte long
    # one that changed only at its end.
    assert "the texts identical" not in body and f"+ {NEEDLE}-0 ::stop-commands::TOKEN" in body

    # The job summary: the same report, no marker at all, within the runner's 1 MiB.
    assert "Newly failing cases" in result.summary
    assert "<!--" not in result.summary
    assert len(result.summary.encode("utf-8")) <= 1024 * 1024
    assert_safe_markdown(result.summary)

    # The log: only ci-gate's own commands, their data escaped; annotations name the case ids.
    commands = workflow_commands(result.log, (WRITE_TOKEN,))
    errors = [(props, data) for name, props, data in commands if name == "error"]
    assert 1 <= len(errors) <= 10
    titles = {props["title"] for props, _ in errors}
    assert titles <= {f"Regression: {case_id}" for case_id in CASE_IDS}, titles
    assert all(props["file"] == SUITE for props, _ in errors)
    assert any(NEEDLE in data for _, data in errors)

    # The step's outputs, read back by the runner's rules: one line each, as ci-gate wrote them.
    assert result.outputs["verdict"] == "fail"
    assert "\n" not in result.outputs["summary"]
    report = (w.work / result.outputs["report-path"]).read_text("utf-8")
    assert_safe_markdown(report)
    folder = (w.work / result.outputs["report-path"]).parent
    assert json.loads((folder / "report.json").read_text("utf-8"))
    assert ElementTree.parse(folder / "junit.xml").getroot().get("failures") is not None
    # report.html: the hostile text only inside its escaped JSON block, the rest ci-gate's own.
    page = (w.work / result.outputs["html-path"]).read_text("utf-8")
    data = inert_page(page)
    assert set(CASE_IDS) <= {c["id"] for c in data["cases"]}
    block = page.index('id="data">')
    outside = page[:block] + page[page.index("</script>", block) :]
    assert [p for p in _pieces() if "<" in p and p in outside] == []
    print(f"hostile strings tried: {tried}")
