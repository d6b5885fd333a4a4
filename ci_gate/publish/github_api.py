"""The one module that talks to GitHub's REST API through PyGithub.

PyGithub and requests are imported inside functions only: importing them costs a noticeable part
of a second, which every ``ci-gate`` command that never posts anything should not pay. Their
exceptions are translated here, and only here, into one-line :class:`GitHubApiError` messages;
what GitHub says is masked and flattened first, since an error body is text we do not control.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ci_gate.errors import GateError
from ci_gate.report.masking import mask_secrets
from ci_gate.report.sanitize import log_line

if TYPE_CHECKING:
    from github import Github
    from github.Issue import Issue

DEFAULT_API_URL = "https://api.github.com"
# 100 is GitHub's maximum page size: a long PR thread costs a third of the requests of 30.
PER_PAGE = 100
_REPO_RE = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


class _Default(enum.Enum):
    token = "PyGithub's default"


DEFAULT = _Default.token
"""Use PyGithub's own setting (throttling between requests and writes, retries on 5xx)."""


@dataclass(frozen=True)
class PublishOutcome:
    """Whether a report reached the pull request; ``reason`` says why not, for the job log."""

    posted: bool
    url: str | None
    reason: str | None
    # GitHub failed (rather than refused, as it does a fork's read-only token): worth a warning,
    # since the pull request may still show an older run's comment.
    failed: bool = False


@dataclass(frozen=True)
class CommentInfo:
    """An issue comment as read from the API: enough to recognise and update ci-gate's own."""

    id: int
    author: str
    body: str
    url: str
    created_at: datetime | None


@dataclass(frozen=True)
class PullInfo:
    """A pull request as the API describes it: where it starts and what it merges into."""

    number: int
    state: str
    head_sha: str
    base_sha: str
    base_ref: str


class GitHubApiError(GateError):
    """A GitHub API request failed; ``status`` is the HTTP status (None: no answer at all)."""

    def __init__(self, message: str, status: int | None = None, said: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.said = said  # GitHub's own message, masked and on one line


class GitHubPermissionError(GitHubApiError):
    """The token may not do this: typically the read-only token of a fork pull request."""


@dataclass
class GitHubClient:
    """PyGithub behind a small surface; every method raises :class:`GitHubApiError` only."""

    github: Github
    secrets: tuple[str, ...] = ()

    def close(self) -> None:
        self.github.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _issue(self, repo: str, number: int) -> Issue:
        # lazy=True (see connect): building these objects makes no request.
        return self.github.get_repo(repo).get_issue(number)

    def list_issue_comments(self, repo: str, number: int) -> list[CommentInfo]:
        """Every comment of issue or pull request ``number``, oldest first, across all pages."""
        with self._translate(f"list the comments of {repo}#{number}"):
            return [_info(c) for c in self._issue(repo, number).get_comments()]

    def create_issue_comment(self, repo: str, number: int, body: str) -> CommentInfo:
        with self._translate(f"comment on {repo}#{number}"):
            return _info(self._issue(repo, number).create_comment(body))

    def edit_issue_comment(self, repo: str, number: int, comment_id: int, body: str) -> str:
        """Replace the body of a comment; returns its URL."""
        with self._translate(f"update comment {comment_id} on {repo}#{number}"):
            comment = self._issue(repo, number).get_comment(comment_id)
            comment.edit(body)
            return str(comment.html_url)

    def delete_issue_comment(self, repo: str, number: int, comment_id: int) -> None:
        with self._translate(f"delete comment {comment_id} on {repo}#{number}"):
            self._issue(repo, number).get_comment(comment_id).delete()

    def get_pull(self, repo: str, number: int) -> PullInfo:
        with self._translate(f"read pull request {repo}#{number}"):
            return _pull_info(self.github.get_repo(repo).get_pull(number))

    def find_pull(
        self, repo: str, head_owner: str, head_branch: str, head_sha: str
    ) -> PullInfo | None:
        """The open pull request of ``head_owner:head_branch`` whose head is ``head_sha``.

        A ``workflow_run`` event from a fork lists no pull requests, so the one it ran for is
        found from the run's head repository, branch and commit, all taken from the event.
        """
        label = f"{head_owner}:{head_branch}"
        with self._translate(f"find the pull request of {label} in {repo}"):
            for pull in self.github.get_repo(repo).get_pulls(state="open", head=label):
                info = _pull_info(pull)
                if info.head_sha == head_sha:
                    return info
        return None

    @contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        try:
            yield
        except GateError:
            raise
        except Exception as exc:
            raise translate(exc, action, self.secrets) from None


def _info(comment: object) -> CommentInfo:
    user = getattr(comment, "user", None)
    created = getattr(comment, "created_at", None)
    return CommentInfo(
        id=int(getattr(comment, "id", 0)),
        author=str(getattr(user, "login", "") or ""),
        body=str(getattr(comment, "body", "") or ""),
        url=str(getattr(comment, "html_url", "") or ""),
        created_at=created if isinstance(created, datetime) else None,
    )


def _pull_info(pull: object) -> PullInfo:
    head, base = getattr(pull, "head", None), getattr(pull, "base", None)
    return PullInfo(
        number=int(getattr(pull, "number", 0)),
        state=str(getattr(pull, "state", "") or ""),
        head_sha=str(getattr(head, "sha", "") or ""),
        base_sha=str(getattr(base, "sha", "") or ""),
        base_ref=str(getattr(base, "ref", "") or ""),
    )


def connect(
    token: str,
    base_url: str = DEFAULT_API_URL,
    *,
    seconds_between_requests: float | _Default | None = DEFAULT,
    seconds_between_writes: float | _Default | None = DEFAULT,
    retry: int | _Default | None = DEFAULT,
    timeout: int = 15,
    secrets: Iterable[str] = (),
) -> GitHubClient:
    """A client for ``base_url`` (``GITHUB_API_URL``; GitHub Enterprise has its own).

    Production keeps PyGithub's defaults: a pause between requests and writes (GitHub's advice
    against secondary rate limits) and retries with back-off on 5xx. Tests pass ``None`` to both
    pauses and to ``retry``. The token is added to ``secrets`` so no message can show it.
    """
    import github

    if not token:
        raise GitHubApiError("no GitHub token: pass the github-token input (or GITHUB_TOKEN)")
    options: dict[str, object] = {}
    if seconds_between_requests is not DEFAULT:
        options["seconds_between_requests"] = seconds_between_requests
    if seconds_between_writes is not DEFAULT:
        options["seconds_between_writes"] = seconds_between_writes
    if retry is not DEFAULT:
        options["retry"] = retry
    client = github.Github(
        auth=github.Auth.Token(token),
        base_url=base_url.rstrip("/"),
        timeout=timeout,
        per_page=PER_PAGE,
        lazy=True,
        user_agent="ci-gate",
        **options,  # type: ignore[arg-type]
    )
    return GitHubClient(client, (token, *secrets))


def check_repo(full_name: str) -> str:
    """``owner/name`` as GitHub spells repositories; anything else is a configuration error."""
    if not _REPO_RE.fullmatch(full_name):
        shown = log_line(full_name, 80)
        raise GitHubApiError(f"GitHub repository {shown!r} is not of the form owner/name")
    return full_name


def translate(exc: BaseException, action: str, secrets: Iterable[str] = ()) -> GitHubApiError:
    """A one-line error for a PyGithub or requests exception raised while doing ``action``."""
    import github
    import requests

    hidden = tuple(secrets)

    def clean(text: str, limit: int = 300) -> str:
        return log_line(mask_secrets(text, hidden), limit)

    action = clean(action, 200)

    if isinstance(exc, github.GithubException):
        status = exc.status
        message = _api_message(exc.data) or exc.message or type(exc).__name__
        said = clean(message)
        if status == 403 and "not accessible by integration" in message.lower():
            return GitHubPermissionError(
                f"could not {action}: GitHub answered 403 {said} (the token lacks write "
                "permission; pull requests from forks always get a read-only token)",
                status,
                said,
            )
        if status == 401:
            return GitHubApiError(
                f"could not {action}: GitHub answered 401 {said} (check the github-token input)",
                status,
                said,
            )
        if status in (403, 429) and "rate limit" in message.lower():
            return GitHubApiError(
                f"could not {action}: GitHub's rate limit was hit ({said}); try again later",
                status,
                said,
            )
        if status == 403:
            return GitHubPermissionError(
                f"could not {action}: GitHub answered 403 {said}", status, said
            )
        return GitHubApiError(f"could not {action}: GitHub answered {status} {said}", status, said)
    if isinstance(exc, requests.Timeout):
        return GitHubApiError(f"could not {action}: the GitHub API did not answer in time")
    if isinstance(exc, requests.RequestException):
        return GitHubApiError(
            f"could not {action}: no answer from the GitHub API ({clean(type(exc).__name__)}: "
            f"{clean(str(exc), 200)})"
        )
    if isinstance(exc, (ValueError, TypeError, KeyError, AttributeError)):
        # PyGithub reads a body that is not GitHub's JSON (a proxy's error page, an answer cut
        # short) as text or half an object, and fails on it later in one of these ways.
        return GitHubApiError(
            f"could not {action}: GitHub's answer was not the JSON its API gives (an outage or a "
            f"proxy page, or an answer cut short: {clean(type(exc).__name__)}); rerun the job"
        )
    return GitHubApiError(f"could not {action}: {clean(type(exc).__name__)}: {clean(str(exc))}")


def _api_message(data: object) -> str:
    if isinstance(data, dict):
        message = data.get("message")
        return message if isinstance(message, str) else ""
    return data if isinstance(data, str) else ""
