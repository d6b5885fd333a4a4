"""One suite's part of an Action step: baseline, results, verdict, report files.

Nothing here talks to GitHub: the outcome (verdict, markdown, annotation lines) is published by
``ci_gate.action.publish``, so a failure to post never loses the verdict or the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from ci_gate.action.baseline_pick import (
    BaselinePick,
    NoBaseline,
    at_merge_base,
    head_commit,
    last_release,
)
from ci_gate.action.context import GitHubContext
from ci_gate.action.head_results import collect, provider_env, run_here
from ci_gate.action.inputs import ActionInputs
from ci_gate.action.plan import Plan
from ci_gate.atomic import write_text_atomic
from ci_gate.baseline.index import IndexEntry
from ci_gate.baseline.store import BaselineError, BaselineStore, suite_slug
from ci_gate.commands.compare import choose_policy
from ci_gate.compare.compare import compare
from ci_gate.gate.decide import decide
from ci_gate.gate.model import Verdict
from ci_gate.judge.pairwise import Preferences, judge_pairs
from ci_gate.providers.key_hosts import check_key_hosts
from ci_gate.publish.actions_env import annotation_commands
from ci_gate.publish.sticky import COMMENT_LIMIT
from ci_gate.publish.trend import TrendPoint, trend_charts
from ci_gate.report.html import write_html
from ci_gate.report.json_report import render_json
from ci_gate.report.junit import render_junit
from ci_gate.report.markdown import render_markdown
from ci_gate.report.masking import mask_secrets
from ci_gate.report.sanitize import inline
from ci_gate.report.solo import render_solo
from ci_gate.results.model import Results
from ci_gate.run.grading import grader_ids
from ci_gate.run.shard import Shard
from ci_gate.suite.load import load_suite
from ci_gate.suite.model import Suite

# Room left in a comment for the lines and charts added after the report itself.
_EXTRAS_RESERVE = 4_000
TREND_POINTS = 20
# The artifact name the example workflows upload output-dir under.
HTML_ARTIFACT = "ci-gate-report"


@dataclass(frozen=True)
class SuiteOutcome:
    suite_file: str
    suite_name: str
    verdict: Verdict
    headline: str  # plain text, one line (escaped wherever it is shown)
    markdown: str  # the full report, safe markdown
    results_path: str | None = None  # relative to the workspace
    report_path: str | None = None
    html_path: str | None = None  # the HTML report viewer, when runs were compared
    annotations: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()  # plain text, for the job log
    exit_code: int | None = None  # set when the suite could not be handled at all


@dataclass(frozen=True)
class JobContext:
    inputs: ActionInputs
    ctx: GitHubContext
    plan: Plan
    store: BaselineStore
    env: Mapping[str, str]
    secrets: tuple[str, ...]
    # Commits whose merge-base is looked for, best first; the first in the checkout is used.
    head_candidates: tuple[str | None, ...] = ()
    base_branch: str | None = None  # the branch the pull request merges into, when known


def _rel(ctx: GitHubContext, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ctx.workspace.resolve()))
    except ValueError:
        return str(path)


def _history(store: BaselineStore, slug: str) -> list[IndexEntry] | None:
    """Recent baselines, oldest first; None when the store cannot list them."""
    try:
        return list(reversed(store.history(slug, TREND_POINTS)))
    except BaselineError:
        # The chart only decorates a verdict already made (and a baseline already stored): a
        # store that cannot list its history right now (GitHub down) must not cost either.
        return None


def _trend(entries: list[IndexEntry] | None) -> str:
    if not entries:
        return ""
    points: list[TrendPoint] = [(e.commit, e.pass_rate, e.latency_p95_ms) for e in entries]
    charts = trend_charts(points)
    return f"### Trend over recent baselines\n\n{charts}" if charts else ""


def _link(ctx: GitHubContext) -> str:
    url = ctx.run_url()
    return f"<sub>[Workflow run]({url})</sub>" if url and url.startswith("https://") else ""


def _html_link(ctx: GitHubContext, html_path: str) -> str:
    """Where the HTML report is: in the artifact the workflow uploads (see docs/action.md)."""
    url = ctx.run_url()
    where = f"[{url}]({url})" if url and url.startswith("https://") else "this workflow run"
    # The path is ci-gate's own (output-dir and a suite slug), inside a code span.
    inside = html_path.replace("`", "")
    return (
        f"<sub>Full report: download the `{HTML_ARTIFACT}` artifact from {where} and open"
        f" `{inside}`.</sub>"
    )


class _Job:
    def __init__(self, jc: JobContext, suite_file: str) -> None:
        self.jc = jc
        self.suite_file = suite_file
        self.suite: Suite = load_suite(jc.ctx.workspace / suite_file)
        self.slug = suite_slug(self.suite.name)
        self.out = jc.ctx.workspace / jc.inputs.output_dir / self.slug

    # -- the steps --------------------------------------------------------------------------
    @cached_property
    def head_sha(self) -> str:
        """The commit under test (asked of git once: the baseline, the store and the report
        all name it)."""
        jc = self.jc
        return head_commit(jc.ctx.workspace, (*jc.head_candidates, jc.ctx.sha))

    def baseline(self) -> BaselinePick | NoBaseline:
        jc, plan = self.jc, self.jc.plan
        head = self.head_sha
        branch = jc.base_branch or plan.compare_branch
        if plan.job == "release" and plan.tag is not None:
            return last_release(jc.store, self.slug, jc.ctx.workspace, head, branch, plan.tag)
        return at_merge_base(jc.store, self.slug, jc.ctx.workspace, head, branch)

    @property
    def shard(self) -> Shard | None:
        """The shard this step runs; none when it merges shards from ``results-from``."""
        return self.jc.inputs.shard if not self.jc.inputs.results_from else None

    @property
    def results_file(self) -> Path:
        shard = self.shard
        name = f"results-shard-{shard.index}-of-{shard.count}.json" if shard else "results.json"
        return self.out / name

    def results(self, baseline: BaselinePick | NoBaseline) -> Results:
        jc = self.jc
        output = self.results_file
        if jc.inputs.results_from:
            folder = jc.ctx.workspace / jc.inputs.results_from
            return collect(folder, self.suite.name, output)
        # Judges and embedders get keys too: they are checked like the target.
        graders = [self.suite.target(t) for t in grader_ids(self.suite)]
        if self.suite.pairwise is not None:
            graders.append(self.suite.target(self.pairwise_judge))
        check_key_hosts([self.suite.target(), *graders], jc.inputs.allowed_hosts)
        # Drift and release runs call every case afresh: a cached or reused response would
        # hide exactly the provider change they are there to catch.
        return run_here(
            self.suite,
            output,
            jc.env,
            cache_dir=self.cache_dir,
            fresh=self.fresh,
            reuse_from=baseline.results if isinstance(baseline, BaselinePick) else None,
            shard=self.shard,
        )

    @property
    def fresh(self) -> bool:
        # Drift and release runs call every case afresh: a cached or reused response would
        # hide exactly the provider change they are there to catch.
        return self.jc.inputs.fresh or self.jc.plan.job in ("drift", "release")

    @property
    def cache_dir(self) -> Path:
        env = self.jc.env
        return Path(env.get("CI_GATE_CACHE_DIR") or self.jc.ctx.workspace / ".ci-gate/cache")

    @property
    def pairwise_judge(self) -> str:
        config = self.suite.pairwise
        chosen = (config.judge if config else None) or self.suite.judge.target
        assert chosen is not None, "the suite loader requires a pairwise judge"
        return chosen

    def preferences(self, base: Results, head: Results, seed: int) -> Preferences | None:
        """The pairwise judgement, when the suite asks for one and this job ran the suite: a
        job that publishes another job's results holds secrets it should not spend on them."""
        if self.suite.pairwise is None or self.jc.inputs.results_from:
            return None
        return judge_pairs(
            self.suite,
            base,
            head,
            provider_env(self.jc.env),
            use_cache=not self.fresh,
            cache_dir=self.cache_dir,
            seed=seed,
        )

    def write_reports(self, markdown: str, *files: tuple[str, str]) -> str:
        # Reports are uploaded as artifacts: masked like the comment, since outputs can quote keys.
        secrets = self.jc.secrets
        report = self.out / "report.md"
        write_text_atomic(report, mask_secrets(markdown, secrets))
        for name, text in files:
            write_text_atomic(self.out / name, mask_secrets(text, secrets))
        return _rel(self.jc.ctx, report)

    # -- the outcomes -----------------------------------------------------------------------
    def solo(
        self, results: Results, verdict: Verdict, headline: str, notes: tuple[str, ...]
    ) -> SuiteOutcome:
        parts = [render_solo(results, verdict=verdict, headline=headline, notes=notes)]
        parts += [_trend(_history(self.jc.store, self.slug)), _link(self.jc.ctx)]
        markdown = "\n\n".join(p for p in parts if p) + "\n"
        return SuiteOutcome(
            suite_file=self.suite_file,
            suite_name=self.suite.name,
            verdict=verdict,
            headline=headline,
            markdown=markdown,
            results_path=_rel(self.jc.ctx, self.results_file),
            report_path=self.write_reports(markdown),
        )

    def compared(self, base: BaselinePick, head: Results) -> SuiteOutcome:
        jc = self.jc
        policy = choose_policy("base", base.results, head, {}, ("baseline", "this run"))
        mode = jc.plan.gate_mode
        alpha = policy.release_alpha if mode == "release" else policy.alpha
        comparison = compare(
            base.results,
            head,
            resamples=policy.resamples,
            seed=policy.seed,
            confidence=1.0 - alpha,
            preferences=self.preferences(base.results, head, policy.seed),
        )
        gate = decide(comparison, policy, mode)
        report = render_markdown(comparison, gate, limit=COMMENT_LIMIT - _EXTRAS_RESERVE)
        against = f"Compared with the baseline of {base.description}."
        history = _history(jc.store, self.slug)
        html_file = self.out / "report.html"
        html_path = _rel(jc.ctx, html_file)
        write_html(
            html_file, comparison, gate, base.results, head, history=history, secrets=jc.secrets
        )
        parts = [report.rstrip("\n"), against, _trend(history), _html_link(jc.ctx, html_path)]
        markdown = "\n\n".join(p for p in parts if p) + "\n"
        path = self.write_reports(
            markdown,
            ("report.json", render_json(comparison, gate)),
            ("junit.xml", render_junit(comparison, gate)),
        )
        annotations = annotation_commands(
            comparison, gate, secrets=jc.secrets, file=self.suite_file
        )
        return SuiteOutcome(
            suite_file=self.suite_file,
            suite_name=self.suite.name,
            verdict=gate.verdict,
            headline=gate.headline,
            markdown=markdown,
            results_path=_rel(jc.ctx, self.results_file),
            report_path=path,
            html_path=html_path,
            annotations=tuple(annotations),
        )


def _incomplete(results: Results) -> str | None:
    run = results.run
    if run.status == "complete":
        return None
    return f"the run stopped early ({run.stop_reason or run.status})"


def run_job(jc: JobContext, suite_file: str) -> SuiteOutcome:
    """Everything for one suite: find the baseline, get results, decide, write the reports."""
    job = _Job(jc, suite_file)
    plan = jc.plan
    optional = plan.job == "refresh" or job.shard is not None
    try:
        baseline = job.baseline()
        lookup_failed = None
    except BaselineError as error:
        if not optional:
            raise
        # A refresh or a shard only reuses an earlier baseline's answers: without them it calls
        # every case, which costs more but still gives a baseline or a shard's results.
        baseline = NoBaseline(str(error))
        lookup_failed = (
            f"Could not look for an earlier baseline to reuse its answers ({error}); every case "
            "was called."
        )
    head = job.results(baseline)
    stopped = _incomplete(head)

    if optional:
        outcome = (
            _shard(job, head, stopped) if job.shard is not None else _refresh(job, head, stopped)
        )
        if lookup_failed is None:
            return outcome
        return replace(outcome, notices=(*outcome.notices, inline(lookup_failed, 600)))

    if isinstance(baseline, NoBaseline):
        if stopped:
            return job.solo(head, "error", f"No verdict: {stopped}.", ())
        headline = f"No baseline to compare with: {baseline.reason}."
        return job.solo(head, "inconclusive", headline, ())

    outcome = job.compared(baseline, head)
    if plan.job == "release" and plan.tag and outcome.verdict not in jc.inputs.fail_on:
        commit = job.head_sha
        jc.store.put(job.slug, commit, head, branch=None, tag=plan.tag)
        note = f"Stored this run as the baseline of release {plan.tag} ({commit[:7]})."
        return replace(outcome, notices=(note,))
    return outcome


def _shard(job: _Job, head: Results, stopped: str | None) -> SuiteOutcome:
    assert job.shard is not None
    shard = job.shard.describe()
    if stopped:
        return job.solo(head, "error", f"Shard {shard}: {stopped}.", ())
    return job.solo(
        head, "pass", f"Shard {shard} ran; the job that merges the shards compares them.", ()
    )


def _refresh(job: _Job, head: Results, stopped: str | None) -> SuiteOutcome:
    jc = job.jc
    commit = job.head_sha
    branch = jc.ctx.branch or jc.plan.default_branch
    if stopped:
        headline = f"No baseline stored for {commit[:7]}: {stopped}; rerun the job to finish it."
        return job.solo(head, "error", headline, ())
    jc.store.put(job.slug, commit, head, branch=branch, tag=None)
    headline = f"Baseline stored for {commit[:7]} on {branch}."
    try:
        pruned = jc.store.prune(job.slug, keep_last=jc.inputs.keep_baselines)
        notes = (f"{len(pruned)} older baseline(s) pruned.",) if pruned else ()
    except BaselineError as error:
        # The baseline is stored: failing to tidy older ones must not undo that verdict.
        notes = (f"Older baselines were not pruned ({error}); the next refresh prunes them.",)
    outcome = job.solo(head, "pass", headline, tuple(inline(n, 200) for n in notes))
    # The artifact store leaves the upload to the workflow, and says what to upload.
    told = tuple(getattr(jc.store, "notices", ()))
    return replace(outcome, notices=(headline, *told))
