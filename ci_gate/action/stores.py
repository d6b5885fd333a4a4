"""The baseline store named by the ``baseline-store`` input, opened for this workspace."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from ci_gate.action.context import GitHubContext
from ci_gate.action.inputs import ActionInputs
from ci_gate.baseline.artifact_store import ArtifactStore
from ci_gate.baseline.branch_store import BranchStore
from ci_gate.baseline.file_store import FileStore
from ci_gate.baseline.store import BaselineStore
from ci_gate.errors import UsageError


def open_store(inputs: ActionInputs, ctx: GitHubContext) -> AbstractContextManager[BaselineStore]:
    """The store, as a context manager (the artifact store holds an HTTP client)."""
    spec = inputs.store
    if spec.kind == "file":
        assert spec.path is not None  # read_inputs guarantees it
        return nullcontext(FileStore(ctx.workspace / spec.path))
    if spec.kind == "branch":
        return nullcontext(BranchStore(ctx.workspace, spec.branch))
    if not inputs.github_token:
        raise UsageError("input `github-token` is required by baseline-store: artifact")
    if not ctx.repository:
        raise UsageError("baseline-store artifact needs GITHUB_REPOSITORY (owner/name)")
    upload = Path(ctx.workspace) / inputs.output_dir / "baselines"
    return ArtifactStore(ctx.api_url, ctx.repository, inputs.github_token, upload)
