"""``ci-gate compare BASE HEAD``: compare two results files, decide, report, exit per verdict.

Which policy: by default the BASE run's ``gate:`` section, so that a pull request cannot loosen
its own gate; ``--policy head`` uses the head run's, ``--policy FILE`` the ``gate:`` section of a
suite file. ``--set KEY=VALUE`` and ``--exit-code VERDICT=N`` are merged on top.

Intervals are at ``1 - alpha`` (``1 - release.alpha`` in release mode, where the lower bound of
the two-sided interval is the one-sided non-inferiority bound at ``release.alpha / 2``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_gate.atomic import write_text_atomic
from ci_gate.commands.output_path import check_output
from ci_gate.compare.compare import compare
from ci_gate.compare.model import Comparison
from ci_gate.errors import ConfigError, UsageError
from ci_gate.gate.decide import decide
from ci_gate.gate.model import GateResult
from ci_gate.gate.policy import MAX_RESAMPLES, VERDICTS, Policy, parse_policy
from ci_gate.results.model import Results
from ci_gate.results.store import read_results

if TYPE_CHECKING:
    from ci_gate.judge.pairwise import Preferences


def _pairs(items: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option} {item!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def _exit_codes(items: list[str] | None) -> dict[str, int]:
    codes: dict[str, int] = {}
    for verdict, value in _pairs(items, "--exit-code").items():
        if verdict not in VERDICTS:
            raise UsageError(
                f"--exit-code {verdict}={value}: the verdict must be one of {VERDICTS}"
            )
        try:
            code = int(value)
        except ValueError:
            code = -1
        if not 0 <= code <= 255:
            raise UsageError(f"--exit-code {verdict}={value}: the code must be 0..255")
        codes[verdict] = code
    return codes


def _policy_file(path: str) -> dict[str, Any]:
    from ci_gate.suite.yaml_source import display_path, load_yaml

    doc = load_yaml(Path(path), display_path(path))
    if not isinstance(doc.data, dict) or "gate" not in doc.data:
        raise ConfigError(f"{path}: no gate: section (--policy FILE takes a suite file)")
    section = doc.data["gate"]
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: gate: expected a mapping")
    return section


def choose_policy(
    choice: str, base: Results, head: Results, overrides: dict[str, Any], names: tuple[str, str]
) -> Policy:
    """The policy for ``--policy CHOICE``: base, head or a suite file, with overrides."""
    if choice in ("base", "head"):
        run = base.run if choice == "base" else head.run
        name = names[0] if choice == "base" else names[1]
        return parse_policy(run.gate, overrides=overrides, origin=choice, where=f"{name}: gate")
    if not Path(choice).is_file():
        raise UsageError(f"--policy {choice!r}: expected base, head or an existing suite file")
    return parse_policy(
        _policy_file(choice), overrides=overrides, origin=choice, where=f"{choice}: gate"
    )


def _preferences(
    path: str, base: Results, head: Results, env: Mapping[str, str], fresh: bool, seed: int
) -> Preferences:
    from ci_gate.judge.pairwise import judge_pairs
    from ci_gate.suite.load import load_suite

    suite = load_suite(path)
    if suite.pairwise is None:
        raise UsageError(
            f"--pairwise {path}: the suite has no pairwise: section (add pairwise: {{rubric:"
            " ...}} and a judge; see docs/suite.md, Pairwise preference)"
        )
    return judge_pairs(suite, base, head, env, use_cache=not fresh, seed=seed)


@dataclass(frozen=True)
class Compared:
    """Two results files, compared and decided: what every report is rendered from."""

    base: Results
    head: Results
    comparison: Comparison
    gate: GateResult


def compare_files(args: argparse.Namespace, env: Mapping[str, str]) -> Compared:
    """Check the options, read both files, compare and decide (shared with ``ci-gate report``)."""
    if args.resamples is not None and args.resamples < 100:
        raise UsageError(f"--resamples must be at least 100, got {args.resamples}")
    if args.resamples is not None and args.resamples > MAX_RESAMPLES:
        # One float per resample and interval: more would exhaust the memory.
        raise UsageError(f"--resamples must be at most {MAX_RESAMPLES}, got {args.resamples}")
    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed must be 0 or more, got {args.seed}")
    for option in ("markdown", "json", "junit", "html"):
        check_output(getattr(args, option, None), f"--{option}")
    overrides: dict[str, Any] = dict(_pairs(args.set, "--set"))
    for verdict, code in _exit_codes(getattr(args, "exit_code", None)).items():
        overrides[f"exit_codes.{verdict}"] = code
    base = read_results(args.base)
    head = read_results(args.head)
    policy = choose_policy(args.policy, base, head, overrides, (args.base, args.head))
    alpha = policy.release_alpha if args.mode == "release" else policy.alpha
    seed = policy.seed if args.seed is None else args.seed
    preferences = None
    if args.pairwise:
        preferences = _preferences(args.pairwise, base, head, env, args.no_cache, seed)
    comparison = compare(
        base,
        head,
        resamples=policy.resamples if args.resamples is None else args.resamples,
        seed=seed,
        confidence=1.0 - alpha,
        preferences=preferences,
    )
    return Compared(base, head, comparison, decide(comparison, policy, args.mode))


def write_text_reports(
    args: argparse.Namespace, done: Compared, markdown: str | None = None
) -> list[str]:
    """Write the ``--markdown``, ``--json`` and ``--junit`` files asked for (``markdown`` when
    already rendered); the paths written, in that order."""
    written: list[str] = []
    if args.markdown:
        if markdown is None:
            from ci_gate.report.markdown import render_markdown

            markdown = render_markdown(done.comparison, done.gate)
        write_text_atomic(args.markdown, markdown)
        written.append(args.markdown)
    if args.json:
        from ci_gate.report.json_report import render_json

        write_text_atomic(args.json, render_json(done.comparison, done.gate))
        written.append(args.json)
    if args.junit:
        from ci_gate.report.junit import render_junit

        write_text_atomic(args.junit, render_junit(done.comparison, done.gate))
        written.append(args.junit)
    return written


def cmd_compare(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    done = compare_files(args, env)
    gate = done.gate
    markdown = None
    if not args.quiet:
        from ci_gate.report.markdown import render_markdown

        markdown = render_markdown(done.comparison, gate)
    write_text_reports(args, done, markdown)
    if args.html:
        from ci_gate.commands.report import write_html_report

        write_html_report(args.html, done)
    if args.quiet:
        from ci_gate.report.sanitize import log_line

        # The verdict word leads, so a CI log shows it without the exit code.
        print(log_line(f"ci-gate {gate.verdict}: {gate.headline}", max_len=2000))
    elif markdown is not None:
        sys.stdout.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return gate.exit_code
