"""The GitHub Actions runner's files and workflow commands: outputs, summary, annotations, masks.

Rules from the runner (actions/runner) that shape this module:

* ``GITHUB_OUTPUT`` is read line by line; ``name<<DELIM`` starts a value that runs to the first
  line equal to ``DELIM``. A fixed delimiter could be ended early by a value that holds it, so
  each value gets a random one, checked against the value (as actions/toolkit does).
* ``GITHUB_STEP_SUMMARY`` holds at most 1 MiB per step, counted in bytes; beyond that the runner
  drops the whole summary, so the report is cut to fit, on a markdown-safe boundary.
* Only 10 error and 10 warning annotations per step are shown; more are noise that hides the rest.
* Every line on stdout that starts with ``::`` is a command, so untrusted text is only ever
  printed through :func:`ci_gate.report.sanitize.workflow_command` or ``log_line``.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TextIO

from ci_gate.compare.model import CaseChange, Comparison
from ci_gate.errors import InternalError
from ci_gate.gate.model import GateResult
from ci_gate.report.masking import mask_secrets
from ci_gate.report.sanitize import cap_markdown, workflow_command

SUMMARY_LIMIT = 1024 * 1024  # bytes, per step
MAX_ERRORS = 10
MAX_WARNINGS = 10
SUMMARY_NOTE = (
    "_The report was cut to fit the 1 MiB limit of the job summary; the full report is in the "
    "workflow's artifacts._"
)
_OUTPUT_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_DELIMITER_TRIES = 5
_MESSAGE_MAX = 1000
_TITLE_MAX = 200


def random_delimiter() -> str:
    return f"ghadelimiter_{uuid.uuid4()}"


def format_outputs(
    values: Mapping[str, str], new_delimiter: Callable[[], str] = random_delimiter
) -> str:
    """``values`` in the runner's ``name<<DELIMITER`` form, one random delimiter each."""
    parts: list[str] = []
    for name, value in values.items():
        if not _OUTPUT_NAME_RE.fullmatch(name):
            raise InternalError(f"actions_env: {name!r} is not a valid output name")
        delimiter = _delimiter_for(value, new_delimiter)
        parts.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return "".join(parts)


def _delimiter_for(value: str, new_delimiter: Callable[[], str]) -> str:
    for _ in range(_DELIMITER_TRIES):
        delimiter = new_delimiter()
        # A line equal to the delimiter ends the value; being anywhere in it is refused already.
        if delimiter and "\n" not in delimiter and delimiter not in value:
            return delimiter
    raise InternalError(
        "actions_env: could not find an output delimiter that does not occur in the value"
    )


def write_outputs(
    path: str | Path,
    values: Mapping[str, str],
    *,
    new_delimiter: Callable[[], str] = random_delimiter,
) -> None:
    """Append ``values`` to the ``GITHUB_OUTPUT`` file at ``path``."""
    text = format_outputs(values, new_delimiter)
    with Path(path).open("a", encoding="utf-8", errors="replace", newline="\n") as handle:
        handle.write(text)


def _fit_bytes(markdown: str, budget: int, note: str) -> str:
    """``markdown`` cut (by :func:`cap_markdown`) until its UTF-8 form fits in ``budget`` bytes."""
    encoded = markdown.encode("utf-8", "replace")
    if len(encoded) <= budget:
        return markdown
    # Start from the characters whose bytes fit: cap_markdown's cost grows with its limit.
    limit = len(encoded[:budget].decode("utf-8", "ignore"))
    while limit > 0:
        capped = cap_markdown(markdown, limit, note)
        size = len(capped.encode("utf-8", "replace"))
        if size <= budget:
            return capped
        # Shrink in proportion to the overshoot; a few rounds at most, even for emoji-heavy text.
        limit = min(limit - 1, int(limit * budget / size))
    return ""


def append_summary(
    path: str | Path, markdown: str, *, limit: int = SUMMARY_LIMIT, note: str = SUMMARY_NOTE
) -> str:
    """Append ``markdown`` to the ``GITHUB_STEP_SUMMARY`` file, keeping it within ``limit`` bytes.

    What the step wrote there before counts against the limit. Returns the text appended.
    """
    target = Path(path)
    used = target.stat().st_size if target.exists() else 0
    budget = limit - used - 1  # the final newline
    text = _fit_bytes(markdown.rstrip("\n"), budget, note) if budget > 0 else ""
    if not text:
        return ""
    with target.open("a", encoding="utf-8", errors="replace", newline="\n") as handle:
        handle.write(text + "\n")
    return text + "\n"


def _failed_assertions(change: CaseChange) -> str:
    failing = [a for a in change.assertions if a.head_passed is False]
    if change.head_error:
        return f"errored: {change.head_error}"
    if not failing:
        return f"case {change.status.replace('_', ' ')}"
    parts = [f"{a.name}: {a.head_message}" if a.head_message else a.name for a in failing]
    return "failed: " + "; ".join(parts)


def _annotation(
    kind: str, change: CaseChange, secrets: Iterable[str], file: str | None, what: str
) -> str:
    title = mask_secrets(f"{what}: {change.case_id}", secrets)[:_TITLE_MAX]
    message = mask_secrets(_failed_assertions(change), secrets)[:_MESSAGE_MAX]
    return workflow_command(kind, message, file=file, title=title)


def annotation_commands(
    comparison: Comparison,
    gate: GateResult,
    *,
    secrets: Iterable[str] = (),
    file: str | None = None,
    max_errors: int = MAX_ERRORS,
    max_warnings: int = MAX_WARNINGS,
) -> list[str]:
    """Workflow commands for the worst regressions, worst first: one line each.

    Regressed cases are errors when the gate failed and warnings otherwise (a regression the
    gate tolerated should not look like the reason for a red check); errored and flaky cases are
    warnings. ``file`` (the suite file, relative to the workspace) anchors them in the diff.
    One notice says how many were left out.
    """
    secrets = tuple(secrets)
    worst = sorted(comparison.cases, key=lambda c: -c.severity)
    regressed = [c for c in worst if c.status == "regressed"]
    other = [c for c in worst if c.status in ("errored", "flaky")]
    if gate.verdict == "fail":
        errors, warnings = regressed, other
    else:
        errors, warnings = [], regressed + other
    lines = [_annotation("error", c, secrets, file, "Regression") for c in errors[:max_errors]]
    for change in warnings[:max_warnings]:
        what = "Regression" if change.status == "regressed" else change.status.capitalize()
        lines.append(_annotation("warning", change, secrets, file, what))
    left_out = max(0, len(errors) - max_errors) + max(0, len(warnings) - max_warnings)
    if left_out:
        lines.append(
            workflow_command(
                "notice",
                f"{left_out} more changed case(s) are listed in the job summary.",
                title="ci-gate",
            )
        )
    return lines


def mask(value: str) -> list[str]:
    """``::add-mask::`` commands that hide ``value`` in the rest of the job's log.

    One command per line of a multi-line value (the runner masks line by line). The value is
    escaped by the runner's rules only, never normalised: masking a different string than the
    secret would hide nothing.
    """
    lines: list[str] = []
    for part in re.split(r"\r\n|\r|\n", value):
        if part.strip():
            escaped = part.replace("%", "%25")
            lines.append(f"::add-mask::{escaped}")
    return lines


def emit(lines: Iterable[str], out: TextIO | None = None) -> None:
    """Print workflow command lines (already built by this module) to the runner's stdout."""
    stream = out if out is not None else sys.stdout
    for line in lines:
        if "\n" in line or "\r" in line:
            raise InternalError("actions_env: a workflow command must be one line")
        stream.write(line + "\n")
    stream.flush()
