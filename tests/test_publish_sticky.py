"""The sticky PR comment, against the fake GitHub API server through real PyGithub."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from ci_gate.publish.github_api import (
    CommentInfo,
    GitHubApiError,
    GitHubClient,
    PublishOutcome,
    check_repo,
    connect,
)
from ci_gate.publish.sticky import (
    COMMENT_LIMIT,
    CUT_NOTE,
    FORK_DOCS,
    find_sticky,
    marker,
    publish_sticky,
    sticky_body,
    suite_key,
)
from tests.fakes.github_server import READ_TOKEN, WRITE_TOKEN, GitHubServer

REPO = "octo/repo"
BOT = "github-actions[bot]"


class Clock:
    """One minute later at every reading, so comments have distinct creation times."""

    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def gh() -> Iterator[GitHubServer]:
    with GitHubServer(clock=Clock()) as server:
        server.add_repo("octo", "repo")
        server.add_pull("octo", "repo", 7, "1" * 40, "2" * 40, head_ref="feature", user="alice")
        yield server
        assert server.response_errors == []


def client(gh: GitHubServer, token: str = WRITE_TOKEN) -> GitHubClient:
    return connect(
        token, gh.url, seconds_between_requests=None, seconds_between_writes=None, retry=None
    )


def publish(
    gh: GitHubServer, markdown: str, token: str = WRITE_TOKEN, suite: str = "smoke"
) -> PublishOutcome:
    with client(gh, token) as c:
        return publish_sticky(c, REPO, 7, suite, markdown)


def test_first_publish_creates_and_second_updates_the_same_comment(gh: GitHubServer) -> None:
    first = publish(gh, "## report one")
    [comment] = gh.comments("octo", "repo", 7)
    assert first.posted and first.reason is None
    assert first.url == f"https://github.com/octo/repo/pull/7#issuecomment-{comment.id}"
    assert comment.body == "<!-- ci-gate:sticky suite=smoke -->\n## report one"
    assert comment.user == BOT

    second = publish(gh, "## report two")
    [updated] = gh.comments("octo", "repo", 7)
    assert second.posted and second.url == first.url
    assert updated.id == comment.id
    assert updated.body.endswith("## report two")
    assert [r.method for r in gh.requests] == ["GET", "POST", "GET", "PATCH"]
    assert gh.violations == []


def test_each_suite_has_its_own_comment(gh: GitHubServer) -> None:
    publish(gh, "smoke report", suite="smoke")
    publish(gh, "full report", suite="full")
    publish(gh, "smoke again", suite="smoke")
    bodies = sorted(c.body for c in gh.comments("octo", "repo", 7))
    assert bodies == [
        "<!-- ci-gate:sticky suite=full -->\nfull report",
        "<!-- ci-gate:sticky suite=smoke -->\nsmoke again",
    ]
    assert gh.violations == []


def test_forged_marker_by_another_user_is_ignored(gh: GitHubServer) -> None:
    forged = gh.add_comment("octo", "repo", 7, marker("smoke") + "\nall green!", user="mallory")
    outcome = publish(gh, "real report")
    comments = {c.id: c for c in gh.comments("octo", "repo", 7)}
    assert outcome.posted and len(comments) == 2
    assert comments[forged.id].body.endswith("all green!")  # untouched
    [ours] = [c for c in comments.values() if c.id != forged.id]
    assert ours.user == BOT and ours.body.endswith("real report")
    assert gh.violations == []


def test_bot_comment_quoting_the_marker_mid_body_is_ignored(gh: GitHubServer) -> None:
    # E.g. another tool running as github-actions[bot] quoted a model output holding the marker.
    quoted = gh.add_comment("octo", "repo", 7, "Model said:\n" + marker("smoke"), user=BOT)
    publish(gh, "real report")
    comments = {c.id: c for c in gh.comments("octo", "repo", 7)}
    assert len(comments) == 2
    assert comments[quoted.id].body == "Model said:\n" + marker("smoke")
    assert gh.violations == []


def test_marker_needs_the_exact_first_line(gh: GitHubServer) -> None:
    gh.add_comment("octo", "repo", 7, marker("smoke") + " extra\nx", user=BOT)
    gh.add_comment("octo", "repo", 7, "<!-- ci-gate:sticky suite=smoke-2 -->\nx", user=BOT)
    publish(gh, "report")
    assert len(gh.comments("octo", "repo", 7)) == 3


def test_read_only_token_is_not_posted_with_a_reason(gh: GitHubServer) -> None:
    outcome = publish(gh, "report", token=READ_TOKEN)
    assert not outcome.posted and outcome.url is None
    assert outcome.reason is not None
    assert "fork" in outcome.reason and FORK_DOCS in outcome.reason
    assert "Resource not accessible by integration" in outcome.reason
    assert "\n" not in outcome.reason and READ_TOKEN not in outcome.reason
    assert gh.comments("octo", "repo", 7) == []
    assert gh.violations == []


def test_server_error_is_not_posted_with_a_reason(gh: GitHubServer) -> None:
    gh.fail_next(502)
    outcome = publish(gh, "report")
    assert not outcome.posted
    assert outcome.reason is not None and "502" in outcome.reason
    assert WRITE_TOKEN not in outcome.reason
    assert gh.comments("octo", "repo", 7) == []


def test_failed_update_is_not_posted_and_keeps_the_old_comment(gh: GitHubServer) -> None:
    publish(gh, "old")
    gh.fail_next(500, match="PATCH")
    outcome = publish(gh, "new")
    assert not outcome.posted and outcome.reason is not None and "500" in outcome.reason
    [comment] = gh.comments("octo", "repo", 7)
    assert comment.body.endswith("\nold")


def test_unreachable_api_is_not_posted_with_a_reason(gh: GitHubServer) -> None:
    gh.reset(match="GET")
    outcome = publish(gh, "report")
    assert not outcome.posted
    assert outcome.reason is not None and "no answer from the GitHub API" in outcome.reason


def test_rate_limit_and_bad_credentials_are_explained(gh: GitHubServer) -> None:
    gh.secondary_rate_limit()
    limited = publish(gh, "report")
    assert not limited.posted and limited.reason is not None and "rate limit" in limited.reason
    refused = publish(gh, "report", token="ghs_" + "z" * 36)
    assert not refused.posted and refused.reason is not None
    assert "401" in refused.reason and "github-token" in refused.reason
    assert "z" * 36 not in refused.reason
    with client(gh) as c:
        bad_repo = publish_sticky(c, "octo/repo\n::error::x", 7, "s", "report")
    assert not bad_repo.posted and bad_repo.reason is not None and "\n" not in bad_repo.reason
    assert gh.comments("octo", "repo", 7) == []


def test_found_across_pages_of_250_comments(gh: GitHubServer) -> None:
    for i in range(120):
        gh.add_comment("octo", "repo", 7, f"chatter {i}", user="bob")
    publish(gh, "first")
    for i in range(130):
        gh.add_comment("octo", "repo", 7, f"more chatter {i}", user="bob")
    [ours] = [c for c in gh.comments("octo", "repo", 7) if c.user == BOT]
    gh.requests.clear()
    outcome = publish(gh, "second")
    assert outcome.posted
    assert [c.body for c in gh.comments("octo", "repo", 7) if c.user == BOT] == [
        marker("smoke") + "\nsecond"
    ]
    assert gh.comments("octo", "repo", 7)[120].id == ours.id
    assert [dict(r.query).get("page") for r in gh.requests if r.method == "GET"] == [
        None,
        "2",
        "3",
    ]
    assert gh.violations == []


def test_race_duplicates_keep_the_newest_and_delete_the_others(gh: GitHubServer) -> None:
    older = gh.add_comment("octo", "repo", 7, marker("smoke") + "\nrun A", user=BOT)
    newer = gh.add_comment("octo", "repo", 7, marker("smoke") + "\nrun B", user=BOT)
    outcome = publish(gh, "run C")
    [kept] = gh.comments("octo", "repo", 7)
    assert outcome.posted and kept.id == newer.id != older.id
    assert kept.body.endswith("run C")
    assert gh.violations == []


def test_a_70000_character_report_is_cut_and_accepted(gh: GitHubServer) -> None:
    report = "".join(f"| case {i} | {'x' * 60} |\n" for i in range(1000))
    assert len(report) > 70_000
    outcome = publish(gh, report)
    [comment] = gh.comments("octo", "repo", 7)
    assert outcome.posted
    assert len(comment.body) <= COMMENT_LIMIT
    assert comment.body.startswith(marker("smoke") + "\n| case 0 |")
    assert comment.body.endswith(CUT_NOTE)
    assert gh.violations == []


def test_secrets_are_masked_in_the_body(gh: GitHubServer) -> None:
    with client(gh) as c:
        publish_sticky(
            c, REPO, 7, "smoke", "key sk-abcdefghijklmnopqrstuv and hunter22", secrets=["hunter22"]
        )
    [comment] = gh.comments("octo", "repo", 7)
    assert "sk-abc" not in comment.body and "hunter22" not in comment.body
    assert comment.body.count("***") == 2


def test_suite_key_is_restricted_and_distinct() -> None:
    assert suite_key("smoke_1.v2-x") == "smoke_1.v2-x"
    hostile = suite_key("a b --> <script>")
    assert set(hostile) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
    assert suite_key("a b") != suite_key("a/b") != suite_key("a_b")
    assert marker("x -->\n<!--").count("-->") == 1
    assert len(suite_key("n" * 500)) <= 100


def test_find_sticky_orders_oldest_first_and_checks_author_case_insensitively() -> None:
    t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    body = marker("s") + "\nx"
    comments = [
        CommentInfo(3, "GitHub-Actions[bot]", body, "u3", t + timedelta(hours=2)),
        CommentInfo(1, BOT, body, "u1", t),
        CommentInfo(2, "eve", body, "u2", t + timedelta(hours=1)),
        CommentInfo(4, BOT, body.replace("\n", "\r\n"), "u4", t + timedelta(hours=3)),
    ]
    assert [c.id for c in find_sticky(comments, "s")] == [1, 3, 4]
    assert [c.id for c in find_sticky(comments, "s", identity="eve")] == [2]


def test_empty_report_still_makes_a_valid_body() -> None:
    body = sticky_body("s", "  \n")
    assert body.startswith(marker("s") + "\n") and body.split("\n", 1)[1].strip()


def test_connect_without_token_and_bad_repo_are_one_line_errors() -> None:
    with pytest.raises(GitHubApiError, match="github-token"):
        connect("")
    with pytest.raises(GitHubApiError, match="owner/name"):
        check_repo("octo/repo/../x\n::error::x")
    assert check_repo("octo/re.po_1-x") == "octo/re.po_1-x"


def test_pygithub_is_imported_only_when_needed() -> None:
    import importlib
    import subprocess

    code = (
        "import sys, ci_gate.publish.sticky, ci_gate.publish.actions_env, ci_gate.publish.trend;"
        "print('github' in sys.modules, 'requests' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
    assert importlib.import_module("ci_gate.publish.github_api").PER_PAGE == 100
