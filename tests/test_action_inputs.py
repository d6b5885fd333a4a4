"""The Action's inputs and context: checked once, one line per mistake; mode from the event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_gate.action.context import read_context
from ci_gate.action.inputs import read_inputs
from ci_gate.action.plan import make_plan
from ci_gate.errors import ProviderConfigError, UsageError
from ci_gate.providers.key_hosts import check_key_hosts
from ci_gate.suite.model import Target

ROOT = Path(__file__).parents[1]
WEBHOOKS = ROOT.parent / "shared" / "data" / "webhooks"


def test_inputs_are_read_with_hyphens_kept_and_defaults_applied() -> None:
    inputs = read_inputs(
        {
            "INPUT_SUITE": "evals/a.yaml\nevals/b.yaml\n",
            "INPUT_GITHUB-TOKEN": "ghs_x",
            "INPUT_FAIL-ON": "fail, inconclusive",
            "INPUT_ALLOWED-HOSTS": "https://API.openai.com/\n*.openai.azure.com, localhost:8080",
            "INPUT_SHARD": "2/4",
            "INPUT_BASELINE-STORE": "file:.ci-gate/baselines",
        }
    )
    assert inputs.suites == ("evals/a.yaml", "evals/b.yaml")
    assert inputs.github_token == "ghs_x"
    assert inputs.fail_on == {"fail", "inconclusive"}
    assert inputs.allowed_hosts == ("api.openai.com", "*.openai.azure.com", "localhost:8080")
    assert inputs.shard is not None and (inputs.shard.index, inputs.shard.count) == (2, 4)
    assert inputs.store.kind == "file" and inputs.store.path == ".ci-gate/baselines"
    assert inputs.mode == "auto" and inputs.comment is True and inputs.fresh is False
    assert inputs.keep_baselines == 100 and inputs.output_dir == "ci-gate-out"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SUITE", "", "input `suite` is required"),
        ("SUITE", "../outside.yaml", "input `suite`"),
        ("SUITE", "/etc/passwd", "input `suite`"),
        ("MODE", "sometimes", "input `mode`"),
        ("COMMENT", "maybe", "input `comment`"),
        ("FAIL-ON", "fail,regressed", "input `fail-on`"),
        ("SHARD", "5/4", "input `shard`"),
        ("SHARD", "one", "input `shard`"),
        ("ALLOWED-HOSTS", "evil.com/path", "input `allowed-hosts`"),
        ("BASELINE-STORE", "s3", "input `baseline-store`"),
        ("BASELINE-STORE", "file:../../x", "input `baseline-store`"),
        ("BASELINE-BRANCH", "a..b", "input `baseline-branch`"),
        ("KEEP-BASELINES", "0", "input `keep-baselines`"),
        ("COMMENT-AUTHOR", "no spaces allowed", "input `comment-author`"),
        ("RESULTS-FROM", "../x", "input `results-from`"),
    ],
)
def test_a_wrong_input_is_one_line_naming_it(name: str, value: str, expected: str) -> None:
    env = {"INPUT_SUITE": "s.yaml", f"INPUT_{name}": value}
    with pytest.raises(UsageError) as caught:
        read_inputs(env)
    message = str(caught.value)
    assert expected in message and "\n" not in message


def test_fail_on_none_fails_on_nothing() -> None:
    assert read_inputs({"INPUT_SUITE": "s.yaml", "INPUT_FAIL-ON": "none"}).fail_on == frozenset()


def context_for(tmp_path: Path, event_name: str, payload: str, **env: str) -> object:
    full = {
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(WEBHOOKS / payload),
        "GITHUB_WORKSPACE": str(tmp_path),
        **env,
    }
    return read_context(full)


@pytest.mark.parametrize(
    ("event", "payload", "ref", "job", "comment"),
    [
        ("pull_request", "pull_request/opened.payload.json", "refs/pull/2/merge", "pr", True),
        ("pull_request", "pull_request/synchronize.payload.json", "refs/pull/2/merge", "pr", True),
        ("push", "push/with-new-branch.payload.json", "refs/heads/master", "refresh", False),
        ("push", "push/payload.json", "refs/tags/simple-tag", "release", False),
        ("release", "release/published.payload.json", "refs/tags/0.0.1", "release", False),
        ("push", "push/with-new-branch.payload.json", "refs/heads/topic", "pr", False),
    ],
)
def test_mode_auto_follows_the_event(
    tmp_path: Path, event: str, payload: str, ref: str, job: str, comment: bool
) -> None:
    ctx = context_for(tmp_path, event, payload, GITHUB_REF=ref)
    plan = make_plan(ctx, read_inputs({"INPUT_SUITE": "s.yaml"}))  # type: ignore[arg-type]
    assert (plan.job, plan.comment) == (job, comment)
    if job == "release":
        assert plan.tag == ref.removeprefix("refs/tags/")


def test_schedule_on_the_default_branch_is_a_drift_run(tmp_path: Path) -> None:
    event = tmp_path / "schedule.json"
    event.write_text(json.dumps({"schedule": "0 6 * * *"}))
    ctx = read_context(
        {
            "GITHUB_EVENT_NAME": "schedule",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_WORKSPACE": str(tmp_path),
        }
    )
    plan = make_plan(ctx, read_inputs({"INPUT_SUITE": "s.yaml"}))
    assert plan.job == "drift" and not plan.comment


def test_workflow_run_needs_results_from(tmp_path: Path) -> None:
    ctx = context_for(tmp_path, "workflow_run", "workflow_run/completed.payload.json")
    with pytest.raises(UsageError, match="results-from"):
        make_plan(ctx, read_inputs({"INPUT_SUITE": "s.yaml"}))  # type: ignore[arg-type]
    plan = make_plan(
        ctx,  # type: ignore[arg-type]
        read_inputs({"INPUT_SUITE": "s.yaml", "INPUT_RESULTS-FROM": "downloaded"}),
    )
    assert plan.job == "publish" and plan.comment


def test_the_fork_flag_and_pull_number_come_from_the_event(tmp_path: Path) -> None:
    fork = read_context(
        {
            "GITHUB_EVENT_PATH": str(
                WEBHOOKS
                / "pull_request/actions-event-path/opened.from-fork.listendev-lstn-217.json"
            ),
            "GITHUB_WORKSPACE": str(tmp_path),
        }
    )
    assert fork.pull is not None and (fork.pull.number, fork.pull.from_fork) == (217, True)
    same = read_context(
        {
            "GITHUB_EVENT_PATH": str(WEBHOOKS / "pull_request/opened.payload.json"),
            "GITHUB_WORKSPACE": str(tmp_path),
        }
    )
    assert same.pull is not None and (same.pull.number, same.pull.from_fork) == (2, False)


def test_a_broken_event_file_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "event.json"
    bad.write_text("{not json")
    with pytest.raises(UsageError, match="GITHUB_EVENT_PATH"):
        read_context({"GITHUB_EVENT_PATH": str(bad), "GITHUB_WORKSPACE": str(tmp_path)})
    with pytest.raises(UsageError, match="GITHUB_SHA"):
        read_context({"GITHUB_SHA": "HEAD", "GITHUB_WORKSPACE": str(tmp_path)})


def target(provider: str, **options: object) -> Target:
    return Target(id="t", provider=provider, model="m", params={}, options=options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tgt", "allowed", "ok"),
    [
        (target("openai"), (), True),  # the provider's own endpoint
        (target("openai", base_url="https://api.openai.com/v1"), (), True),
        (target("openai", base_url="https://evil.example/v1"), (), False),
        (target("openai", base_url="https://evil.example/v1"), ("evil.example",), True),
        (target("openai", base_url="https://x.openai.azure.com/v1"), ("*.openai.azure.com",), True),
        (target("openai", base_url="https://openai.azure.com/v1"), ("*.openai.azure.com",), False),
        (target("openai", base_url="http://127.0.0.1:8080/v1"), ("127.0.0.1:8080",), True),
        (target("openai", base_url="http://127.0.0.1:9090/v1"), ("127.0.0.1:8080",), False),
        (target("anthropic", base_url="https://api.anthropic.com"), (), True),
        (target("http", url="https://svc.example/x", headers={"a": "{{ env.TOKEN }}"}), (), False),
        (target("http", url="https://svc.example/x", headers={"a": "plain"}), (), True),
        (target("python", function="m:f"), (), True),
    ],
)
def test_keys_only_go_to_allowed_hosts(tgt: Target, allowed: tuple[str, ...], ok: bool) -> None:
    if ok:
        check_key_hosts([tgt], allowed)
    else:
        with pytest.raises(ProviderConfigError, match="allowed-hosts"):
            check_key_hosts([tgt], allowed)
