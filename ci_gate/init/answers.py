"""What ``ci-gate init`` needs to know, and the check of every single answer.

The same checks serve both ways of answering: on a terminal an invalid answer is asked again
with the reason, from flags it is a usage error naming the flag. Each check returns the cleaned
value or raises ``InvalidAnswer`` whose text is the reason alone (no "where"): the caller knows
where the answer came from.
"""

from __future__ import annotations

import difflib
import json
import re
import shlex
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args
from urllib.parse import urlsplit

from ci_gate.errors import UsageError
from ci_gate.suite.build import OPTION_DEFAULTS
from ci_gate.suite.model import SEVERITIES, Behaviour, FailureMode, ProviderKind, Severity

TARGET_KINDS: tuple[str, ...] = get_args(ProviderKind)
KIND_HELP: Mapping[str, str] = {
    "openai": "an OpenAI-compatible Chat Completions endpoint (OpenAI, vLLM, Ollama, gateways)",
    "anthropic": "the Anthropic Messages API",
    "http": "your own JSON service",
    "command": "a program: the request as JSON on stdin, the answer on stdout",
    "python": "a function in your code, module:function",
    "fake": "canned demo answers, offline: try ci-gate before wiring your product",
}
MODEL_KINDS = ("openai", "anthropic")
DEFAULT_MODEL: Mapping[str, str] = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-3-5-haiku-latest",
}
# What the suite loader fills in when a model target leaves them out.
DEFAULT_BASE_URL: Mapping[str, str] = {k: OPTION_DEFAULTS[k]["base_url"] for k in MODEL_KINDS}
DEFAULT_KEY_ENV: Mapping[str, str] = {k: OPTION_DEFAULTS[k]["api_key_env"] for k in MODEL_KINDS}
DEFAULT_SYSTEM = "You are a helpful assistant. Answer briefly and correctly."
DEFAULT_BODY: Mapping[str, Any] = {"input": "{{ vars.input }}"}
DEFAULT_OUTPUT_PATH = "output"
DEFAULT_SEVERITY: Severity = "medium"
MIN_EXAMPLES_ASKED = 3
MAX_TEXT = 2000
_KEPT = frozenset("\t\u200c\u200d")  # tab, zero-width non-joiner and joiner
MAX_ENV_NAME = 40  # longer is more likely a pasted key than a variable's name

_SUITE_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
_SPEC_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_ENV_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FUNCTION_RE = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*"
)
_OUTPUT_PATH_RE = re.compile(r"[^.\s]+(\.[^.\s]+)*")
_FAILURE_RE = re.compile(r"\s*([^\s(:]+)\s*(?:\(\s*([^)]*?)\s*\))?\s*:\s*(.*)", re.DOTALL)
_LINK_RE = re.compile(r"\s*(\d+)\s*:\s*(.*)", re.DOTALL)


class InvalidAnswer(UsageError):
    """One answer that cannot be used; the text is the reason, said to the person answering.

    ``suggestion`` is a valid answer close to the invalid one (the slug of a name with spaces),
    offered as the default when the question is asked again.
    """

    def __init__(self, reason: str, suggestion: str | None = None) -> None:
        super().__init__(reason)
        self.suggestion = suggestion


@dataclass(frozen=True)
class TargetAnswer:
    """The target and its settings; only the keys of ``kind`` are set."""

    kind: str
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    system: str | None = None
    url: str | None = None
    body: Mapping[str, Any] | None = None
    output_path: str | None = None
    command: tuple[str, ...] = ()
    function: str | None = None
    folder: str | None = None  # relative to the repository root, as the user thinks of it


@dataclass(frozen=True)
class Example:
    text: str
    must_contain: str | None = None
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answers:
    name: str
    goal: str | None
    target: TargetAnswer
    examples: tuple[Example, ...]
    behaviours: tuple[Behaviour, ...]
    failure_modes: tuple[FailureMode, ...]


# --- single answers ---------------------------------------------------------------------------


def check_text(value: str, what: str) -> str:
    """Free text kept in the suite: one line of printable characters."""
    text = value.strip()
    if not text:
        raise InvalidAnswer(f"{what} is empty")
    if len(text) > MAX_TEXT:
        raise InvalidAnswer(f"{what} is {len(text)} characters long; keep it under {MAX_TEXT}")
    for char in text:
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise InvalidAnswer(f"{what} is not valid text (undecodable bytes)")
        # Format characters include bidi overrides that make text read otherwise than it is;
        # the joiners inside emoji and some scripts' words are kept.
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") and char not in _KEPT:
            raise InvalidAnswer(f"{what} holds the control character U+{ord(char):04X}")
    return text


def slug(text: str, fallback: str = "") -> str:
    """``How long do I have?`` -> ``how-long-do-i-have``: a name made of what the text says."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return "-".join(words) or fallback


def check_suite_name(value: str) -> str:
    name = check_text(value, "the name")
    if not _SUITE_NAME_RE.fullmatch(name):
        suggestion = slug(name)
        hint = f"; try {suggestion!r}" if suggestion else ""
        raise InvalidAnswer(
            f"{name!r} is not a suite name: use letters, digits, '_', '.' or '-'{hint}",
            suggestion or None,
        )
    return name


def check_spec_name(value: str, what: str = "the name") -> str:
    name = check_text(value, what)
    if not _SPEC_NAME_RE.fullmatch(name):
        suggestion = slug(name)
        hint = f"; try {suggestion!r}" if suggestion else ""
        raise InvalidAnswer(
            f"{name!r} is not a name: start with a letter or digit, then use letters, digits,"
            f" '_', '.' or '-'{hint}",
            suggestion or None,
        )
    return name


def check_severity(value: str) -> Severity:
    text = value.strip().lower()
    for severity in SEVERITIES:
        if text == severity:
            return severity
    raise InvalidAnswer(f"{value.strip()!r} is not a severity: say low, medium, high or critical")


def check_kind(value: str) -> str:
    text = value.strip().lower()
    if text.isdigit() and 1 <= int(text) <= len(TARGET_KINDS):
        return TARGET_KINDS[int(text) - 1]
    if text in TARGET_KINDS:
        return text
    raise InvalidAnswer(
        f"{value.strip()!r} is not a target kind: say one of {', '.join(TARGET_KINDS)}"
    )


def check_model(value: str) -> str:
    model = check_text(value, "the model")
    if any(c.isspace() for c in model):
        raise InvalidAnswer(f"{model!r} is not a model name: it has spaces")
    return model


def check_url(value: str, what: str = "the URL") -> str:
    url = check_text(value, what)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidAnswer(f"{url!r} is not an http:// or https:// URL")
    return url


def check_env_name(value: str) -> str:
    """The NAME of the variable holding a key. Never quoted back: a user who pasted the key
    itself must not find it in the error, the terminal's history or a CI log."""
    name = check_text(value, "the variable name")
    if not _ENV_RE.fullmatch(name) or len(name) > MAX_ENV_NAME:
        raise InvalidAnswer(
            "that is not an environment variable name (letters, digits and '_', e.g."
            " OPENAI_API_KEY): give the NAME of the variable that holds the key, never the key"
        )
    return name


def check_function(value: str) -> str:
    function = check_text(value, "the function")
    if not _FUNCTION_RE.fullmatch(function):
        raise InvalidAnswer(f"{function!r} is not module:function (e.g. support_bot.app:answer)")
    return function


def check_command(value: str) -> tuple[str, ...]:
    text = check_text(value, "the command")
    try:
        argv = tuple(shlex.split(text))
    except ValueError as exc:
        raise InvalidAnswer(f"the command cannot be split into words: {exc}") from None
    if not argv:
        raise InvalidAnswer("the command is empty")
    return argv


def check_body(value: str) -> Mapping[str, Any]:
    text = check_text(value, "the body template")
    try:
        body = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(
            f"the body template is not JSON: {exc.msg} at column {exc.colno}"
        ) from None
    if not isinstance(body, dict):
        raise InvalidAnswer(
            'the body template must be a JSON object, e.g. {"q": "{{ vars.input }}"}'
        )
    return body


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


def check_output_path(value: str) -> str:
    path = check_text(value, "the output path")
    if not _OUTPUT_PATH_RE.fullmatch(path):
        raise InvalidAnswer(f"{path!r} is not a dotted path such as answer.text or choices.0.text")
    return path


def check_folder(value: str) -> str:
    folder = check_text(value, "the folder")
    if folder.startswith(("/", "\\")) or re.match(r"[A-Za-z]:[\\/]", folder):
        raise InvalidAnswer(f"{folder!r} is absolute; give it relative to the repository")
    return folder


# --- the flag forms ---------------------------------------------------------------------------


def parse_example(value: str) -> Example:
    """``How long do I have? => 30 days``: an input and a phrase a good answer contains."""
    text, sep, phrase = value.rpartition("=>")
    if not sep:
        return Example(check_text(value, "the example"))
    return Example(check_text(text, "the example"), check_text(phrase, "the phrase after '=>'"))


def parse_behaviour(value: str) -> Behaviour:
    """``cites-the-article: Every answer names the article it used.``"""
    name, sep, description = value.partition(":")
    if not sep:
        raise InvalidAnswer("write it as 'name: one sentence saying what a good answer does'")
    return Behaviour(check_spec_name(name), check_text(description, "the description"))


def parse_failure_mode(value: str) -> FailureMode:
    """``invents-refund-policy (high): States a refund rule not in the help center.``"""
    found = _FAILURE_RE.fullmatch(value)
    if not found:
        raise InvalidAnswer("write it as 'name (severity): one sentence saying what goes wrong'")
    name, severity, description = found.groups()
    return FailureMode(
        check_spec_name(name),
        check_text(description, "the description"),
        check_severity(severity) if severity is not None else DEFAULT_SEVERITY,
    )


def parse_link(value: str) -> tuple[int, tuple[str, ...]]:
    """``2: cites-the-article,invents-refund-policy``: example 2 (from 1) and the names it links."""
    found = _LINK_RE.fullmatch(value)
    if not found:
        raise InvalidAnswer("write it as 'EXAMPLE-NUMBER: name,name' (examples count from 1)")
    return int(found.group(1)), split_names(found.group(2))


def split_names(value: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in re.split(r"[,\s]+", value) if n.strip())
    if not names:
        raise InvalidAnswer("no names given")
    return names


# --- the whole ----------------------------------------------------------------------------------


def check_spec_names(behaviours: Sequence[Behaviour], failure_modes: Sequence[FailureMode]) -> None:
    """Every name once: a link names a behaviour or a failure mode without saying which."""
    seen: set[str] = set()
    for name in [b.name for b in behaviours] + [f.name for f in failure_modes]:
        if name in seen:
            raise InvalidAnswer(
                f"the name {name!r} is given twice; each behaviour and failure mode needs its own"
            )
        seen.add(name)


def check_links(
    names: Sequence[str], behaviours: Sequence[Behaviour], failure_modes: Sequence[FailureMode]
) -> tuple[str, ...]:
    known = [b.name for b in behaviours] + [f.name for f in failure_modes]
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            if close:
                hint = f"did you mean {close[0]!r}?"
            elif known:
                hint = f"known: {', '.join(known)}"
            else:
                hint = "give behaviours or failure modes first"
            raise InvalidAnswer(f"{name!r} is neither a behaviour nor a failure mode ({hint})")
    return tuple(dict.fromkeys(names))


def named_in(names: Sequence[str], items: Sequence[Behaviour | FailureMode]) -> list[str]:
    """The ``names`` that name one of ``items``, in the order of ``names``."""
    wanted = {i.name for i in items}
    return [n for n in names if n in wanted]
