"""One comment per suite per pull request, updated in place on every push.

The comment is recognised by a hidden marker that must be the *first line* of its body and by
its author, ci-gate's own identity (``github-actions[bot]`` with the default token). Both are
needed: anyone can write the marker in a comment of their own, and a model output quoted in the
report could hold it too, but only at the start of a body written by ci-gate does it count (the
sanitiser also breaks up ``<!--`` in untrusted text). Nothing here raises: a failure to post is
an outcome with a reason, so the verdict and the job summary are never lost because of it.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterable, Sequence

from ci_gate.publish.github_api import (
    CommentInfo,
    GitHubApiError,
    GitHubClient,
    GitHubPermissionError,
    PublishOutcome,
    check_repo,
)
from ci_gate.report.masking import mask_secrets
from ci_gate.report.sanitize import cap_markdown

DEFAULT_IDENTITY = "github-actions[bot]"
COMMENT_LIMIT = 65_536  # characters; GitHub answers 422 beyond
FORK_DOCS = "docs/action.md#fork-pull-requests"
CUT_NOTE = (
    "_The report was cut to fit GitHub's comment limit; the full report is in the job summary "
    "and the workflow's artifacts._"
)
_SAFE_RE = re.compile(r"[A-Za-z0-9_.-]+")
_UNSAFE_RE = re.compile(r"[^A-Za-z0-9_.-]+")
_KEY_MAX = 100


def suite_key(suite_name: str) -> str:
    """``suite_name`` reduced to ``[A-Za-z0-9_.-]``, with a short hash when that changed it.

    The hash keeps two suites whose names differ only in other characters ("a b", "a/b") from
    sharing a comment.
    """
    if _SAFE_RE.fullmatch(suite_name) and len(suite_name) <= _KEY_MAX:
        return suite_name
    digest = hashlib.sha256(suite_name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    safe = _UNSAFE_RE.sub("_", suite_name).strip("_")[: _KEY_MAX - 11]
    return f"{safe}-{digest}" if safe else digest


def marker(suite_name: str) -> str:
    return f"<!-- ci-gate:sticky suite={suite_key(suite_name)} -->"


def sticky_body(suite_name: str, markdown: str, secrets: Iterable[str] = ()) -> str:
    """The comment body: the marker line, then the report, within GitHub's limit."""
    head = marker(suite_name) + "\n"
    report = mask_secrets(markdown, secrets)
    if not report.strip():
        report = "_ci-gate produced an empty report._"
    return head + cap_markdown(report, COMMENT_LIMIT - len(head), CUT_NOTE)


def is_sticky(comment: CommentInfo, suite_name: str, identity: str = DEFAULT_IDENTITY) -> bool:
    """Whether ``comment`` is ci-gate's comment for ``suite_name``: author and first line."""
    if comment.author.casefold() != identity.casefold():
        return False
    first_line = comment.body.split("\n", 1)[0].rstrip("\r")
    return first_line == marker(suite_name)


def find_sticky(
    comments: Iterable[CommentInfo], suite_name: str, identity: str = DEFAULT_IDENTITY
) -> list[CommentInfo]:
    """ci-gate's comments for ``suite_name``, oldest first (several only after a race)."""
    found = [c for c in comments if is_sticky(c, suite_name, identity)]
    return sorted(found, key=_age_key)


def _age_key(comment: CommentInfo) -> tuple[float, int]:
    created = comment.created_at
    return (created.timestamp() if created is not None else float("-inf"), comment.id)


def publish_sticky(
    client: GitHubClient,
    repo: str,
    number: int,
    suite_name: str,
    markdown: str,
    *,
    identity: str = DEFAULT_IDENTITY,
    secrets: Sequence[str] = (),
) -> PublishOutcome:
    """Create or update ci-gate's comment for ``suite_name`` on pull request ``number``."""
    body = sticky_body(suite_name, markdown, (*secrets, *client.secrets))
    try:
        check_repo(repo)
        found = find_sticky(client.list_issue_comments(repo, number), suite_name, identity)
        if not found:
            created = client.create_issue_comment(repo, number, body)
            return PublishOutcome(True, created.url or None, None)
        *older, newest = found
        url = client.edit_issue_comment(repo, number, newest.id, body)
    except GitHubPermissionError as error:
        return PublishOutcome(False, None, _no_permission(error))
    except GitHubApiError as error:
        return PublishOutcome(False, None, f"no comment posted: {error}", failed=True)
    for duplicate in older:
        # A leftover duplicate is harmless, and the next run retries the clean-up.
        with contextlib.suppress(GitHubApiError):
            client.delete_issue_comment(repo, number, duplicate.id)
    return PublishOutcome(True, url or newest.url or None, None)


def _no_permission(error: GitHubApiError) -> str:
    return (
        "no comment posted: the token may not write to this pull request (GitHub gives pull "
        "requests from forks a read-only token and no secrets); the report is in the job "
        f"summary. To comment on fork pull requests, use the two-workflow pattern ({FORK_DOCS}). "
        f"(GitHub answered {error.status}: {error.said or 'forbidden'})"
    )
