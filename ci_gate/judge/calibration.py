"""Calibration files, and whether a judged assertion may block the gate.

``ci-gate calibrate`` writes one entry per judged assertion, keyed by what decides its verdicts:
the assertion's type, rubric and options, the judge target's identity (provider, model,
parameters, endpoint) and the judge prompts' version. A run looks its assertions up by the same
key, so a calibration made for another rubric or another judge model never vouches for this one.

An assertion written as blocking blocks only when its entry meets the suite's thresholds
(``judge:`` section); otherwise it is advisory: it is scored and reported, with the reason, but
it cannot fail its case.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ci_gate.atomic import write_text_atomic
from ci_gate.bounded_read import read_at_most
from ci_gate.errors import ConfigError
from ci_gate.judge.prompts import PROMPT_VERSION
from ci_gate.suite.fingerprint import digest, target_identity
from ci_gate.suite.model import AssertionSpec, JudgeConfig, Target

CALIBRATION_FORMAT = "ci-gate-calibration"
CALIBRATION_VERSION = 1
# Far above any real file (one small entry per judged assertion); a device would never end.
MAX_CALIBRATION_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Calibration:
    """How one judged assertion's judge behaved when calibrated."""

    key: str
    assertion: str
    type: str
    judge: str
    model: str | None
    repeats: int
    outputs: int  # distinct outputs judged
    judgements: int
    self_agreement: float | None  # share of agreeing pairs among repeated verdicts of an output
    labels: int  # labelled outputs
    accuracy: float | None  # share of verdicts equal to the human label
    kappa: float | None  # Cohen's kappa between verdicts and human labels
    created_at: str


def calibration_key(spec: AssertionSpec, judge: Target) -> str:
    options = {k: v for k, v in spec.options.items() if k != "judge"}
    return digest(
        {
            "type": spec.type,
            "value": spec.value,
            "options": options,
            "judge": target_identity(judge),
            "prompts": PROMPT_VERSION,
        }
    )


def read_calibrations(path: Path, shown: str) -> dict[str, Calibration]:
    """The entries of the calibration file at ``path`` (``shown`` names it in messages)."""
    fix = "run `ci-gate calibrate` to write it again"
    try:
        raw = read_at_most(path, MAX_CALIBRATION_BYTES)
        if raw is None:
            raise ConfigError(f"{shown}: larger than any calibration file; {fix}")
        data = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{shown}: judge.calibration names a file that does not exist"
            f" (run `ci-gate calibrate SUITE -o {shown}` to create it)"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{shown}: cannot read the calibration file ({exc}); {fix}") from None
    except RecursionError:
        raise ConfigError(f"{shown}: JSON nested too deeply; {fix}") from None
    if not isinstance(data, dict) or data.get("format") != CALIBRATION_FORMAT:
        raise ConfigError(f"{shown}: not a ci-gate calibration file; {fix}")
    if data.get("version") != CALIBRATION_VERSION:
        raise ConfigError(
            f"{shown}: calibration file version {data.get('version')!r}, this ci-gate reads"
            f" version {CALIBRATION_VERSION}; {fix}"
        )
    entries = data.get("assertions")
    if not isinstance(entries, list):
        raise ConfigError(f"{shown}: assertions: expected a list; {fix}")
    out: dict[str, Calibration] = {}
    for index, item in enumerate(entries):
        entry = _entry(item, f"{shown}: assertions[{index}]", fix)
        out[entry.key] = entry
    return out


_FIELDS = tuple(f.name for f in fields(Calibration))
_TEXT = ("key", "assertion", "type", "judge", "created_at")
_COUNTS = ("repeats", "outputs", "judgements", "labels")
# The range of each measure; None (not measured) is allowed too.
_MEASURES = {"self_agreement": (0.0, 1.0), "accuracy": (0.0, 1.0), "kappa": (-1.0, 1.0)}


def _entry(raw: Any, where: str, fix: str) -> Calibration:
    """One entry, every field of the right type: an edited file must not make a judge look
    calibrated (a NaN kappa passes every ``<`` check) or fail later with a TypeError."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected an object, got {type(raw).__name__}; {fix}")
    missing = [key for key in _FIELDS if key not in raw]
    unknown = [str(key)[:40] for key in raw if key not in _FIELDS]
    if missing or unknown:
        what = f"missing {', '.join(missing)}" if missing else f"unknown key {unknown[0]!r}"
        raise ConfigError(f"{where}: {what}; {fix}")
    for key in _TEXT:
        if not isinstance(raw[key], str):
            raise ConfigError(f"{where}.{key}: expected a string; {fix}")
    if raw["model"] is not None and not isinstance(raw["model"], str):
        raise ConfigError(f"{where}.model: expected a string or null; {fix}")
    for key in _COUNTS:
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{where}.{key}: expected a whole number from 0; {fix}")
    for key, (low, high) in _MEASURES.items():
        value = raw[key]
        if value is None:
            continue
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or not low <= value <= high:
            raise ConfigError(
                f"{where}.{key}: expected null or a number from {low:g} to {high:g}; {fix}"
            )
    return Calibration(**raw)


def write_calibrations(path: Path, entries: list[Calibration], suite: str) -> None:
    data: dict[str, Any] = {
        "format": CALIBRATION_FORMAT,
        "version": CALIBRATION_VERSION,
        "suite": suite,
        "assertions": [asdict(e) for e in entries],
    }
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def shortfall(entry: Calibration | None, config: JudgeConfig) -> str | None:
    """Why a judged assertion with this calibration may not block the gate; None when it may."""
    if config.calibration is None:
        return (
            "advisory: the judge is not calibrated (run `ci-gate calibrate` and set"
            " judge.calibration in the suite)"
        )
    if entry is None:
        return (
            f"advisory: {config.calibration} has no calibration of this assertion with this"
            " judge (give its cases labels: and run `ci-gate calibrate`; if it was calibrated,"
            " its rubric, options or judge changed since)"
        )
    agreement = entry.self_agreement
    if agreement is None or agreement < config.min_self_agreement:
        got = "no repeated verdicts" if agreement is None else _pct(agreement)
        return (
            f"advisory: the judge agreed with itself on {got} of repeated verdicts"
            f" (judge.min_self_agreement is {_pct(config.min_self_agreement)})"
        )
    if config.min_kappa is None:
        return None
    if entry.labels < config.min_labels:
        return (
            f"advisory: calibrated on {entry.labels} human-labelled output(s);"
            f" judge.min_labels is {config.min_labels} (add labels to cases)"
        )
    if entry.kappa is None or entry.kappa < config.min_kappa:
        got = "undefined" if entry.kappa is None else f"{entry.kappa:.2f}"
        return (
            f"advisory: Cohen's kappa against human labels is {got}"
            f" (judge.min_kappa is {config.min_kappa:.2f})"
        )
    return None


def advisories(
    specs: list[tuple[AssertionSpec, Target]],
    config: JudgeConfig,
    entries: Mapping[str, Calibration],
) -> dict[str, str | None]:
    """The advisory reason (or None) of each judged assertion, by calibration key."""
    out: dict[str, str | None] = {}
    for spec, judge in specs:
        key = calibration_key(spec, judge)
        if key not in out:
            out[key] = shortfall(entries.get(key), config)
    return out
