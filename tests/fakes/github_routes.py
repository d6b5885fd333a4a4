"""What the fake GitHub does for issue comments, pull requests, check runs and users, given a
request that already passed authentication and validation (``github_storage`` has the contents,
git refs and artifacts operations). Handlers raise ``ApiError`` for GitHub's errors."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from tests.fakes import github_json as js
from tests.fakes.github_state import (
    ApiError,
    CheckRun,
    Identity,
    Repo,
    State,
    not_found,
    validation_failed,
)

COMMENT_MAX_CHARS = 65536


@dataclass(frozen=True)
class Call:
    state: State
    api: str  # the server's base URL, which API URLs in answers start with
    identity: Identity
    params: Mapping[str, str]
    query: Mapping[str, str]
    query_items: Sequence[tuple[str, str]]
    path: str
    body: Any
    accept: str
    blob_url: Callable[[int], str]

    @property
    def repo(self) -> Repo:
        return self.state.repo(self.params["owner"], self.params["repo"])

    def int_param(self, name: str) -> int:
        return int(self.params[name])

    def field(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, default) if isinstance(self.body, dict) else default


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able; None for no body
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a non-JSON body (raw file contents)


def paginate(call: Call, items: Sequence[Any]) -> tuple[list[Any], dict[str, str]]:
    """One page of ``items`` and GitHub's ``Link`` header (prev, next, last, first)."""
    per_page = min(int(call.query.get("per_page", "30")), 100)
    page = max(int(call.query.get("page", "1")), 1)
    last = max(1, math.ceil(len(items) / per_page))

    def link(number: int, rel: str) -> str:
        query = [(k, v) for k, v in call.query_items if k != "page"] + [("page", str(number))]
        return f'<{call.api}{call.path}?{urlencode(query)}>; rel="{rel}"'

    links = []
    if page > 1:
        links.append(link(page - 1, "prev"))
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links.append(link(1, "first"))
    chunk = list(items[(page - 1) * per_page : page * per_page])
    return chunk, ({"Link": ", ".join(links)} if links else {})


def parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- issue comments ---------------------------------------------------------------------------
def _check_comment_body(body: str) -> None:
    if len(body) > COMMENT_MAX_CHARS:
        raise validation_failed(
            "IssueComment", "body", "custom", "body is too long (maximum is 65536 characters)"
        )
    if not body.strip():
        raise validation_failed("IssueComment", "body", "missing_field")


def list_comments(call: Call) -> Reply:
    repo, number = call.repo, call.int_param("issue_number")
    if not repo.has_issue(number):
        raise not_found()
    since = parse_time(call.query.get("since"))
    with call.state.lock:
        found = [
            c
            for c in repo.comments.values()
            if c.issue_number == number and (since is None or c.updated_at >= since)
        ]
    chunk, headers = paginate(call, found)
    return Reply(200, [js.comment_json(call.state, call.api, repo, c) for c in chunk], headers)


def create_comment(call: Call) -> Reply:
    repo = call.repo
    body = str(call.field("body"))
    _check_comment_body(body)
    comment = call.state.add_comment(
        repo, call.int_param("issue_number"), body, call.identity.login, call.identity.user_type
    )
    data = js.comment_json(call.state, call.api, repo, comment)
    return Reply(201, data, {"Location": data["url"]})


def get_comment(call: Call) -> Reply:
    repo = call.repo
    comment = call.state.find_comment(repo, call.int_param("comment_id"))
    return Reply(200, js.comment_json(call.state, call.api, repo, comment))


def update_comment(call: Call) -> Reply:
    repo = call.repo
    comment = call.state.find_comment(repo, call.int_param("comment_id"))
    body = str(call.field("body"))
    _check_comment_body(body)
    with call.state.lock:
        comment.body = body
        comment.updated_at = call.state.now()
    return Reply(200, js.comment_json(call.state, call.api, repo, comment))


def delete_comment(call: Call) -> Reply:
    repo = call.repo
    comment = call.state.find_comment(repo, call.int_param("comment_id"))
    with call.state.lock:
        del repo.comments[comment.id]
    return Reply(204)


# -- pull requests ----------------------------------------------------------------------------
def get_pull(call: Call) -> Reply:
    repo = call.repo
    pull = repo.pulls.get(call.int_param("pull_number"))
    if pull is None:
        raise not_found()
    return Reply(200, js.pull_json(call.state, call.api, repo, pull))


def update_pull(call: Call) -> Reply:
    repo = call.repo
    pull = repo.pulls.get(call.int_param("pull_number"))
    if pull is None:
        raise not_found()
    with call.state.lock:
        pull.title = call.field("title", pull.title)
        pull.body = call.field("body", pull.body)
        pull.state = call.field("state", pull.state)
        pull.base_ref = call.field("base", pull.base_ref)
        pull.updated_at = call.state.now()
    return Reply(200, js.pull_json(call.state, call.api, repo, pull))


def list_pulls(call: Call) -> Reply:
    repo = call.repo
    state = call.query.get("state", "open")
    head, base = call.query.get("head"), call.query.get("base")
    found = [
        p
        for p in repo.pulls.values()
        if state in ("all", p.state)
        and (head is None or head == f"{p.head_owner}:{p.head_ref}")
        and (base is None or base == p.base_ref)
    ]
    key = "updated_at" if call.query.get("sort") == "updated" else "created_at"
    found.sort(key=lambda p: (getattr(p, key), p.number))
    if call.query.get("direction", "desc") == "desc":
        found.reverse()
    chunk, headers = paginate(call, found)
    return Reply(200, [js.pull_json(call.state, call.api, repo, p) for p in chunk], headers)


# -- check runs -------------------------------------------------------------------------------
def _require_app(call: Call) -> None:
    if call.identity.kind != "app":
        raise ApiError(403, "You must authenticate via a GitHub App.")


def _apply_check(call: Call, run: CheckRun) -> None:
    now = call.state.now()
    for key in ("name", "details_url", "external_id", "status"):
        if call.field(key) is not None:
            setattr(run, key, call.field(key))
    for key in ("started_at", "completed_at"):
        if call.field(key) is not None:
            setattr(run, key, parse_time(call.field(key)))
    if call.field("conclusion") is not None:
        run.conclusion, run.status = call.field("conclusion"), "completed"
    if run.status == "completed":
        if run.conclusion is None:
            raise validation_failed("CheckRun", "conclusion", "missing_field")
        run.completed_at = run.completed_at or now
    if run.status != "queued":
        run.started_at = run.started_at or now
    output = call.field("output")
    if isinstance(output, dict):
        run.output.update({k: output[k] for k in ("title", "summary", "text") if k in output})
        run.output["annotations_count"] = run.output.get("annotations_count", 0) + len(
            output.get("annotations", [])
        )


def create_check_run(call: Call) -> Reply:
    _require_app(call)
    repo = call.repo
    head_sha = str(call.field("head_sha"))
    if head_sha not in repo.commits:
        raise ApiError(422, f"No commit found for SHA: {head_sha}")
    with call.state.lock:
        run = CheckRun(
            call.state.next_id(),
            str(call.field("name")),
            head_sha,
            "queued",
            None,
            None,
            None,
            None,
            None,
            {},
            call.identity.login,
        )
        _apply_check(call, run)
        repo.check_runs[run.id] = run
    return Reply(201, js.check_run_json(call.state, call.api, repo, run))


def _find_check(call: Call) -> tuple[Repo, CheckRun]:
    repo = call.repo
    run = repo.check_runs.get(call.int_param("check_run_id"))
    if run is None:
        raise not_found()
    return repo, run


def get_check_run(call: Call) -> Reply:
    repo, run = _find_check(call)
    return Reply(200, js.check_run_json(call.state, call.api, repo, run))


def update_check_run(call: Call) -> Reply:
    _require_app(call)
    repo, run = _find_check(call)
    with call.state.lock:
        _apply_check(call, run)
    return Reply(200, js.check_run_json(call.state, call.api, repo, run))


# -- outside the subset -----------------------------------------------------------------------
def get_authenticated_user(call: Call) -> Reply:
    if call.identity.kind == "app":
        # What an Actions GITHUB_TOKEN (an installation token) gets: it is not a user.
        raise ApiError(403, "Resource not accessible by integration")
    return Reply(200, js.user_json(call.state, call.api, call.identity.login))


def get_repo(call: Call) -> Reply:
    return Reply(200, js.repo_json(call.state, call.api, call.repo))


ROUTES: Mapping[str, Callable[[Call], Reply]] = {
    "issues/list-comments": list_comments,
    "issues/create-comment": create_comment,
    "issues/get-comment": get_comment,
    "issues/update-comment": update_comment,
    "issues/delete-comment": delete_comment,
    "pulls/get": get_pull,
    "pulls/update": update_pull,
    "pulls/list": list_pulls,
    "checks/create": create_check_run,
    "checks/get": get_check_run,
    "checks/update": update_check_run,
    "users/get-authenticated": get_authenticated_user,
    "repos/get": get_repo,
}
