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
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ci_gate.atomic import write_text_atomic
from ci_gate.errors import ConfigError
from ci_gate.judge.prompts import PROMPT_VERSION
from ci_gate.suite.fingerprint import digest, target_identity
from ci_gate.suite.model import AssertionSpec, JudgeConfig, Target

CALIBRATION_FORMAT = "ci-gate-calibration"
CALIBRATION_VERSION = 1


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
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{shown}: judge.calibration names a file that does not exist"
            f" (run `ci-gate calibrate SUITE -o {shown}` to create it)"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{shown}: cannot read the calibration file ({exc}); {fix}") from None
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
    for index, raw in enumerate(entries):
        try:
            entry = Calibration(**raw)
        except TypeError:
            raise ConfigError(f"{shown}: assertions[{index}]: unexpected keys; {fix}") from None
        out[entry.key] = entry
    return out


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
