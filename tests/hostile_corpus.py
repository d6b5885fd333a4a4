"""Hostile strings for every test of text that leaves ci-gate (comments, summaries, logs, XML).

``HOSTILE`` holds short pieces, each an attack or an awkward case on its own; tests also glue
random pieces together (see ``combinations``). ``one_megabyte`` is kept apart so that loops over
``HOSTILE`` stay fast.
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

_SEPARATORS = ("", "", " ", "\n", "\r\n", "\t", "\u2028")


def one_megabyte() -> str:
    """About 1 MB (in UTF-8) of lines that mix every hostile piece."""
    unit = "\n".join(HOSTILE)
    return (unit + "\n") * (1_000_000 // (len(unit.encode("utf-8", "surrogatepass")) + 1) + 1)


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
