"""What one ``ci-gate action`` step does, decided from the ``mode`` input and the event.

| event                          | mode ``auto`` becomes                                   |
|--------------------------------|---------------------------------------------------------|
| pull_request(_target), merge_group | ``pr``                                              |
| push to the default branch     | ``refresh``                                             |
| push of a tag, release         | ``release``                                             |
| push to another branch         | ``pr`` without a comment (compared with its merge-base) |
| schedule, workflow_dispatch    | ``drift`` on the default branch, else ``pr``            |
| workflow_run                   | ``publish``: results-from, for the run's pull request   |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ci_gate.action.context import GitHubContext
from ci_gate.action.inputs import ActionInputs
from ci_gate.errors import UsageError

Job = Literal["pr", "refresh", "release", "drift", "publish"]
_PR_EVENTS = ("pull_request", "pull_request_target", "merge_group")


@dataclass(frozen=True)
class Plan:
    job: Job
    why: str  # one line for the log: "pull_request event: compare with the merge-base baseline"
    default_branch: str
    compare_branch: str  # whose history holds the baseline (a PR's base branch)
    comment: bool  # post the sticky comment (a pull request is known and the input allows it)
    tag: str | None  # the release's tag

    @property
    def gate_mode(self) -> Literal["pr", "release"]:
        return "release" if self.job == "release" else "pr"


def _default_branch(ctx: GitHubContext) -> str:
    # The event names it; a manual run outside Actions falls back to the usual name.
    return ctx.default_branch or "main"


def _auto(ctx: GitHubContext, inputs: ActionInputs, default: str) -> tuple[Job, str]:
    event = ctx.event_name
    if inputs.results_from and event == "workflow_run":
        return "publish", "workflow_run event: publish the results of the pull request's run"
    if event == "workflow_run":
        raise UsageError(
            "input `results-from` is required on a workflow_run event: the folder where the "
            "pull request's results artifact was downloaded (see docs/action.md#fork-pull-requests)"
        )
    if event in _PR_EVENTS:
        return "pr", f"{event} event: compare with the baseline at the merge-base"
    if event == "release" or (event == "push" and ctx.tag):
        return "release", f"{event} of tag {ctx.tag or '?'}: gate against the last release"
    if event == "push" and ctx.branch == default:
        return "refresh", f"push to {default}: store this commit's baseline"
    if event == "push":
        return "pr", "push to a branch: compare with the baseline at its merge-base"
    if event in ("schedule", "workflow_dispatch") and ctx.branch in (default, None):
        return "drift", f"{event} on {default}: a fresh run to detect provider drift"
    if event in ("schedule", "workflow_dispatch"):
        return "pr", f"{event} on a branch: compare with the baseline at its merge-base"
    if not event:
        return "pr", "no GitHub event (a local run): compare with the baseline at the merge-base"
    raise UsageError(
        f"mode auto does not handle the {event[:40]} event: set the `mode` input "
        "(pr, refresh, release or drift)"
    )


def make_plan(ctx: GitHubContext, inputs: ActionInputs) -> Plan:
    default = _default_branch(ctx)
    if inputs.mode == "auto":
        job, why = _auto(ctx, inputs, default)
    else:
        job, why = inputs.mode, f"mode {inputs.mode} (set by the workflow)"
    if job == "release" and not ctx.tag:
        raise UsageError(
            "mode release needs a tag: run it on a release or a tag push (GITHUB_REF is "
            f"{ctx.ref[:80] or 'empty'})"
        )
    pull_number = ctx.pull.number if ctx.pull else None
    if job == "publish" and ctx.workflow_run is None:
        raise UsageError("publishing results-from needs a workflow_run event")
    compare_branch = (ctx.pull.base_ref if ctx.pull and ctx.pull.base_ref else None) or default
    # A shard job sees only part of the suite: the job that merges the shards comments.
    shard_only = inputs.shard is not None and not inputs.results_from
    wants_comment = inputs.comment and not shard_only and job in ("pr", "publish")
    return Plan(
        job=job,
        why=why,
        default_branch=default,
        compare_branch=compare_branch,
        comment=wants_comment and (pull_number is not None or job == "publish"),
        tag=ctx.tag if job == "release" else None,
    )
