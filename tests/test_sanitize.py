from __future__ import annotations

import html as html_module
import random
import re
import time
import unicodedata
import xml.etree.ElementTree as ET

import pytest

from ci_gate.errors import InternalError
from ci_gate.report.masking import mask_secrets
from ci_gate.report.sanitize import (
    cap_markdown,
    code_block,
    details,
    diff_block,
    inline,
    inline_html,
    log_line,
    workflow_command,
    xml_clean,
    xml_text,
)
from tests.hostile_corpus import FORGED_MARKER, HOSTILE, combinations, one_megabyte

# --- independent oracles: what GitHub and the runner would see ------------------------------------

_MD_META = set("\\`*_[]|~$")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def visible(md: str) -> str:
    """The text an inline() result renders to; fails on anything that would be markup."""
    out: list[str] = []
    i = 0
    while i < len(md):
        char = md[i]
        if char == "\\":
            assert i + 1 < len(md), f"dangling backslash in {md!r}"
            assert md[i + 1] in _MD_META or md[i + 1] in "#+=-.)", md
            out.append(md[i + 1])
            i += 2
        elif char == "&":
            entity = re.match(r"&(amp|lt|gt);", md[i:])
            assert entity, f"bare & in {md!r}"
            out.append(_ENTITIES[entity.group(1)])
            i += entity.end()
        else:
            assert char not in _MD_META and char not in "<>", f"unescaped {char!r} in {md!r}"
            out.append(char)
            i += 1
    return "".join(out)


def assert_no_links(text: str) -> None:
    assert not re.search(r"(?<![A-Za-z0-9_])@[A-Za-z0-9]", text), text
    assert not re.search(r"#\d", text), text
    assert not re.search(r"(?<![A-Za-z0-9_])gh-\d", text, re.IGNORECASE), text


def assert_no_invisible(text: str, allowed: str = "") -> None:
    bad = [c for c in text if unicodedata.category(c) in _INVISIBLE_CATEGORIES and c not in allowed]
    assert not bad, (bad, text)


def check_inline(text: str, max_len: int) -> str:
    out = inline(text, max_len)
    assert len(out) <= max_len
    assert_no_invisible(out)
    assert "<" not in out and "\n" not in out
    assert not re.match(r"[\s#+=>-]|\d{1,9}[.)]", out), out
    seen = visible(out)
    assert_no_links(seen)
    full = inline(text, 10**9)
    if len(full) > max_len:
        assert out.endswith("…")
        assert visible(full).startswith(visible(out[:-1]))
    else:
        assert out == full
    return out


def fence_lines(block: str) -> tuple[str, list[str]]:
    lines = block.split("\n")
    opening = re.fullmatch(r"(`{3,})[A-Za-z0-9_+.#-]*", lines[0])
    assert opening, block[:80]
    fence = opening.group(1)
    assert lines[-1] == fence
    for line in lines[1:-1]:
        assert max((len(r) for r in re.findall("`+", line)), default=0) < len(fence), line
    return fence, lines[1:-1]


_DOTNET_WHITESPACE = "".join(
    chr(c)
    for c in range(0x3001)
    if unicodedata.category(chr(c)) in ("Zs", "Zl", "Zp") or chr(c) in "\t\n\v\f\r\x85\xa0"
)


def runner_reads_command(line: str) -> bool:
    """actions/runner ActionCommand.TryParseV2 and the legacy TryParse, as far as they match."""
    return line.lstrip(_DOTNET_WHITESPACE).startswith("::") or "##[" in line


def runner_parse(line: str) -> tuple[str, dict[str, str], str]:
    """A port of TryParseV2 plus its unescaping, to read workflow_command() back."""
    message = line.lstrip(_DOTNET_WHITESPACE)
    assert message.startswith("::")
    end = message.index("::", 2)
    info = message[2:end]
    name, _, props_text = info.partition(" ")
    props: dict[str, str] = {}
    for prop in filter(None, props_text.strip().split(",")):
        pair = [p for p in prop.split("=", 1) if p]
        if len(pair) == 2:
            value = pair[1]
            for token, escaped in (("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C")):
                value = value.replace(escaped, token)
            props[pair[0]] = value.replace("%25", "%")
    data = message[end + 2 :]
    for token, escaped in (("\r", "%0D"), ("\n", "%0A"), ("%", "%25")):
        data = data.replace(escaped, token)
    return name, props, data


def markdown_balance(doc: str) -> tuple[bool, int]:
    """(inside an open fence at the end, open <details> count), by CommonMark's fence rules."""
    fence: tuple[str, int] | None = None
    depth = 0
    for line in doc.split("\n"):
        if fence:
            close = re.fullmatch(r" {0,3}(`+|~+)[ \t]*", line)
            if close and close.group(1)[0] == fence[0] and len(close.group(1)) >= fence[1]:
                fence = None
            continue
        opening = re.fullmatch(r" {0,3}(`{3,}|~{3,})(.*)", line)
        if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            fence = (opening.group(1)[0], len(opening.group(1)))
            continue
        depth += len(re.findall(r"<details[\s>]", line)) - line.count("</details>")
        assert depth >= 0, doc
    return fence is not None, depth


def strip_closers(head: str) -> str:
    """``head`` without the fence and ``</details>`` lines cap_markdown may have appended."""
    while head.endswith("\n</details>\n"):
        head = head[: -len("\n</details>\n")]
    head = re.sub(r"(?:^|(?<=\n))(?:`{3,}|~{3,})\n$", "", head)
    assert head == "" or head.endswith("\n"), head[-80:]
    return head


# --- inline ---------------------------------------------------------------------------------------


def test_inline_defuses_mentions_and_references_visibly() -> None:
    assert inline("Hi @user and @org/team, see #123, o/r#1 and GH-12") == (
        "Hi ＠user and ＠org/team, see ＃123, o/r＃1 and GH－12"
    )


def test_inline_leaves_email_addresses_alone() -> None:
    assert inline("mail me at a@b.com or user_@host") == "mail me at a@b.com or user\\_@host"


def test_inline_escapes_html_so_no_comment_or_tag_survives() -> None:
    assert inline(FORGED_MARKER) == "&lt;!-- ci-gate:sticky suite=support-bot --&gt;"
    assert inline("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert inline("&lt;!-- x --&gt;") == "&amp;lt;!-- x --&amp;gt;"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a|b", "a\\|b"),
        ("[click](javascript:alert(1))", "\\[click\\](javascript:alert(1))"),
        ("![x](http://evil)", "!\\[x\\](http://evil)"),
        ("*em* _u_ ~s~ `c` $m$ \\", "\\*em\\* \\_u\\_ \\~s\\~ \\`c\\` \\$m\\$ \\\\"),
        ("# Heading", "\\# Heading"),
        ("  - item", "\\- item"),
        ("12. item", "12\\. item"),
        ("2) item", "2\\) item"),
        ("> quote", "&gt; quote"),
        ("===", "\\==="),
    ],
)
def test_inline_escapes_markdown(text: str, expected: str) -> None:
    assert inline(text) == expected


def test_inline_collapses_line_breaks_and_drops_invisible_characters() -> None:
    assert inline("one\r\ntwo\n\n\tthree\u2028four") == "one two three four"
    assert inline("\u202eevil\u202c a\u200bb\ufeff soft\u00adhyphen \x1b[31m") == (
        "evil ab softhyphen \\[31m"
    )


def test_inline_replaces_lone_surrogates_and_joins_pairs() -> None:
    assert inline("x\ud800y \ud83d\ude00") == "x\ufffdy \U0001f600"


def test_inline_truncates_between_escapes() -> None:
    assert inline("a" * 300) == "a" * 199 + "…"
    assert inline("&" * 300, max_len=10) == "&amp;…"
    assert inline("|" * 10, max_len=6) == "\\|\\|…"
    with pytest.raises(InternalError):
        inline("x", max_len=0)


def test_inline_html_escapes_for_html_blocks_without_backslashes() -> None:
    assert inline_html("<b a=\"1\">*x*</b> '@me' #1") == (
        "&lt;b a=&quot;1&quot;&gt;*x*&lt;/b&gt; &#39;＠me&#39; ＃1"
    )


def test_inline_handles_a_megabyte_quickly() -> None:
    big = one_megabyte()
    start = time.perf_counter()
    out = inline(big, 200)
    assert time.perf_counter() - start < 1.0
    assert len(out) <= 200 and out.endswith("…")
    assert_no_links(visible(out[:-1]))
    assert_no_invisible(out)


# --- code blocks, details, diffs ------------------------------------------------------------------


def test_code_block_keeps_text_verbatim() -> None:
    assert code_block("a\n  b\tc @me #1 *x*", lang="text") == "```text\na\n  b\tc @me #1 *x*\n```"
    assert code_block("") == "```\n```"


def test_code_block_fence_outgrows_any_backtick_run() -> None:
    block = code_block("x\n````\n```` y `````` z\n~~~~")
    fence, inner = fence_lines(block)
    assert fence == "`" * 7
    assert inner == ["x", "````", "```` y `````` z", "~~~~"]


def test_code_block_breaks_html_comments_and_strips_invisible() -> None:
    block = code_block(f"{FORGED_MARKER}\n<!\u200b--x-->\r\n\u202eend\x00")
    assert "<!--" not in block
    assert block == "```\n<!- - ci-gate:sticky suite=support-bot -->\n<!- -x-->\nend\n```"


def test_code_block_cuts_on_a_line_boundary() -> None:
    assert code_block("line\n" * 100, max_len=30) == (
        "```\n" + "line\n" * 6 + "… (470 more characters)\n```"
    )
    assert code_block("x" * 100, max_len=10) == "```\n" + "x" * 10 + "\n… (90 more characters)\n```"


def test_code_block_rejects_a_language_that_could_escape_the_fence() -> None:
    with pytest.raises(InternalError):
        code_block("x", lang="py\n<script>")


def test_details_escapes_the_summary_for_html() -> None:
    assert details("Case @x <b>*", "body\n") == (
        "<details><summary>Case ＠x &lt;b&gt;*</summary>\n\nbody\n\n</details>"
    )


def test_diff_block_single_line_is_by_word() -> None:
    assert diff_block("The capital is Paris.", "The capital is Lyon.") == (
        "```diff\n  The capital is\n- Paris.\n+ Lyon.\n```"
    )


def test_diff_block_multi_line_is_unified() -> None:
    assert diff_block("a\nb\nc\n", "a\r\nB\r\nc\r\n") == (
        "```diff\n--- baseline\n+++ candidate\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n```"
    )


def test_diff_block_says_when_nothing_visible_changed() -> None:
    assert "identical" in diff_block("same", "same")
    assert "invisible" in diff_block("same", "sa\u200bme")


def test_diff_block_stays_fast_and_bounded_on_huge_inputs() -> None:
    big = one_megabyte()
    start = time.perf_counter()
    block = diff_block(big, big.replace("@", "at"), max_len=4000)
    assert time.perf_counter() - start < 5.0
    _, inner = fence_lines(block)
    assert len("\n".join(inner)) <= 4000 + 40


# --- log lines and workflow commands --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "::set-output name=x::y",
        "  ::warning::indented",
        "\u3000\u00a0::error::unicode spaces",
        "\n::add-mask::secret",
        "\u200b::error::zero width",
        "ok\n::stop-commands::abc",
        "x ##[set-output name=x;]y",
        "###[group]x",
    ],
)
def test_log_line_is_never_a_workflow_command(text: str) -> None:
    out = log_line(text)
    assert not runner_reads_command(out)
    assert "\n" not in out and "\r" not in out


def test_log_line_keeps_ordinary_text_and_truncates() -> None:
    assert log_line("case  greeting\tpassed") == "case  greeting passed"
    assert log_line("::error::x") == "：:error::x"
    assert log_line("\x1b[31mred\x1b[0m") == "[31mred[0m"
    assert log_line("y" * 600) == "y" * 499 + "…"


def test_workflow_command_escapes_message_and_properties() -> None:
    line = workflow_command("error", "a%0A::error::x\nnext", file="a:b,c.py", line=3, col=None)
    assert line == "::error file=a%3Ab%2Cc.py,line=3::a%250A::error::x%0Anext"
    assert runner_parse(line) == (
        "error",
        {"file": "a:b,c.py", "line": "3"},
        "a%0A::error::x\nnext",
    )


def test_workflow_command_takes_a_name_property() -> None:
    assert workflow_command("set-output", "v", name="x") == "::set-output name=x::v"


@pytest.mark.parametrize(("name", "key"), [("err or", "file"), ("::x", "file"), ("error", "a=b")])
def test_workflow_command_rejects_bad_names(name: str, key: str) -> None:
    with pytest.raises(InternalError):
        workflow_command(name, "m", **{key: "v"})


# --- XML ------------------------------------------------------------------------------------------


def test_xml_text_parses_back_as_element_text_and_attribute() -> None:
    raw = "a\x00<b>&\"'\ud800 \ufffe\x1b end\U0001f600 \ud83d\ude00"
    assert xml_clean(raw) == "a<b>&\"' \x1b end\U0001f600 \U0001f600".replace("\x1b", "")
    doc = ET.fromstring(f'<t m="{xml_text(raw)}">{xml_text(raw)}</t>')
    assert doc.text == xml_clean(raw)
    assert doc.get("m") == xml_clean(raw)


# --- secrets --------------------------------------------------------------------------------------


def test_mask_secrets_masks_values_longest_first() -> None:
    assert mask_secrets("k=abcdef and abcd and ab", ["abcd", "abcdef", "ab", ""]) == (
        "k=*** and *** and ab"
    )


def test_mask_secrets_masks_token_shapes() -> None:
    text = (
        "sk-abcdefghijklmnopqrstuv sk-ant-api03-abcdefghijklmnop ghp_"
        + "a" * 36
        + " github_pat_"
        + "b" * 30
        + " Authorization: Bearer abc.def X-Api-Key: zzzz https://u:p@h/ AKIAABCDEFGHIJKLMNOP"
    )
    assert mask_secrets(text, []) == (
        "*** *** *** *** Authorization: Bearer *** X-Api-Key: *** https://***@h/ ***"
    )


def test_mask_secrets_leaves_look_alikes() -> None:
    text = "task-abcdefghijklmnopqrstu a@b.com sk-short Bearer"
    assert mask_secrets(text, []) == text


def test_mask_secrets_sees_through_invisible_characters() -> None:
    secret = "s3cr3t-value"
    masked = mask_secrets("leak: s3cr\u200b3t-val\x00ue", [secret])
    assert masked == "leak: ***"
    assert secret not in inline(masked) and secret not in log_line(masked)


# --- cap_markdown ---------------------------------------------------------------------------------

NOTE = "_Report cut at 60,000 characters; the full report is in the job summary._"


def test_cap_markdown_returns_short_text_unchanged() -> None:
    assert cap_markdown("short\n```\nopen", 100, NOTE) == "short\n```\nopen"


def test_cap_markdown_closes_open_fence_and_details() -> None:
    doc = "# R\n" + details("case", code_block("line\n" * 50)) + "\nafter\n"
    capped = cap_markdown(doc, 120, "_cut_")
    assert capped == (
        "# R\n<details><summary>case</summary>\n\n```\n"
        + "line\n" * 11
        + "```\n\n</details>\n\n_cut_"
    )
    assert len(capped) <= 120


def test_cap_markdown_with_a_note_longer_than_the_limit_cuts_the_note() -> None:
    assert cap_markdown("x\n" * 100, 10, NOTE) == NOTE[:10]


def test_cap_markdown_never_exceeds_the_limit() -> None:
    rng = random.Random(7)
    pieces = combinations(seed=11, count=200)
    for _ in range(300):
        doc = "\n".join(
            rng.choice(
                [
                    inline(p),
                    code_block(p, max_len=300),
                    details(p, code_block(p, max_len=100)),
                    details(p, details(p, inline(p))),
                    diff_block(p, p[::-1], max_len=200),
                ]
            )
            for p in rng.sample(pieces, 8)
        )
        limit = rng.randint(0, len(doc) + 10)
        capped = cap_markdown(doc, limit, NOTE)
        assert len(capped) <= limit
        in_fence, depth = markdown_balance(capped)
        assert not in_fence and depth == 0, capped
        if len(doc) > limit and len(capped) > len(NOTE):
            assert capped.endswith("\n" + NOTE)
            assert doc.startswith(strip_closers(capped[: -len(NOTE) - 1]))


def test_cap_markdown_on_a_large_report() -> None:
    doc = "\n\n".join(details(f"case {i}", code_block(p)) for i, p in enumerate(HOSTILE * 60))
    start = time.perf_counter()
    capped = cap_markdown(doc, 65_536, NOTE)
    assert time.perf_counter() - start < 2.0
    assert len(doc) > 65_536 >= len(capped) > 60_000
    assert markdown_balance(capped) == (False, 0)


# --- every function against random hostile combinations -------------------------------------------


def test_property_random_hostile_combinations() -> None:
    rng = random.Random(2024)
    for text in combinations(seed=2024, count=2_000):
        max_len = rng.choice([1, 2, 5, 20, 200])
        check_inline(text, max_len)

        html = inline_html(text, max_len)
        assert len(html) <= max_len and not re.search("[<>\"']", html)
        assert_no_links(html_module.unescape(html))

        block = code_block(text, max_len=rng.choice([1, 50, 4000]), lang="text")
        _, inner = fence_lines(block)
        assert_no_invisible("".join(inner), allowed="\t")
        assert "<!--" not in block

        line = log_line(text, max_len=rng.choice([1, 3, 500]))
        assert not runner_reads_command(line)
        assert_no_invisible(line)

        command = workflow_command("warning", text, title=text, file="x.py")
        assert "\n" not in command and "\r" not in command
        name, props, data = runner_parse(command)
        assert name == "warning" and props.get("title", "") == data and props["file"] == "x.py"
        assert_no_invisible(data, allowed="\t\n")
        odd_space = re.search("[^\\S\t\n ]|[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)
        if not odd_space and not any(unicodedata.category(c) in {"Cf", "Cs"} for c in text):
            assert data == text  # nothing to drop: the runner reads back exactly the text

        ET.fromstring(f'<t m="{xml_text(text)}">{xml_text(text)}</t>')
        assert mask_secrets(text, ["@octocat"]).count("@octocat") == 0
