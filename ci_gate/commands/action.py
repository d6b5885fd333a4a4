"""``ci-gate action``: the GitHub Action's entry point, run by the container the runner starts.

It reads the inputs (``INPUT_*``) and the run's context (``GITHUB_*`` and the event), decides
what this step does (``ci_gate.action.plan``), handles each suite (``ci_gate.action.job``) and
publishes the outcomes (``ci_gate.action.publish``). Exit: 1 when a suite's verdict is listed in
the ``fail-on`` input, 2 for a configuration problem, 3 for a bug; else 0.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

from ci_gate.action.context import GitHubContext, read_context
from ci_gate.action.inputs import ActionInputs, read_inputs
from ci_gate.action.job import JobContext, SuiteOutcome, run_job
from ci_gate.action.plan import Plan, make_plan
from ci_gate.action.publish import (
    github_client,
    log_outcomes,
    post_comments,
    report_not_posted,
    write_step_outputs,
    write_summary,
)
from ci_gate.action.stores import open_store
from ci_gate.baseline.git import trust_directory
from ci_gate.errors import EXIT_FAIL, EXIT_INTERNAL, GateError
from ci_gate.publish.actions_env import append_summary, emit, mask, write_outputs
from ci_gate.publish.github_api import GitHubApiError, GitHubClient, PullInfo
from ci_gate.publish.sticky import FORK_DOCS
from ci_gate.report.masking import mask_secrets
from ci_gate.report.sanitize import inline, log_line, workflow_command

# A variable is secret when a part of its name (split at "_") ends with one of these words:
# OPENAI_API_KEY, OPENAI_APIKEY, GRADER_CREDENTIALS, DB_PASSWD. Not "AUTH": COMMENT-AUTHOR is not.
_SECRET_WORDS = (
    "KEY",
    "KEYS",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "CREDENTIALS",
)
_MIN_SECRET_LEN = 8  # masking a short value would garble unrelated text in the log


def secrets_of(inputs: ActionInputs | None, env: Mapping[str, str]) -> tuple[str, ...]:
    """Values that must never be shown: the token, and keys handed to the step's environment."""
    found = [inputs.github_token] if inputs is not None and inputs.github_token else []
    for name, value in env.items():
        parts = name.upper().replace("-", "_").split("_")
        if any(p.endswith(_SECRET_WORDS) for p in parts) and len(value) >= _MIN_SECRET_LEN:
            found.append(value)
    return tuple(dict.fromkeys(v for v in found if len(v) >= _MIN_SECRET_LEN))


def _error_outcome(
    suite_file: str, error: BaseException, exit_code: int, secrets: tuple[str, ...] = ()
) -> SuiteOutcome:
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    markdown = (
        f"## 🛑 Error — ci-gate · {inline(suite_file, 120)}\n\n"
        f"**{inline(message, 900)}**\n\n"
        "No verdict on the change: ci-gate could not run this suite.\n"
    )
    return SuiteOutcome(
        suite_file=suite_file,
        suite_name=suite_file,
        verdict="error",
        headline=message,
        markdown=markdown,
        # The error annotation the docs promise: it shows on the run's page, not only in the log.
        annotations=(
            workflow_command(
                "error", mask_secrets(message, secrets), title=f"ci-gate: {suite_file}"
            ),
        ),
        exit_code=exit_code,
    )


def _resolve_pull(
    client: GitHubClient | None, ctx: GitHubContext
) -> tuple[PullInfo | None, str | None]:
    """The pull request a ``workflow_run`` reported on, from the event only; or why none."""
    run = ctx.workflow_run
    if run is None:
        return None, "the event names no workflow run"
    if client is None:
        return None, "no github-token to look the pull request up with"
    try:
        if run.pull_numbers:
            return client.get_pull(ctx.repository, run.pull_numbers[0]), None
        if run.head_owner and run.head_branch and run.head_sha:
            found = client.find_pull(ctx.repository, run.head_owner, run.head_branch, run.head_sha)
            if found is not None:
                return found, None
    except GitHubApiError as error:
        return None, f"the pull request could not be looked up: {error}"
    return None, "the workflow run's commit is not the head of an open pull request"


class _Step:
    def __init__(self, env: Mapping[str, str], out: TextIO) -> None:
        self.env = env
        self.out = out

    def say(self, text: str) -> None:
        self.out.write(log_line(text, 2000) + "\n")
        self.out.flush()

    def run(self) -> int:
        env, out = self.env, self.out
        inputs = read_inputs(env)
        secrets = secrets_of(inputs, env)
        for value in secrets:
            emit(mask(value), out)
        ctx = read_context(env)
        trust_directory(ctx.workspace)
        plan = make_plan(ctx, inputs)
        self.say(f"ci-gate: {plan.why}")

        client: GitHubClient | None = None
        if inputs.github_token and (plan.comment or plan.job == "publish"):
            client = github_client(inputs, ctx, env, secrets)
        try:
            return self._run(inputs, ctx, plan, client, secrets)
        finally:
            if client is not None:
                client.close()

    def _run(
        self,
        inputs: ActionInputs,
        ctx: GitHubContext,
        plan: Plan,
        client: GitHubClient | None,
        secrets: tuple[str, ...],
    ) -> int:
        number = ctx.pull.number if ctx.pull else None
        candidates: tuple[str | None, ...] = (ctx.pull.head_sha,) if ctx.pull else ()
        base_branch = ctx.pull.base_ref if ctx.pull else None
        why_not = (
            None if inputs.github_token else "no comment posted: the github-token input is empty"
        )
        if plan.job == "publish":
            pull, problem = _resolve_pull(client, ctx)
            if pull is not None:
                number, base_branch = pull.number, pull.base_ref or None
                run_sha = ctx.workflow_run.head_sha if ctx.workflow_run else None
                candidates = (run_sha, pull.head_sha, pull.base_sha)
            else:
                why_not = f"no comment posted: {problem}"
        if plan.comment and ctx.pull is not None and ctx.pull.from_fork and plan.job == "pr":
            self.say(
                "ci-gate: a pull request from a fork gets a read-only token; if no comment can be "
                f"posted, see {FORK_DOCS} for the two-workflow pattern"
            )

        outcomes: list[SuiteOutcome] = []
        with open_store(inputs, ctx) as store:
            jc = JobContext(
                inputs=inputs,
                ctx=ctx,
                plan=plan,
                store=store,
                env=self.env,
                secrets=secrets,
                head_candidates=candidates,
                base_branch=base_branch,
            )
            for suite_file in inputs.suites:
                outcomes.append(self._one(jc, suite_file))

        log_outcomes(outcomes, secrets, self.out)
        write_summary(ctx, outcomes, secrets)
        urls: tuple[str, ...] = ()
        if plan.comment:
            published = post_comments(
                client, inputs, ctx, number, outcomes, secrets, why_not=why_not
            )
            report_not_posted(ctx, published, secrets, self.out)
            urls = published.comment_urls
        write_step_outputs(ctx, outcomes, urls, secrets)

        hard = [o.exit_code for o in outcomes if o.exit_code is not None]
        if hard:
            return max(hard)
        return EXIT_FAIL if any(o.verdict in inputs.fail_on for o in outcomes) else 0

    def _one(self, jc: JobContext, suite_file: str) -> SuiteOutcome:
        try:
            return run_job(jc, suite_file)
        except GateError as error:
            return _error_outcome(suite_file, error, error.exit_code, jc.secrets)
        except Exception as error:  # a bug: still report it, and keep the other suites' results
            if self.env.get("CI_GATE_DEBUG"):
                raise
            message = (
                f"internal error: {type(error).__name__}: {error} (a bug in ci-gate; rerun "
                "with CI_GATE_DEBUG=1 for a traceback and report it)"
            )
            return _error_outcome(suite_file, RuntimeError(message), EXIT_INTERNAL, jc.secrets)


def _fail_early(error: GateError, env: Mapping[str, str], out: TextIO) -> int:
    """A problem before any suite ran (inputs, event): an error annotation, summary, outputs."""
    message = mask_secrets(
        str(error).splitlines()[0] if str(error) else "error", secrets_of(None, env)
    )
    print(f"error: {log_line(message, 1000)}", file=sys.stderr)
    emit([workflow_command("error", message, title="ci-gate")], out)
    summary, output = env.get("GITHUB_STEP_SUMMARY"), env.get("GITHUB_OUTPUT")
    try:
        if summary:
            append_summary(summary, f"## 🛑 ci-gate could not run\n\n**{inline(message, 900)}**")
        if output:
            write_outputs(
                output,
                {"verdict": "error", "summary": log_line(f"error: {message}", 1000)},
            )
    except OSError:
        pass  # the message is in the log already
    return error.exit_code


def cmd_action(env: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    environ = os.environ if env is None else env
    stream = sys.stdout if out is None else out
    try:
        return _Step(environ, stream).run()
    except GateError as error:
        return _fail_early(error, environ, stream)
