"""Text that any UTF-8 file, hash or HTTP body can hold.

Python strings may carry lone surrogates (``"\\ud800"`` decoded from a model's JSON, a YAML escape,
a Python target's return value). No UTF-8 encoder accepts them, so one such character in a model's
output would otherwise crash the writing of a results file. ci-gate replaces them with U+FFFD
where untrusted text enters a run, and everywhere it renders text for people.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def has_surrogates(text: str) -> bool:
    return _SURROGATE_RE.search(text) is not None


def wellformed(text: str, replacement: str = "\ufffd") -> str:
    """Join surrogate pairs into one code point; replace (or, with "", drop) lone surrogates."""
    if not has_surrogates(text):
        return text
    raw = text.encode("utf-16-le", "surrogatepass")
    return raw.decode("utf-16-le", "replace" if replacement else "ignore")


def wellformed_json(value: Any) -> Any:
    """``value`` with every string in it (keys too) made well-formed; others unchanged."""
    if isinstance(value, str):
        return wellformed(value)
    if isinstance(value, Mapping):
        return {wellformed(str(k)): wellformed_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [wellformed_json(v) for v in value]
    return value
