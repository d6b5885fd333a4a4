"""The HTML report: one self-contained file that a browser opens offline, safe by construction.

The page is a fixed skeleton, the viewer's script and style inlined (``html_assets/``), and the
data as JSON in ``<script type="application/json" id="data">``. The script renders every string
of the data as text (``textContent``), never as markup. The JSON is escaped so that nothing in it
can end its script element or open a comment there (``<``, ``>`` and ``&`` as ``\\u003c`` etc.),
nor break a JavaScript string (U+2028, U+2029). A Content-Security-Policy allows only the inlined
script and style, by hash, and no network access at all: no fetch, image, font or frame.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

from ci_gate.atomic import write_chunks_atomic
from ci_gate.baseline.index import IndexEntry
from ci_gate.compare.model import Comparison
from ci_gate.gate.model import GateResult
from ci_gate.report.html_data import viewer_data
from ci_gate.results.model import Results

# Inside JSON these characters occur only in strings, where their \u escapes read back the same.
# str.replace, once per character: str.translate took seconds on a page of megabytes.
_JSON_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


@cache
def assets() -> tuple[str, str]:
    """The viewer's script and style, as shipped with ci-gate."""
    folder = resources.files("ci_gate.report").joinpath("html_assets")
    script = folder.joinpath("viewer.js").read_text("utf-8")
    style = folder.joinpath("viewer.css").read_text("utf-8")
    return script, style


def source_hash(text: str) -> str:
    """The CSP source expression that allows exactly this inline script or style."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(script: str, style: str) -> str:
    # default-src 'none' also forbids fetch/XHR/WebSocket (connect-src), fonts, frames, media.
    return (
        "default-src 'none'; "
        f"script-src {source_hash(script)}; "
        f"style-src {source_hash(style)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def embed_json(data: Mapping[str, Any]) -> str:
    """``data`` as JSON that is inert inside a ``<script type="application/json">`` element."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for char, escape in _JSON_ESCAPES:
        text = text.replace(char, escape)
    return text


_SKELETON = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<noscript><p class="noscript">This report is drawn by its inline script: allow JavaScript for
this file, or read report.md and report.json beside it.</p></noscript>
<main id="app"><p class="loading">Loading the report…</p></main>
<script type="application/json" id="data">"""

_TAIL = """</script>
<script>{script}</script>
</body>
</html>
"""


def page_chunks(data: Mapping[str, Any]) -> Iterator[str]:
    """The page, in pieces (the data can be tens of megabytes)."""
    script, style = assets()
    title = str(data.get("title") or "ci-gate report")
    yield _SKELETON.format(
        csp=html.escape(content_security_policy(script, style)),
        title=html.escape(title[:200]),
        style=style,
    )
    yield embed_json(data)
    yield _TAIL.format(script=script)


def render_html(data: Mapping[str, Any]) -> str:
    return "".join(page_chunks(data))


def write_html(
    path: str | os.PathLike[str],
    comparison: Comparison,
    gate: GateResult,
    base: Results,
    head: Results,
    *,
    history: Sequence[IndexEntry] | None = None,
    title: str | None = None,
    secrets: Sequence[str] | None = None,
) -> None:
    """Build the viewer's data and write the page atomically."""
    data = viewer_data(comparison, gate, base, head, history=history, title=title, secrets=secrets)
    write_chunks_atomic(path, page_chunks(data))
