"""Hiding credentials in text ci-gate shows: known secret values and key-shaped strings.

Kept apart from ``http_errors`` (and its HTTP libraries) because scorers and subprocess targets
scrub their messages too, and ``ci-gate validate`` loads those without making any request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

EXCERPT_CHARS = 200

# Shapes of keys and credentials worth hiding even when we do not know the exact value.
_KEY_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{4,}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=\-]+"),
    re.compile(r"(?i)\bbasic\s+[A-Za-z0-9+/=]{8,}"),
    re.compile(r"\b(?:ghp|gho|ghs|ghu|github_pat)_[A-Za-z0-9_]{8,}"),
    re.compile(
        r"(?i)((?:api[_-]?key|x-api-key|authorization|token|secret|password)[\"']?\s*[:=]\s*[\"']?)"
        r"[^\s\"',;}]+"
    ),
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SECRET_ENV_NAME = re.compile(r"(?i)(key|token|secret|password|passwd|credential|auth)")
# Shortest secret value we replace verbatim; shorter strings would mangle ordinary text.
_MIN_SECRET_LEN = 4


def secret_env_values(env: Mapping[str, str]) -> list[str]:
    """Values of environment variables whose names say they hold a credential."""
    return [v for k, v in env.items() if _SECRET_ENV_NAME.search(k) and len(v) >= _MIN_SECRET_LEN]


def _known(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if len(s) >= _MIN_SECRET_LEN}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` on one line with known secrets and key-like strings replaced by ``***``."""
    text = _known(text, secrets)
    for pattern in _KEY_PATTERNS:
        text = pattern.sub(_mask, text)
    return _CONTROL.sub(" ", text).strip()


def _mask(match: re.Match[str]) -> str:
    prefix = match.group(1) if match.groups() else ""
    return f"{prefix}***"


def excerpt(text: str, secrets: Iterable[str] = (), limit: int = EXCERPT_CHARS) -> str:
    """A scrubbed, single-line excerpt of at most ``limit`` characters."""
    # Cut generously before scrubbing (a key split at the cut would escape the patterns), then
    # cut to size after. Known secrets go before the cut: the start of one cut in two matches
    # nothing, and squeezing control characters can bring it into the excerpt.
    secrets = tuple(secrets)
    clean = scrub(_known(text, secrets)[: limit * 4], secrets)
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."
