"""Text assertions: equals, contains, not-contains, regex, starts-with, length.

Also the helpers every built-in assertion uses to build its message: model output is untrusted, so
it only ever appears quoted with ``repr`` (no raw newlines or control characters) and truncated.

Comparisons normalise both sides to Unicode NFC first, so that a precomposed "é" equals "e" plus a
combining accent; case-insensitive comparisons use ``str.casefold`` ("Straße" contains "STRASSE").

Regex patterns come from the suite (trusted) but run against model output (untrusted). Python's
``re`` has no timeout: a pattern with nested quantifiers such as ``(a+)+$`` can backtrack for
a very long time on an adversarial output. Keep patterns simple and anchored; ci-gate does not add
a regex engine dependency to guard against it.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
import warnings

from ci_gate.assertions.base import AssertionResult, Output
from ci_gate.assertions.registry import register
from ci_gate.assertions.spec_rules import (
    DEFAULT_LAYERS,
    NO_VALUE_MESSAGE,
    check_shape,
    option,
    show,
    value_or_expected,
)
from ci_gate.suite.model import JSON, AssertionSpec, Case

EXCERPT_CHARS = 80
MESSAGE_CHARS = 400

REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


# --- message helpers shared by the built-in assertions ---------------------------------------


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` quoted for a message: at most ``limit`` characters, escapes instead of newlines."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text)


def excerpt_at(text: str, start: int, end: int, limit: int = EXCERPT_CHARS) -> str:
    """A quoted window of ``text`` around ``text[start:end]``, for long outputs."""
    if len(text) <= limit:
        return excerpt(text, limit)
    before = max(0, start - (limit - (end - start)) // 2)
    window = text[before : before + limit]
    return ("…" if before else "") + excerpt(window, limit)


def one_line(message: str, limit: int = MESSAGE_CHARS) -> str:
    """``message`` with every non-printable character escaped, cut to ``limit`` characters."""
    if not message.isprintable():
        message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    return message if len(message) <= limit else message[: limit - 1] + "…"


def result(passed: bool, score: float, message: str) -> AssertionResult:
    return AssertionResult(passed, min(1.0, max(0.0, score)), one_line(message))


def no_value() -> AssertionResult:
    return AssertionResult(False, 0.0, NO_VALUE_MESSAGE)


def as_text(value: JSON) -> str:
    """A suite value as text: strings as they are, anything else as compact JSON (as templates
    render it), so ``expected: 42`` compares with the output "42"."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def fold(text: str, *, case_sensitive: bool) -> str:
    text = unicodedata.normalize("NFC", text)
    return text if case_sensitive else text.casefold()


def _needles(value: JSON) -> list[str]:
    return [as_text(v) for v in value] if isinstance(value, list) else [as_text(value)]


def _show_needles(needles: list[str], most: int = 5) -> str:
    shown = ", ".join(excerpt(n, 40) for n in needles[:most])
    return shown + (f" and {len(needles) - most} more" if len(needles) > most else "")


def _check_needles(spec: AssertionSpec) -> list[str]:
    problems = check_shape(spec)
    if problems or spec.value is None:
        return problems
    if any(n == "" for n in _needles(spec.value)):
        problems.append("value must not contain an empty string (it is found in every output)")
    return problems


# --- equals ------------------------------------------------------------------------------------


@register("equals", layer=DEFAULT_LAYERS["equals"], check=check_shape)
def equals(spec: AssertionSpec, output: Output, case: Case) -> AssertionResult:
    """The output is the value. ``trim`` strips surrounding whitespace from both sides first."""
    value = value_or_expected(spec, case)
    if value is None:
        return no_value()
    want, got = as_text(value), output.text
    if option(spec, "trim"):
        want, got = want.strip(), got.strip()
    sensitive = bool(option(spec, "case_sensitive"))
    if fold(want, case_sensitive=sensitive) == fold(got, case_sensitive=sensitive):
        return result(True, 1.0, f"equals {excerpt(want)}")
    hint = ""
    if sensitive and fold(want, case_sensitive=False) == fold(got, case_sensitive=False):
        hint = " (differs only in letter case; set case_sensitive: false to ignore case)"
    elif not option(spec, "trim") and want.strip() == got.strip():
        hint = " (differs only in surrounding whitespace; set trim: true)"
    return result(False, 0.0, f"expected {excerpt(want)}, found {excerpt(got)}{hint}")


# --- contains / not-contains ---------------------------------------------------------------------


@register("contains", layer=DEFAULT_LAYERS["contains"], check=_check_needles)
def contains(spec: AssertionSpec, output: Output, case: Case) -> AssertionResult:
    """Mode ``all``: every string must appear (score: the fraction found); ``any``: at least one."""
    value = value_or_expected(spec, case)
    if value is None:
        return no_value()
    needles = _needles(value)
    if not needles:
        return result(False, 0.0, "the expected list is empty: nothing to look for")
    sensitive = bool(option(spec, "case_sensitive"))
    hay = fold(output.text, case_sensitive=sensitive)
    found = [n for n in needles if fold(n, case_sensitive=sensitive) in hay]
    missing = [n for n in needles if n not in found]
    if option(spec, "mode") == "any":
        if found:
            return result(True, 1.0, f"found {_show_needles(found[:1])}")
        return result(
            False,
            0.0,
            f"found none of {_show_needles(needles)} in {excerpt(output.text)}",
        )
    if not missing:
        return result(True, 1.0, f"found {_show_needles(needles)}")
    return result(
        False,
        len(found) / len(needles),
        f"missing {len(missing)} of {len(needles)}: {_show_needles(missing)}"
        f" in {excerpt(output.text)}",
    )


@register("not-contains", layer=DEFAULT_LAYERS["not-contains"], check=_check_needles)
def not_contains(spec: AssertionSpec, output: Output, case: Case) -> AssertionResult:
    """None of the strings may appear; the score is the fraction that are absent."""
    if spec.value is None:
        return no_value()
    needles = _needles(spec.value)
    sensitive = bool(option(spec, "case_sensitive"))
    hay = fold(output.text, case_sensitive=sensitive)
    folded = [(n, fold(n, case_sensitive=sensitive)) for n in needles]
    hits = [(n, hay.find(f), len(f)) for n, f in folded if f in hay]
    if not hits:
        return result(True, 1.0, f"none of {_show_needles(needles)} found")
    _, at, size = min(hits, key=lambda h: h[1])
    # Show the output as written unless case folding changed its length (then offsets differ).
    shown = unicodedata.normalize("NFC", output.text)
    if len(shown) != len(hay):
        shown = hay
    return result(
        False,
        1.0 - len(hits) / len(needles),
        f"found forbidden {_show_needles([n for n, _, _ in hits])}"
        f" in {excerpt_at(shown, at, at + size)}",
    )


# --- regex -----------------------------------------------------------------------------------


def _flag_bits(flags: str) -> int:
    bits = 0
    for letter in flags:
        bits |= REGEX_FLAGS[letter]
    return bits


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str, flags: str) -> re.Pattern[str]:
    """The compiled pattern, once per (pattern, flags); warnings were reported at load time."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return re.compile(pattern, _flag_bits(flags))


def _check_regex(spec: AssertionSpec) -> list[str]:
    problems = check_shape(spec)
    flags = option(spec, "flags")
    if isinstance(flags, str):
        bad = sorted({f for f in flags if f not in REGEX_FLAGS})
        if bad:
            problems.append(
                f"unknown regex flag(s) {', '.join(map(repr, bad))} in flags {show(flags)}"
                " (use i, m, s)"
            )
    if problems or not isinstance(spec.value, str):
        return problems
    try:
        # A FutureWarning here (e.g. "[[:alpha:]]", a POSIX class Python does not support) means
        # the pattern does not do what it looks like; report it like an error.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            re.compile(spec.value, _flag_bits(str(flags)))
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        problems.append(f"invalid regex {show(spec.value)}: {exc.msg}{where}")
    except Warning as exc:
        problems.append(f"suspicious regex {show(spec.value)}: {one_line(str(exc))}")
    return problems


@register("regex", layer=DEFAULT_LAYERS["regex"], check=_check_regex)
def regex(spec: AssertionSpec, output: Output, case: Case) -> AssertionResult:
    """``re.search`` of the pattern anywhere in the output (anchor it with ^ and $ if needed)."""
    if not isinstance(spec.value, str):
        return no_value()
    flags = option(spec, "flags")
    pattern = compile_pattern(spec.value, flags if isinstance(flags, str) else "")
    match = pattern.search(output.text)
    shown = show(spec.value)
    if match is None:
        return result(False, 0.0, f"no match for {shown} in {excerpt(output.text)}")
    return result(True, 1.0, f"{shown} matched {excerpt(match.group(0))}")


# --- starts-with ---------------------------------------------------------------------------------


@register("starts-with", layer=DEFAULT_LAYERS["starts-with"], check=check_shape)
def starts_with(spec: AssertionSpec, output: Output, case: Case) -> AssertionResult:
    """The output starts with the value, ignoring leading whitespace on both."""
    value = value_or_expected(spec, case)
    if value is None:
        return no_value()
    want, got = as_text(value).lstrip(), output.text.lstrip()
    sensitive = bool(option(spec, "case_sensitive"))
    if fold(got, case_sensitive=sensitive).startswith(fold(want, case_sensitive=sensitive)):
        return result(True, 1.0, f"starts with {excerpt(want)}")
    head = got[: len(want) + 10]
    return result(False, 0.0, f"expected to start with {excerpt(want)}, found {excerpt(head)}")


# --- length ----------------------------------------------------------------------------------


def _check_length(spec: AssertionSpec) -> list[str]:
    problems = check_shape(spec)
    low, high = spec.options.get("min"), spec.options.get("max")
    if low is None and high is None:
        problems.append("length needs min, max or both")
    elif isinstance(low, int) and isinstance(high, int) and low > high:
        problems.append(f"min ({low}) is greater than max ({high})")
    return problems


@register("length", layer=DEFAULT_LAYERS["length"], check=_check_length)
def length(spec: AssertionSpec, output: Output, case: Case) -> AssertionResult:
    """Length in characters (code points after NFC) or words (whitespace-separated).

    Outside the bounds the score falls smoothly: ``n / min`` when too short, ``max / n`` when too
    long. Words are counted by whitespace, so text without spaces (Chinese, Japanese) is one word.
    """
    unit = option(spec, "unit")
    text = unicodedata.normalize("NFC", output.text)
    n = len(text.split()) if unit == "words" else len(text)
    low, high = option(spec, "min"), option(spec, "max")
    bounds = f"{low if low is not None else 0}..{high if high is not None else '∞'} {unit}"
    if low is not None and n < low:
        return result(False, n / low, f"{n} {unit}, expected {bounds}")
    if high is not None and n > high:
        return result(False, high / n, f"{n} {unit}, expected {bounds}")
    return result(True, 1.0, f"{n} {unit}, within {bounds}")
