"""Masking secrets in text that leaves ci-gate: keys and tokens, as given and as a report writes
them (markdown and HTML escapes), token-shaped strings, and the parts of a secret a quote cut
short. See :mod:`ci_gate.report.sanitize` for why masking comes before escaping.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ci_gate.report.sanitize import _HTML_ESCAPES, _MD_ESCAPES, _defuse_links, _invisible_re

_MASK = "***"
_TOKEN_RES = (
    # OpenAI sk-… and sk-proj-…, Anthropic sk-ant-…; not the "sk-" inside "task-…".
    re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}"),
    re.compile(r"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
    re.compile(r"(?<![A-Za-z0-9])AKIA[0-9A-Z]{16}(?![A-Za-z0-9])"),
    re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}"),
)
_KEYED_RES = (
    re.compile(
        r"""(\b(?:authorization|proxy-authorization)["']?\s*[:=]\s*["']?"""
        r"(?:(?:bearer|basic|token)\s+)?)[^\s\"',;]+",
        re.IGNORECASE,
    ),
    re.compile(
        r"""(\b(?:x-api-key|api-key|x-goog-api-key|api_key|apikey)["']?\s*[:=]\s*["']?)"""
        r"[^\s\"',;&]+",
        re.IGNORECASE,
    ),
    re.compile(r"(\bbearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE),
    re.compile(r"(://)[^/\s:@]+:[^/\s@]+(?=@)"),  # user:password@ in URLs
)


# What is left of a secret that a quote cut short before it was masked (``'ghs_1a2b3c…'``) still
# gives part of it away: a start of it this long before an ellipsis, or an end of it after one, is
# masked too. Only at an ellipsis: a secret's last characters may well be "00000000".
_CUT_SECRET_MIN = 8
_CUT_BEFORE_RE = re.compile("(?:…|\\.\\.\\.)['\"]?$")


def _cut_secret_spans(text: str, secret: str) -> Iterator[tuple[int, int]]:
    """Where ``text`` holds a start of ``secret`` cut short by an ellipsis, or an end of it that
    follows one, ``_CUT_SECRET_MIN`` characters or more."""
    head, tail = secret[:_CUT_SECRET_MIN], secret[-_CUT_SECRET_MIN:]
    at = text.find(head)
    while at >= 0:
        end = at + len(head)
        while end < len(text) and end - at < len(secret) and text[end] == secret[end - at]:
            end += 1
        if text.startswith(("…", "..."), end):
            yield at, end
        at = text.find(head, end)
    at = text.find(tail)
    while at >= 0:
        start, known = at, len(secret) - len(tail)
        while start > 0 and known > 0 and text[start - 1] == secret[known - 1]:
            start, known = start - 1, known - 1
        if _CUT_BEFORE_RE.search(text, max(0, start - 4), start):
            yield start, at + len(tail)
        at = text.find(tail, at + 1)


def _mask_cut_secrets(text: str, values: Iterable[str]) -> str:
    spans = sorted(
        span for v in values if len(v) > _CUT_SECRET_MIN for span in _cut_secret_spans(text, v)
    )
    out: list[str] = []
    pos = 0
    for start, end in spans:
        if start >= pos:
            out.append(text[pos:start] + _MASK)
        pos = max(pos, end)  # an overlapping span extends the mask already written
    return "".join(out) + text[pos:]


def _written_forms(secret: str) -> set[str]:
    """``secret`` as it is, and as :func:`inline` and :func:`inline_html` write it: a report
    already rendered still shows a secret that its escapes hide from a plain search."""
    forms = {secret}
    for plain in (secret, _defuse_links(secret)):
        forms.add("".join(_MD_ESCAPES.get(c, c) for c in plain))
        forms.add("".join(_HTML_ESCAPES.get(c, c) for c in plain))
    return forms


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value (four characters or more) and token-shaped string masked,
    and the start or end of a secret cut short by a quote (eight characters or more). A secret is
    also found as markdown or HTML escapes write it, for text rendered before it was masked.

    Invisible and control characters but tab, CR and LF are removed first: the other functions
    here remove them too, and would otherwise join a secret split by one after masking missed it.
    """
    text = _invisible_re().sub("", text)
    values = sorted(
        {form for s in secrets if len(s) >= 4 for form in _written_forms(s)}, key=len, reverse=True
    )
    if values:
        text = re.sub("|".join(re.escape(v) for v in values), _MASK, text)
        text = _mask_cut_secrets(text, values)
    for token_re in _TOKEN_RES:
        text = token_re.sub(_MASK, text)
    for keyed_re in _KEYED_RES:
        text = keyed_re.sub(r"\1" + _MASK, text)
    return text
