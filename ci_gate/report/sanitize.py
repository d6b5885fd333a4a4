"""Make untrusted text safe for GitHub markdown, the Actions runner's stdout and JUnit XML.

Model outputs, case ids, PR titles and provider error messages can hold anything. Nothing here
trusts them: after the function for its destination, a piece of text cannot change the layout
of the document around it, ping a user or team, cross-reference an issue, forge ci-gate's
sticky-comment marker (an HTML comment), run a workflow command or make an XML file unreadable.

Choices that are not obvious:

* Mentions and references are neutralised with visible full-width look-alikes (``＠user``,
  ``＃123``, ``GH－123``) rather than invisible characters or backslashes: GitHub links them
  *after* rendering markdown, on the text, so a backslash escape does not stop them, and
  invisible characters are exactly what this module strips. ``a@b.com`` is left alone: GitHub
  never treats an ``@`` that follows a letter, digit or ``_`` as a mention.
* Bare URLs stay: GitHub shows the URL itself as the link text, so they cannot mislead.
* Lengths are counted in code points (``len`` of a ``str`` without surrogates), GitHub's unit
  for its 65,536-character comment limit; that many code points also stay within the 256 KiB
  (UTF-8) cap some users measured instead.
* Secrets: call :func:`ci_gate.report.masking.mask_secrets` first, then the function for the
  destination. Escaping
  would otherwise split a secret (``github_pat_`` becomes ``github\\_pat\\_``) so that masking no
  longer finds it, while the rendered text still shows it.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator

from ci_gate.errors import InternalError
from ci_gate.wellformed import wellformed

# --- Unicode hygiene ------------------------------------------------------------------------------

# Every line break Python's str.splitlines knows; .NET's ReadLine (the runner) splits on \r, \n.
_BREAKS_RE = re.compile("\r\n|[\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_WS_RUN_RE = re.compile("[ \t\n]*[\t\n][ \t\n]*")
_XML_ILLEGAL_RE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@functools.cache
def _invisible_re() -> re.Pattern[str]:
    """Control (Cc) and format (Cf) characters but tab, LF and CR, and U+FFFE/U+FFFF.

    Cf covers bidi overrides and isolates, zero-width characters, U+FEFF, the soft hyphen and the
    tag characters used to smuggle invisible ASCII. Built from ``unicodedata`` once (~0.2 s) so
    it follows Python's Unicode version instead of a hand-copied list.
    """
    ranges: list[str] = []
    start: int | None = None
    for cp in range(0x110001):
        bad = cp <= 0x10FFFF and (
            unicodedata.category(chr(cp)) in ("Cc", "Cf") or cp in (0xFFFE, 0xFFFF)
        )
        bad = bad and cp not in (0x09, 0x0A, 0x0D)
        if bad and start is None:
            start = cp
        elif not bad and start is not None:
            ranges.append(re.escape(chr(start)) + "-" + re.escape(chr(cp - 1)))
            start = None
    return re.compile("[" + "".join(ranges) + "]")


def _normalise(text: str) -> str:
    """Valid Unicode with ``\\n`` the only line break and no invisible characters but ``\\t``."""
    return _invisible_re().sub("", _BREAKS_RE.sub("\n", wellformed(text)))


def _one_line(text: str) -> str:
    return _WS_RUN_RE.sub(" ", _normalise(text)).strip()


# --- markdown, inline -----------------------------------------------------------------------------

_MENTION_RE = re.compile(r"(?<![A-Za-z0-9_])@(?=[A-Za-z0-9])")
_ISSUE_REF_RE = re.compile(r"#(?=\d)")
_GH_REF_RE = re.compile(r"(?<![A-Za-z0-9_])(gh)-(?=\d)", re.IGNORECASE)
# Block markers that matter only where the text starts a line: headings, lists, setext
# underlines. ``>`` is covered by ``&gt;``; ``#`` before a digit is already ``＃``.
_LEADING_MARKER_RE = re.compile(r"[#+=-]|\d{1,9}[.)]")

_MD_ESCAPES = {c: "\\" + c for c in "\\`*_[]|~$"}
_MD_ESCAPES.update({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


def _defuse_links(text: str) -> str:
    text = _MENTION_RE.sub("\uff20", text)
    text = _ISSUE_REF_RE.sub("\uff03", text)
    return _GH_REF_RE.sub("\\1\uff0d", text)


def _fit(tokens: Iterable[str], max_len: int) -> str:
    """Join whole tokens up to ``max_len`` characters, ending in "…" if any were left out."""
    if max_len < 1:
        raise InternalError(f"sanitize: max_len must be at least 1, got {max_len}")
    out: list[str] = []
    used = 0
    for token in tokens:
        if used + len(token) > max_len:
            break
        out.append(token)
        used += len(token)
    else:
        return "".join(out)
    while out and used + 1 > max_len:
        used -= len(out.pop())
    return "".join(out).rstrip() + "…"


def _markdown_tokens(text: str) -> Iterator[str]:
    marker = _LEADING_MARKER_RE.match(text)
    escape_at = marker.end() - 1 if marker else -1
    for i, char in enumerate(text):
        yield "\\" + char if i == escape_at else _MD_ESCAPES.get(char, char)


def inline(text: str, max_len: int = 200) -> str:
    """``text`` as one line of literal markdown, for a sentence or a table cell.

    Newlines and tabs become single spaces; invisible and control characters go; mentions and
    issue references are defused; markdown, HTML (and so HTML comments) and entities are escaped,
    ``|`` included so that tables hold. At most ``max_len`` characters, cut between escapes.
    Do not put the result inside a code span, where backslashes show; use :func:`code_block`.
    """
    return _fit(_markdown_tokens(_defuse_links(_one_line(text))), max_len)


def inline_html(text: str, max_len: int = 200) -> str:
    """``text`` as one line of literal text for inside an HTML element or attribute.

    Like :func:`inline`, but HTML-escaped and without backslashes: GitHub does not read markdown
    inside an HTML block (e.g. a ``<summary>`` line), so backslash escapes would show.
    """
    line = _defuse_links(_one_line(text))
    return _fit((_HTML_ESCAPES.get(c, c) for c in line), max_len)


# --- markdown, blocks -----------------------------------------------------------------------------

_BACKTICK_RUN_RE = re.compile("`+")
_LANG_RE = re.compile(r"[A-Za-z0-9_+.#-]{0,40}")


def _cut_lines(text: str, max_len: int) -> tuple[str, int]:
    """Keep at most ``max_len`` characters, ending on a line break unless that loses half."""
    if len(text) <= max_len:
        return text, 0
    newline = text.rfind("\n", 0, max_len)
    keep = newline + 1 if newline + 1 >= max_len // 2 and newline >= 0 else max_len
    return text[:keep], len(text) - keep


def code_block(text: str, max_len: int = 4000, lang: str = "") -> str:
    """``text`` verbatim in a fenced code block that nothing inside can close.

    The fence is one backtick longer than the longest backtick run inside (at least three).
    Invisible and control characters but tab and newline are removed. ``<!--`` becomes
    ``<!- -`` although GitHub shows it literally here: a tool that finds ci-gate's sticky comment
    by searching the raw body must not find a forged marker. Past ``max_len`` characters the
    text is cut, on a line boundary where possible, and a last line says how much was left out.
    """
    if not _LANG_RE.fullmatch(lang):
        raise InternalError(f"sanitize: code block language {lang!r} is not a plain word")
    if max_len < 1:
        raise InternalError(f"sanitize: max_len must be at least 1, got {max_len}")
    body, dropped = _cut_lines(_normalise(text).replace("<!--", "<!- -"), max_len)
    if dropped:
        body = body.rstrip("\n") + f"\n… ({dropped:,} more characters)"
    longest = max((len(run) for run in _BACKTICK_RUN_RE.findall(body)), default=0)
    fence = "`" * max(3, longest + 1)
    if body and not body.endswith("\n"):
        body += "\n"
    return f"{fence}{lang}\n{body}{fence}"


def details(summary: str, body_markdown: str) -> str:
    """A collapsed ``<details>`` block; ``body_markdown`` must already be safe markdown."""
    body = body_markdown.strip("\n")
    return f"<details><summary>{inline_html(summary)}</summary>\n\n{body}\n\n</details>"


_DIFF_INPUT_LIMIT = 50_000  # difflib is quadratic at worst; nobody reads further anyway


def diff_block(old: str, new: str, max_len: int = 4000) -> str:
    """A ``diff`` code block from ``old`` (baseline) to ``new``: by word for one-line texts."""
    a = _normalise(old)[:_DIFF_INPUT_LIMIT]
    b = _normalise(new)[:_DIFF_INPUT_LIMIT]
    if a == b:
        same = "identical" if old == new else "differ only in invisible or control characters"
        return code_block(f"  (the texts {same})", max_len, lang="diff")
    if "\n" not in a.strip("\n") and "\n" not in b.strip("\n"):
        lines = _word_diff(a.split(), b.split())
    else:
        lines = list(
            difflib.unified_diff(
                a.splitlines(), b.splitlines(), "baseline", "candidate", lineterm=""
            )
        )
    return code_block("\n".join(lines), max_len, lang="diff")


def _word_diff(a: list[str], b: list[str]) -> list[str]:
    lines: list[str] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            lines.append("  " + " ".join(a[i1:i2]))
            continue
        if i2 > i1:
            lines.append("- " + " ".join(a[i1:i2]))
        if j2 > j1:
            lines.append("+ " + " ".join(b[j1:j2]))
    return lines


# --- markdown, whole documents --------------------------------------------------------------------

_FENCE_OPEN_RE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_FENCE_CLOSE_RE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*")
_DETAILS_OPEN_RE = re.compile(r"<details(?=[\s>])", re.IGNORECASE)
_DETAILS_CLOSE_RE = re.compile(r"</details\s*>", re.IGNORECASE)


def cap_markdown(text: str, limit: int, note: str) -> str:
    """``text`` if it fits in ``limit`` characters, else its longest safe head plus ``note``.

    The head ends on a line boundary; a fenced code block or ``<details>`` blocks open there are
    closed before ``note`` is appended. The result, note included, never exceeds ``limit``.
    """
    if len(text) <= limit:
        return text
    # Remember where the best cut is and build the head once: copying it at every line made
    # cutting a 1 MB summary take seconds.
    best_pos, best_closers = 0, ""
    fence: tuple[str, int] | None = None
    depth = 0
    pos = 0
    for line in text.split("\n")[:-1]:
        pos += len(line) + 1
        if pos + 1 + len(note) > limit:
            break
        fence, depth = _scan_line(line.rstrip("\r"), fence, depth)
        closers = (fence[0] * fence[1] + "\n" if fence else "") + "\n</details>\n" * depth
        if pos + len(closers) + 1 + len(note) <= limit:
            best_pos, best_closers = pos, closers
    if not best_pos and not best_closers:
        return note[: max(limit, 0)]
    return f"{text[:best_pos]}{best_closers}\n{note}"


def _scan_line(
    line: str, fence: tuple[str, int] | None, depth: int
) -> tuple[tuple[str, int] | None, int]:
    """The (open fence, open ``<details>`` count) after ``line``, by CommonMark's fence rules."""
    if fence is not None:
        close = _FENCE_CLOSE_RE.fullmatch(line)
        if close and close.group(1)[0] == fence[0] and len(close.group(1)) >= fence[1]:
            return None, depth
        return fence, depth
    opening = _FENCE_OPEN_RE.fullmatch(line)
    if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
        return (opening.group(1)[0], len(opening.group(1))), depth
    depth += len(_DETAILS_OPEN_RE.findall(line))
    return None, max(0, depth - len(_DETAILS_CLOSE_RE.findall(line)))


# --- the Actions runner ---------------------------------------------------------------------------

_COMMAND_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_PROPERTY_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def log_line(text: str, max_len: int = 500) -> str:
    """``text`` as one stdout line that the Actions runner cannot read as a workflow command.

    The runner (actions/runner ``ActionCommand``) takes a line as a command if, after .NET's
    ``TrimStart`` (Unicode whitespace), it starts with ``::``, or if it contains the legacy
    ``##[`` anywhere. Line breaks become spaces, leading whitespace goes, a leading ``::`` becomes
    ``：:`` and every ``##[`` becomes ``#＃[``. Control characters (hence ANSI escapes) go too.
    """
    line = _one_line(text).replace("##[", "#\uff03[")
    if line.startswith("::"):
        line = "\uff1a" + line[1:]
    if max_len < 1:
        raise InternalError(f"sanitize: max_len must be at least 1, got {max_len}")
    if len(line) > max_len:
        line = line[: max_len - 1].rstrip() + "…"
    return line


def _escape_data(value: str) -> str:
    return _normalise(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def workflow_command(name: str, message: str, /, **properties: str | int | None) -> str:
    """One workflow command line, e.g. ``::error file=a.py,line=3::message``.

    ``message`` and the property values are escaped by the runner's rules (``%``, CR and LF,
    plus ``:`` and ``,`` in properties), so they can hold anything, newlines included; properties
    given as ``None`` are left out.
    """
    if not _COMMAND_NAME_RE.fullmatch(name):
        raise InternalError(f"sanitize: {name!r} is not a workflow command name")
    pairs: list[str] = []
    for key, value in properties.items():
        if value is None:
            continue
        if not _PROPERTY_KEY_RE.fullmatch(key):
            raise InternalError(f"sanitize: {key!r} is not a workflow command property name")
        pairs.append(f"{key}={_escape_property(str(value))}")
    head = f"::{name} {','.join(pairs)}" if pairs else f"::{name}"
    return f"{head}::{_escape_data(message)}"


# --- JUnit XML ------------------------------------------------------------------------------------


def xml_clean(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids; for writers that escape themselves."""
    return _XML_ILLEGAL_RE.sub("", wellformed(text, replacement=""))


def xml_text(text: str) -> str:
    """``text`` for XML element content or a quoted attribute value: cleaned and escaped.

    XML parsers turn tabs and line breaks in attribute values into spaces; in content they stay.
    """
    cleaned = xml_clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return cleaned.replace('"', "&quot;").replace("'", "&apos;")
