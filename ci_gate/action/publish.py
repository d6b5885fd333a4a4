"""Where an Action step's outcomes go: job log, job summary, step outputs, the PR comment.

The order matters: the log and the job summary are written first, since they need no
permission, so a failure to comment (a fork's read-only token, GitHub down) loses nothing but
the comment, and the step says why in a notice and in the summary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from ci_gate.action.context import GitHubContext
from ci_gate.action.inputs import ActionInputs
from ci_gate.action.job import SuiteOutcome
from ci_gate.publish.actions_env import append_summary, emit, write_outputs
from ci_gate.publish.github_api import GitHubClient, PublishOutcome, connect
from ci_gate.publish.sticky import publish_sticky
from ci_gate.report.masking import mask_secrets
from ci_gate.report.sanitize import inline, log_line, workflow_command

SEVERITY = {"pass": 0, "inconclusive": 1, "fail": 2, "error": 3}


@dataclass(frozen=True)
class Published:
    comment_urls: tuple[str, ...]
    reasons: tuple[str, ...]  # why comments were not posted
    failed: bool = False  # GitHub failed while posting (not a refusal that was expected)


def worst(outcomes: Sequence[SuiteOutcome]) -> str:
    return max((o.verdict for o in outcomes), key=SEVERITY.__getitem__, default="error")


def github_client(
    inputs: ActionInputs, ctx: GitHubContext, env: Mapping[str, str], secrets: Sequence[str]
) -> GitHubClient:
    # Pauses between requests are GitHub's advice against secondary rate limits; a server
    # without them (a GitHub Enterprise instance, ci-gate's tests) may turn them off.
    paced = env.get("CI_GATE_GITHUB_PACE", "1") != "0"
    if paced:
        return connect(inputs.github_token, ctx.api_url, secrets=secrets)
    return connect(
        inputs.github_token,
        ctx.api_url,
        seconds_between_requests=None,
        seconds_between_writes=None,
        retry=None,
        secrets=secrets,
    )


def log_outcomes(outcomes: Sequence[SuiteOutcome], secrets: Sequence[str], out: TextIO) -> None:
    for o in outcomes:
        line = mask_secrets(f"ci-gate {o.verdict}: {o.suite_name}: {o.headline}", secrets)
        out.write(log_line(line, 2000) + "\n")
        emit(o.annotations, out)
        notices = [
            workflow_command("notice", mask_secrets(n, secrets), title="ci-gate") for n in o.notices
        ]
        emit(notices, out)


def write_summary(
    ctx: GitHubContext, outcomes: Sequence[SuiteOutcome], secrets: Sequence[str]
) -> None:
    if ctx.summary_path is None:
        return
    for outcome in outcomes:
        # Masked like the comment: a report quotes outputs, and an output can quote a key.
        append_summary(ctx.summary_path, mask_secrets(outcome.markdown, secrets))


def post_comments(
    client: GitHubClient | None,
    inputs: ActionInputs,
    ctx: GitHubContext,
    pull_number: int | None,
    outcomes: Sequence[SuiteOutcome],
    secrets: Sequence[str],
    why_not: str | None = None,
) -> Published:
    urls: list[str] = []
    reasons: list[str] = []
    failed = False
    for outcome in outcomes:
        if client is None or pull_number is None:
            result = PublishOutcome(False, None, why_not or "no comment posted")
        else:
            result = publish_sticky(
                client,
                ctx.repository,
                pull_number,
                outcome.suite_name,
                outcome.markdown,
                identity=inputs.comment_author,
                secrets=secrets,
            )
        if result.posted and result.url:
            urls.append(result.url)
        elif result.reason:
            reasons.append(result.reason)
            failed = failed or result.failed
    return Published(tuple(urls), tuple(dict.fromkeys(reasons)), failed)


def report_not_posted(
    ctx: GitHubContext, published: Published, secrets: Sequence[str], out: TextIO
) -> None:
    """Each reason once: in the log (a warning when GitHub failed, so that an older comment left
    on the pull request is not taken for this run's; else a notice) and in the job summary."""
    level = "warning" if published.failed else "notice"
    for reason in published.reasons:
        clean = mask_secrets(reason, secrets)
        emit([workflow_command(level, clean, title="ci-gate: no PR comment")], out)
        if ctx.summary_path is not None:
            append_summary(ctx.summary_path, f"> **No pull request comment:** {inline(clean, 900)}")


def write_step_outputs(
    ctx: GitHubContext,
    outcomes: Sequence[SuiteOutcome],
    urls: Sequence[str],
    secrets: Sequence[str],
) -> None:
    if ctx.output_path is None:
        return
    summary = "; ".join(
        f"{o.suite_name}: {o.verdict}: {o.headline}"
        if len(outcomes) > 1
        else f"{o.verdict}: {o.headline}"
        for o in outcomes
    )
    values = {
        "verdict": worst(outcomes),
        "summary": log_line(mask_secrets(summary, secrets), 1000),
        "results-path": "\n".join(o.results_path for o in outcomes if o.results_path),
        "report-path": "\n".join(o.report_path for o in outcomes if o.report_path),
        "html-path": "\n".join(o.html_path for o in outcomes if o.html_path),
        "comment-url": "\n".join(urls),
    }
    write_outputs(ctx.output_path, values)
