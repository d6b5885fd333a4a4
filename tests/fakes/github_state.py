"""In-memory GitHub: repositories with pull requests, issue comments, check runs, artifacts and a
tiny git object model (commits holding whole file maps, refs pointing at commits).

No HTTP here: the fake server translates ``ApiError`` into GitHub's error bodies, and
``github_json`` renders these records the way the REST API does.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import threading
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

TokenKind = Literal["app", "user"]
Permission = Literal["write", "read"]
# The login GitHub shows for comments made with an Actions GITHUB_TOKEN, and its real user id.
ACTIONS_BOT = "github-actions[bot]"
_KNOWN_USER_IDS = {ACTIONS_BOT: 41898282, "octocat": 583231}
ARTIFACT_RETENTION = timedelta(days=90)


class ApiError(Exception):
    """What GitHub answers instead: ``status`` and ``message``, plus ``errors`` for 422."""

    def __init__(
        self, status: int, message: str, errors: list[Mapping[str, Any]] | None = None
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.errors = errors


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def validation_failed(resource: str, field_name: str, code: str, message: str = "") -> ApiError:
    error: dict[str, Any] = {"resource": resource, "code": code, "field": field_name}
    if message:
        error["message"] = message
    return ApiError(422, "Validation Failed", [error])


@dataclass(frozen=True)
class Identity:
    login: str
    kind: TokenKind  # "app": a GitHub App installation token, such as Actions' GITHUB_TOKEN
    permission: Permission

    @property
    def user_type(self) -> str:
        return "Bot" if self.kind == "app" else "User"


@dataclass
class Comment:
    id: int
    issue_number: int
    body: str
    user: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Pull:
    number: int
    id: int
    title: str
    body: str | None
    user: str
    head_sha: str
    head_ref: str
    base_sha: str
    base_ref: str
    head_owner: str  # the fork's owner for a pull request from a fork
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    draft: bool = False
    head_name: str = ""  # the fork's repository name when it differs from the base's


@dataclass
class CheckRun:
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    started_at: datetime | None
    completed_at: datetime | None
    external_id: str | None
    details_url: str | None
    output: dict[str, Any]
    app_owner: str


@dataclass
class Artifact:
    id: int
    name: str
    data: bytes  # the zip archive served by the download redirect
    created_at: datetime
    expired: bool
    head_sha: str
    head_branch: str
    run_id: int


@dataclass
class Commit:
    sha: str
    parents: tuple[str, ...]
    files: dict[str, bytes]
    message: str
    date: datetime


@dataclass
class Repo:
    owner: str
    name: str
    id: int
    default_branch: str
    created_at: datetime
    issues: set[int] = field(default_factory=set)
    pulls: dict[int, Pull] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    artifacts: dict[int, Artifact] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/main" -> commit sha

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def has_issue(self, number: int) -> bool:
        return number in self.issues or number in self.pulls

    def resolve(self, ref: str) -> Commit:
        """The commit a branch, tag, full ref or sha names (GitHub's ``ref`` parameters)."""
        for candidate in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}", f"refs/{ref}"):
            if candidate in self.refs:
                return self.commits[self.refs[candidate]]
        if ref in self.commits:
            return self.commits[ref]
        raise ApiError(404, f"No commit found for the ref {ref}")

    def is_ancestor(self, ancestor: str, sha: str) -> bool:
        todo, seen = [sha], set()
        while todo:
            current = todo.pop()
            if current == ancestor:
                return True
            if current in seen or current not in self.commits:
                continue
            seen.add(current)
            todo.extend(self.commits[current].parents)
        return False


def blob_sha(data: bytes) -> str:
    """Git's blob id, which the contents API reports and expects back on update."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data, usedforsecurity=False).hexdigest()


def zip_bytes(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


class State:
    """Everything the fake GitHub knows. Mutated from the server thread and from tests, so
    every public method holds ``lock``."""

    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.repos: dict[str, Repo] = {}
        self.tokens: dict[str, Identity] = {}
        self.users: dict[str, tuple[int, str]] = {}  # login -> (id, "User" | "Bot")
        self._ids = itertools.count(1_000_000_001)  # ids are global across repositories
        self._repo_ids = itertools.count(700_000_001)
        self._shas = itertools.count(1)

    def now(self) -> datetime:
        return self.clock().replace(microsecond=0)

    def next_id(self) -> int:
        return next(self._ids)

    def user(self, login: str, user_type: str | None = None) -> tuple[int, str]:
        with self.lock:
            if login not in self.users:
                kind = user_type or ("Bot" if login.endswith("[bot]") else "User")
                self.users[login] = (_KNOWN_USER_IDS.get(login, 10_000 + len(self.users)), kind)
            return self.users[login]

    def add_token(self, value: str, identity: Identity) -> None:
        with self.lock:
            self.tokens[value] = identity
            self.user(identity.login, identity.user_type)

    # -- repositories and git ----------------------------------------------------------------
    def repo(self, owner: str, name: str) -> Repo:
        with self.lock:
            found = self.repos.get(f"{owner}/{name}".lower())
            if found is None:
                raise not_found()
            return found

    def add_repo(self, owner: str, name: str, default_branch: str = "main") -> Repo:
        with self.lock:
            key = f"{owner}/{name}".lower()
            if key in self.repos:
                return self.repos[key]
            repo = Repo(owner, name, next(self._repo_ids), default_branch, self.now())
            self.repos[key] = repo
            self.user(owner)
            root = self.add_commit(repo, {}, "Initial commit")
            repo.refs[f"refs/heads/{default_branch}"] = root.sha
            return repo

    def new_sha(self, seed: str) -> str:
        return hashlib.sha1(
            f"{next(self._shas)}:{seed}".encode(), usedforsecurity=False
        ).hexdigest()

    def add_commit(
        self,
        repo: Repo,
        files: Mapping[str, bytes],
        message: str,
        parents: tuple[str, ...] = (),
        sha: str | None = None,
    ) -> Commit:
        with self.lock:
            commit = Commit(sha or self.new_sha(message), parents, dict(files), message, self.now())
            repo.commits.setdefault(commit.sha, commit)
            return repo.commits[commit.sha]

    def commit_to_branch(
        self, repo: Repo, branch: str, files: Mapping[str, bytes], message: str
    ) -> Commit:
        """A new commit on ``branch`` whose tree is the branch's files updated by ``files``
        (``b""`` values are kept; use ``remove_file`` to delete), like a push."""
        with self.lock:
            ref = f"refs/heads/{branch}"
            if ref not in repo.refs:
                raise ApiError(404, f"Branch {branch} not found")
            parent = repo.commits[repo.refs[ref]]
            commit = self.add_commit(repo, {**parent.files, **files}, message, (parent.sha,))
            repo.refs[ref] = commit.sha
            return commit

    def remove_file(self, repo: Repo, branch: str, path: str, message: str) -> Commit:
        with self.lock:
            ref = f"refs/heads/{branch}"
            if ref not in repo.refs:
                raise ApiError(404, f"Branch {branch} not found")
            parent = repo.commits[repo.refs[ref]]
            files = {k: v for k, v in parent.files.items() if k != path}
            commit = self.add_commit(repo, files, message, (parent.sha,))
            repo.refs[ref] = commit.sha
            return commit

    # -- pull requests, comments, artifacts ------------------------------------------------
    def add_pull(self, repo: Repo, pull: Pull) -> Pull:
        with self.lock:
            repo.pulls[pull.number] = pull
            self.user(pull.user)
            for sha in (pull.base_sha, pull.head_sha):
                if sha not in repo.commits:
                    self.add_commit(repo, {}, f"commit {sha[:7]}", sha=sha)
            if pull.head_owner.lower() == repo.owner.lower():
                repo.refs.setdefault(f"refs/heads/{pull.head_ref}", pull.head_sha)
            repo.refs[f"refs/pull/{pull.number}/head"] = pull.head_sha
            return pull

    def add_comment(
        self,
        repo: Repo,
        number: int,
        body: str,
        user: str,
        user_type: str | None = None,
        created_at: datetime | None = None,
    ) -> Comment:
        with self.lock:
            if not repo.has_issue(number):
                raise not_found()
            self.user(user, user_type)
            when = created_at or self.now()
            comment = Comment(self.next_id(), number, body, user, when, when)
            repo.comments[comment.id] = comment
            return comment

    def find_comment(self, repo: Repo, comment_id: int) -> Comment:
        with self.lock:
            comment = repo.comments.get(comment_id)
            if comment is None:
                raise not_found()
            return comment

    def add_artifact(
        self,
        repo: Repo,
        name: str,
        files: Mapping[str, bytes],
        head_sha: str,
        *,
        expired: bool = False,
        head_branch: str = "main",
        run_id: int = 0,
        created_at: datetime | None = None,
    ) -> Artifact:
        with self.lock:
            artifact = Artifact(
                self.next_id(),
                name,
                zip_bytes(files),
                created_at or self.now(),
                expired,
                head_sha,
                head_branch,
                run_id or self.next_id(),
            )
            repo.artifacts[artifact.id] = artifact
            return artifact

    def find_artifact(self, artifact_id: int) -> tuple[Repo, Artifact] | None:
        with self.lock:
            for repo in self.repos.values():
                if artifact_id in repo.artifacts:
                    return repo, repo.artifacts[artifact_id]
            return None
