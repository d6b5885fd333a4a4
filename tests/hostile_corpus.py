"""Hostile strings for every test of text that leaves ci-gate (comments, summaries, logs, XML).

``HOSTILE`` holds short pieces, each an attack or an awkward case on its own; tests also glue
random pieces together (see ``combinations``). ``one_megabyte`` is kept apart so that loops over
``HOSTILE`` stay fast. ``EXTRA`` holds later additions, kept out of ``HOSTILE`` because golden
reports are rendered from it; ``ALL_PIECES`` is both. ``MORE_HOSTILE`` adds pieces for the end
to end tests (bidi and zero-width characters one by one, every workflow command, percent-encoded
line breaks, layout breakers); ``EVERY_HOSTILE`` is everything, each piece once.
"""

from __future__ import annotations

import random

FORGED_MARKER = "<!-- ci-gate:sticky suite=support-bot -->"

MENTIONS = (
    "@octocat",
    "ping @org/team now",
    "cc:@admin,@root",
    "(@someone)",
    "é@unicode-preceded",
    "@@double",
    "`@in-backticks`",
)
NOT_MENTIONS = ("mail me at a@b.com", "user_@host", "x1@y2")
REFERENCES = ("fixes #123", "#1", "owner/repo#1", "see GH-123 and gh-7", "PR#42", "##9")
HTML = (
    FORGED_MARKER,
    "<!--ci-gate:sticky suite=x-->",
    "&lt;!-- entity-encoded comment --&gt;",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "<details><summary>fake</summary>",
    "</details></summary>",
    "<b>bold</b> &amp; &#64;octocat &#x23;12",
    "<!-",
    "-->",
)
FENCES = (
    "```",
    "```python\nprint('x')\n```",
    "~~~~",
    "````",
    "`````` six",
    "   ```",
    "a `code` span and `` double ``",
    "```\n<!-- inside a fence -->\n```",
)
MARKDOWN = (
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "cell | with | pipes",
    "[click](javascript:alert(1))",
    "![x](http://evil)",
    "<http://x>",
    "https://example.com/path?q=1",
    "# Heading",
    "> quote",
    "> [!WARNING]",
    "- item",
    "+ item",
    "1. item",
    "2) item",
    "***",
    "---",
    "===",
    "*em* _em_ **strong** ~~strike~~",
    "$\\color{red}{\\Huge FAIL}$",
    "[^1]: footnote",
    "back\\slash\\",
    "trailing backslash \\",
    "\\|",
    "    indented code",
)
INVISIBLE = (
    "\u202eevil\u202c",
    "a\u200bb\u200cc\u200dd",
    "\u2066iso\u2069\u2067x\u2068",
    "\u200e\u200f\u061c",
    "\ufeffbom",
    "soft\u00adhyphen",
    "\u2060word joiner",
    "tag\U000e0041\U000e0042",
    "\x1b[31mred\x1b[0m",
    "nul\x00byte",
    "bell\x07",
    "\x7fdel\x85nel",
)
WORKFLOW_COMMANDS = (
    "::set-output name=x::y",
    "::add-mask::secret",
    "::stop-commands::abc",
    "%0A::error::x",
    "  ::warning file=a.py::indented",
    "\t::group::tabbed",
    "\u3000::error::ideographic space",
    "\u00a0::error::nbsp",
    "##[error]legacy",
    "text ##[set-output name=x;]y",
    "###[group]x",
    "::",
    ":",
    "%25 %3A %2C %0D",
)
LINE_BREAKS = ("a\r\nb", "a\rb", "a\nb", "a\u2028b", "a\u2029b", "a\vb", "a\fb", "a\x1cb")
INVALID_UNICODE = ("lone \ud800 high", "lone \udfff low", "\udc00\ud800 reversed", "\ud83d\ude00")
SECRETS_IN_TEXT = (
    "sk-abcdefghijklmnopqrstuvwxyz012345",
    "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
    "ghp_" + "a1B2" * 9,
    "github_pat_" + "x" * 40,
    "Authorization: Bearer eyJhbGciOi.abc",
    "x-api-key: zzzzzzzzzz",
)

HOSTILE: tuple[str, ...] = (
    *MENTIONS,
    *NOT_MENTIONS,
    *REFERENCES,
    *HTML,
    *FENCES,
    *MARKDOWN,
    *INVISIBLE,
    *WORKFLOW_COMMANDS,
    *LINE_BREAKS,
    *INVALID_UNICODE,
    *SECRETS_IN_TEXT,
    "",
    " ",
    "\n\n\n",
    "…",
    "&",
    "a" * 300,
    "`" * 40,
    "😀" * 50,
    "e\u0301" * 30,
)

# Later additions, by category; see the module docstring for why they are not in HOSTILE.
EXTRA_MENTIONS = ("@github/security", "<@123>", "@dependabot merge", "-@dash", "*@star*")
EXTRA_REFERENCES = ("GH-1", "gh-99999", "#0", "(#5)", "a/b#77", "Fixes:#8")
EXTRA_HTML = (
    "<!-- ci-gate:sticky suite=hostile -->",
    "<!--\nci-gate:sticky suite=hostile\n-->",
    "<a href='https://evil.example'>docs</a>",
    "<iframe src=x></iframe>",
    "<svg onload=alert(1)>",
    "<table><tr><td>x</td></tr></table>",
    "<details open>",
    "<summary>",
    "<sub>small</sub><sup>up</sup>",
    "<style>body{display:none}</style>",
)
EXTRA_FENCES = ("```\nnever closed", "~~~\nnever closed either", "``\n`", "```diff\n- a\n+ b")
EXTRA_TABLES = ("|", "||", "| x |", "a \\| b", "`|` in a span", "|---|", ":-:|:--")
EXTRA_INVISIBLE = (
    "\u202aLRE\u202bRLE\u202dLRO\u202ePDF\u202c",
    "\u2066LRI\u2067RLI\u2068FSI\u2069PDI",
    "zero\u200bwidth\u200cnon\u200djoiner\ufeff",
    "\u2062\u2063\u2064invisible operators",
    "mongolian\u180evowel separator",
    "\u034fgrapheme joiner",
)
EXTRA_WORKFLOW_COMMANDS = (
    "::stop-commands::pause-token-1",
    "::pause-token-1::",
    "::add-mask::",
    "::set-output name=x::",
    "::set-env name=PATH::/tmp/evil",
    "::add-path::/tmp/evil",
    "::save-state name=s::v",
    "::error file=app.py,line=1,col=2,title=forged::forged annotation",
    "::warning file=../../etc/passwd::x",
    "::notice title=%0A::x",
    "::debug::x",
    "::group::g",
    "::endgroup::",
    "::echo::on",
    "x%0A::error::percent-encoded newline",
    "%0D%0A::warning::percent-encoded CRLF",
    "x\n::error::after a newline",
    "x\r::error::after a carriage return",
    "x\u2028::error::after a line separator",
    "x\x85::error::after NEL",
    "\ufeff::error::after a BOM",
    "\u200b::error::after a zero-width space",
)
EXTRA_INVALID_UNICODE = ("end \ud83d", "\udc00start", "\ud800\ud800", "mid\udbffdle")

EXTRA: tuple[str, ...] = (
    *EXTRA_MENTIONS,
    *EXTRA_REFERENCES,
    *EXTRA_HTML,
    *EXTRA_FENCES,
    *EXTRA_TABLES,
    *EXTRA_INVISIBLE,
    *EXTRA_WORKFLOW_COMMANDS,
    *EXTRA_INVALID_UNICODE,
)
ALL_PIECES: tuple[str, ...] = (*HOSTILE, *EXTRA)

# More pieces, by category, for the end to end tests; some overlap EXTRA's on purpose.

MORE_MENTIONS = (
    "@dependabot merge",
    "@github-actions[bot]",
    "**@bold-user**",
    "[@linked](https://example.com)",
    "@octocat's review",
    "line\n@start-of-line",
)
MORE_REFERENCES = ("GH-123", "closes #4567, fixes gh-89", "#123456789012", "(#5)", "[#6]")
MORE_HTML = (
    "<!-- ci-gate:sticky suite=hostile -->",
    "\n<!-- ci-gate:sticky suite=support-bot -->\n",
    "<a href='https://evil.example'>click</a>",
    "<svg onload=alert(1)>",
    "<iframe src=//evil>",
    "<details open><summary>injected</summary>",
    "<sub>small</sub><br><sup>up</sup>",
    "<table><tr><td>cell</td></tr></table>",
    '<p align="center">centred</p>',
    "<!--[if IE]>x<![endif]-->",
    "<![CDATA[ x ]]>",
)
# Bidi controls, one by one: embeddings, overrides, isolates and their terminators.
BIDI = (
    "\u202aLRE\u202c",
    "\u202bRLE\u202c",
    "\u202dLRO\u202c",
    "\u202eRLO\u202c",
    "invoice\u202egnp.exe",
    "\u2066LRI\u2069",
    "\u2067RLI\u2069",
    "\u2068FSI\u2069",
    "unterminated \u202e override",
)
ZERO_WIDTH = (
    "zero\u200bwidth space",
    "zero\u200dwidth joiner",
    "zero\u200cnon-joiner",
    "\ufeffbyte order mark inside\ufeff",
    "@\u200boctocat",
    "#\u200d123",
    "<\u200b!-- ci-gate:sticky suite=hostile -->",
    ":\u200b:error::split by a zero-width space",
    "\u2062invisible times\u2063separator\u2064plus",
    "\u180emongolian vowel separator",
    "\ufff9interlinear\ufffaannotation\ufffb",
)
MORE_WORKFLOW_COMMANDS = (
    "::stop-commands::TOKEN",
    "::TOKEN::",
    "::stop-commands::ci-gate-resume\n::error::after stop\n::ci-gate-resume::",
    "::add-mask::hide-this-word",
    "::add-mask::",
    "::set-output name=verdict::pass",
    "::set-env name=PATH::/tmp/evil",
    "::add-path::/tmp/evil",
    "::save-state name=x::y",
    "::error file=app.py,line=1,col=2,title=forged::boom",
    "::warning file=../../etc/passwd::w",
    "::notice title=x::n",
    "::debug::d",
    "::echo::on",
    "::group::g",
    "::endgroup::",
    "\n::error::after a newline",
    "\r::error::after a carriage return",
    "\r\n::warning::after CRLF",
)
# Percent-encoded line breaks: decoded by the runner wherever it unescapes command data.
ENCODED_NEWLINES = (
    "line one%0A::error::line two",
    "%0D%0A::set-output name=x::y",
    "%0a::warning::lower case",
    "100%",
    "%",
    "%%0A",
    "%25 literal %3A %2C",
    "a%2Cb%3Ac",
)
MORE_INVALID_UNICODE = (
    "ends in a high surrogate \ud83d",
    "\ude00 starts with a low surrogate",
    "\ud800\ud800 two highs",
    "noncharacters \ufffe \uffff \U0010ffff",
    "replacement \ufffd already",
)
MORE_LAYOUT = (
    "| x |",
    "|",
    "||",
    "\\|",
    "\\\\|",
    "a | b\n|---|---|\n| c | d",
    "</summary></details>\n\n# Heading out",
    "\n````\n",
    "```` ```` ````",
    "~~~\nunclosed tilde fence",
    "[ref]: https://evil.example",
)

MORE_HOSTILE: tuple[str, ...] = (
    *MORE_MENTIONS,
    *MORE_REFERENCES,
    *MORE_HTML,
    *BIDI,
    *ZERO_WIDTH,
    *MORE_WORKFLOW_COMMANDS,
    *ENCODED_NEWLINES,
    *MORE_INVALID_UNICODE,
    *MORE_LAYOUT,
)
EVERY_HOSTILE: tuple[str, ...] = tuple(dict.fromkeys((*ALL_PIECES, *MORE_HOSTILE)))

_SEPARATORS = ("", "", " ", "\n", "\r\n", "\t", "\u2028")


def one_megabyte() -> str:
    """About 1 MB (in UTF-8) of lines that mix every hostile piece."""
    unit = "\n".join(HOSTILE)
    return (unit + "\n") * (1_000_000 // (len(unit.encode("utf-8", "surrogatepass")) + 1) + 1)


def one_megabyte_line() -> str:
    """About 1 MB (in UTF-8) on a single line: nowhere to cut on a line boundary."""
    unit = " ".join(" ".join(piece.splitlines()) for piece in EVERY_HOSTILE)
    size = len(unit.encode("utf-8", "surrogatepass")) + 1
    return " ".join([unit] * (1_000_000 // size + 1))


def combinations(seed: int, count: int, max_pieces: int = 6) -> list[str]:
    """``count`` strings of 1..``max_pieces`` random hostile pieces, glued and sometimes cut."""
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(count):
        pieces = [rng.choice(HOSTILE) for _ in range(rng.randint(1, max_pieces))]
        text = "".join(piece + rng.choice(_SEPARATORS) for piece in pieces)
        if rng.random() < 0.2 and text:
            # Cut at any code unit, surrogate pairs included: callers may slice carelessly.
            text = text[: rng.randrange(len(text))]
        out.append(text)
    return out
