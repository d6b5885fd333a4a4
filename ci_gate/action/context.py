"""What the runner tells the Action about the workflow run: ``GITHUB_*`` and the event payload.

The payload (``GITHUB_EVENT_PATH``) is written by GitHub, but parts of it are chosen by whoever
opened the pull request (title, branch name, head repository), so only typed fields are read,
each checked, and none is ever printed unescaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci_gate.bounded_read import read_at_most
from ci_gate.errors import UsageError

_SHA_RE = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")
MAX_EVENT_BYTES = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB


@dataclass(frozen=True)
class PullRef:
    """The pull request a run is about; ``number`` comes from GitHub's event, never an artifact."""

    number: int
    head_sha: str | None
    base_sha: str | None
    base_ref: str | None
    from_fork: bool


@dataclass(frozen=True)
class WorkflowRunRef:
    """The run a ``workflow_run`` event reports on (the fork-safe pair's first workflow)."""

    event: str
    head_sha: str | None
    head_branch: str | None
    head_owner: str | None
    pull_numbers: tuple[int, ...]


@dataclass(frozen=True)
class GitHubContext:
    event_name: str
    repository: str
    sha: str | None
    ref: str
    workspace: Path
    api_url: str
    server_url: str
    run_id: str
    default_branch: str | None
    pull: PullRef | None
    workflow_run: WorkflowRunRef | None
    output_path: Path | None
    summary_path: Path | None

    @property
    def branch(self) -> str | None:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else None

    @property
    def tag(self) -> str | None:
        return self.ref.removeprefix("refs/tags/") if self.ref.startswith("refs/tags/") else None

    def run_url(self) -> str | None:
        if not (self.run_id and self.repository):
            return None
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"


def _get(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for key in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _str(doc: Mapping[str, Any], path: str) -> str | None:
    value = _get(doc, path)
    return value if isinstance(value, str) and value else None


def _sha(doc: Mapping[str, Any], path: str) -> str | None:
    value = _str(doc, path)
    return value if value is not None and _SHA_RE.match(value) else None


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def read_event(path: str | None) -> Mapping[str, Any]:
    """The event payload; an empty mapping when the runner gave none (e.g. a local run)."""
    if not path:
        return {}
    file = Path(path)
    try:
        raw = None if file.stat().st_size > MAX_EVENT_BYTES else read_at_most(file, MAX_EVENT_BYTES)
        if raw is None:
            raise UsageError(f"GITHUB_EVENT_PATH {path}: the event payload is over 25 MB")
        doc = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise UsageError(f"GITHUB_EVENT_PATH {path}: cannot read it: {exc.strerror}") from None
    except (ValueError, RecursionError):  # bad UTF-8, bad JSON, an int of over 4300 digits
        raise UsageError(f"GITHUB_EVENT_PATH {path}: not a JSON event payload") from None
    if not isinstance(doc, dict):
        raise UsageError(f"GITHUB_EVENT_PATH {path}: the payload is not a JSON object")
    return doc


def _check_pull_event(event_name: str, path: str | None, pull: PullRef | None) -> None:
    """GitHub always sends a pull request event with its pull request; without one, the step
    would quietly run without a comment against the wrong baseline."""
    if path and pull is None and event_name in ("pull_request", "pull_request_target"):
        raise UsageError(
            f"GITHUB_EVENT_PATH {path}: a {event_name} event without a pull request (expected "
            "pull_request as an object and a positive pull_request.number)"
        )


def _pull(event: Mapping[str, Any], repository: str) -> PullRef | None:
    raw = event.get("pull_request")
    number = _number(_get(event, "pull_request.number")) or _number(event.get("number"))
    if not isinstance(raw, Mapping) or number is None:
        return None
    head_repo = _str(event, "pull_request.head.repo.full_name")
    return PullRef(
        number=number,
        head_sha=_sha(event, "pull_request.head.sha"),
        base_sha=_sha(event, "pull_request.base.sha"),
        base_ref=_str(event, "pull_request.base.ref"),
        # A deleted fork has no head repository: treat it as a fork, the safe side.
        from_fork=head_repo is None or head_repo.lower() != repository.lower(),
    )


def _workflow_run(event: Mapping[str, Any], repository: str) -> WorkflowRunRef | None:
    raw = event.get("workflow_run")
    if not isinstance(raw, Mapping):
        return None
    numbers: list[int] = []
    for pull in raw.get("pull_requests") or ():
        # Only pull requests into this repository count: the list can name others' too.
        base_repo = str(_get(pull, "base.repo.url") or "") if isinstance(pull, Mapping) else ""
        number = _number(pull.get("number")) if isinstance(pull, Mapping) else None
        if number is not None and base_repo.lower().endswith("/repos/" + repository.lower()):
            numbers.append(number)
    return WorkflowRunRef(
        event=_str(raw, "event") or "",
        head_sha=_sha(raw, "head_sha"),
        head_branch=_str(raw, "head_branch"),
        head_owner=_str(raw, "head_repository.owner.login"),
        pull_numbers=tuple(numbers),
    )


def read_context(env: Mapping[str, str], cwd: Path | None = None) -> GitHubContext:
    """The run's context from ``env``; outside Actions, defaults that describe a local run."""
    event = read_event(env.get("GITHUB_EVENT_PATH"))
    repository = env.get("GITHUB_REPOSITORY") or _str(event, "repository.full_name") or ""
    sha = env.get("GITHUB_SHA") or None
    if sha is not None and not _SHA_RE.match(sha):
        raise UsageError(f"GITHUB_SHA {sha[:60]!r} is not a commit sha")
    workspace = Path(env.get("GITHUB_WORKSPACE") or cwd or Path.cwd())
    if not workspace.is_dir():
        raise UsageError(f"GITHUB_WORKSPACE {workspace}: no such directory")
    output = env.get("GITHUB_OUTPUT")
    summary = env.get("GITHUB_STEP_SUMMARY")
    event_name = env.get("GITHUB_EVENT_NAME") or ""
    pull = _pull(event, repository)
    _check_pull_event(event_name, env.get("GITHUB_EVENT_PATH"), pull)
    return GitHubContext(
        event_name=event_name,
        repository=repository,
        sha=sha,
        ref=env.get("GITHUB_REF") or _str(event, "ref") or "",
        workspace=workspace,
        api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
        server_url=env.get("GITHUB_SERVER_URL") or "https://github.com",
        run_id=env.get("GITHUB_RUN_ID") or "",
        default_branch=_str(event, "repository.default_branch"),
        pull=pull,
        workflow_run=_workflow_run(event, repository),
        output_path=Path(output) if output else None,
        summary_path=Path(summary) if summary else None,
    )
