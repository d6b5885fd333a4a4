"""The fake GitHub API server answers PyGithub the way GitHub does, and rejects (and records)
requests GitHub's API description does not allow."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import github
import httpx
import pytest
import requests
from github import Auth, Github, GithubException

from tests.fakes.github_server import (
    HANDLERS,
    READ_TOKEN,
    SECONDARY_LIMIT_MESSAGE,
    USER_TOKEN,
    WRITE_TOKEN,
    GitHubServer,
)

WEBHOOKS = Path(__file__).parents[1].parent / "shared" / "data" / "webhooks"
HEAD, BASE = "1" * 40, "2" * 40


class Clock:
    """Advances one minute per reading, so edits get a later ``updated_at``."""

    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def gh() -> Iterator[GitHubServer]:
    with GitHubServer(clock=Clock()) as server:
        server.add_repo("octo", "repo")
        server.add_pull("octo", "repo", 7, HEAD, BASE, head_ref="feature", user="alice")
        yield server
        assert server.response_errors == []  # every answer matched GitHub's response schema


def client(gh: GitHubServer, token: str = WRITE_TOKEN, **kwargs: Any) -> Github:
    # PyGithub waits 0.25 s between requests and 1 s between writes by default (GitHub's
    # advice against secondary limits), and retries 5xx: neither belongs in a fast test.
    kwargs.setdefault("retry", None)
    kwargs.setdefault("seconds_between_requests", None)
    kwargs.setdefault("seconds_between_writes", None)
    return Github(auth=Auth.Token(token), base_url=gh.url, lazy=True, **kwargs)


def raw(gh: GitHubServer, token: str = WRITE_TOKEN) -> httpx.Client:
    return httpx.Client(base_url=gh.url, headers={"Authorization": f"Bearer {token}"})


def test_pygithub_comments_as_the_actions_bot(gh: GitHubServer) -> None:
    with client(gh) as g:
        pull = g.get_repo("octo/repo").get_pull(7)
        comment = pull.create_issue_comment("<!-- ci-gate:suite -->\nhello")
        assert comment.user.login == "github-actions[bot]"
        assert comment.user.type == "Bot"
        assert comment.html_url == f"https://github.com/octo/repo/pull/7#issuecomment-{comment.id}"
        created = comment.updated_at
        comment.edit("<!-- ci-gate:suite -->\nupdated")
        assert comment.body.endswith("updated")
        assert comment.updated_at > created
        fetched = g.get_repo("octo/repo").get_issue(7).get_comments()
        assert [c.body for c in fetched] == ["<!-- ci-gate:suite -->\nupdated"]
    [stored] = gh.comments("octo", "repo", 7)
    assert (stored.user, stored.body.endswith("updated")) == ("github-actions[bot]", True)
    assert gh.violations == []
    assert [r.status for r in gh.requests] == [200, 201, 200, 200]
    assert gh.requests[1].body == {"body": "<!-- ci-gate:suite -->\nhello"}


def test_pagination_walks_link_headers_across_three_pages(gh: GitHubServer) -> None:
    for i in range(250):
        gh.add_comment("octo", "repo", 7, f"comment {i}", user="bob")
    with client(gh, per_page=100) as g:
        bodies = [c.body for c in g.get_repo("octo/repo").get_issue(7).get_comments()]
    assert bodies == [f"comment {i}" for i in range(250)]
    assert [dict(r.query) for r in gh.requests] == [
        {"per_page": "100"},
        {"per_page": "100", "page": "2"},
        {"per_page": "100", "page": "3"},
    ]
    with raw(gh) as http:
        first = http.get("/repos/octo/repo/issues/7/comments", params={"per_page": 100})
        middle = http.get("/repos/octo/repo/issues/7/comments?per_page=100&page=2")
    base = f"{gh.url}/repos/octo/repo/issues/7/comments?per_page=100"
    assert first.headers["Link"] == f'<{base}&page=2>; rel="next", <{base}&page=3>; rel="last"'
    assert middle.headers["Link"] == (
        f'<{base}&page=1>; rel="prev", <{base}&page=3>; rel="next", '
        f'<{base}&page=3>; rel="last", <{base}&page=1>; rel="first"'
    )
    assert first.headers["X-RateLimit-Limit"] == "5000"
    with client(gh) as g:  # PyGithub counts from the rel="last" link of a per_page=1 request
        assert g.get_repo("octo/repo").get_issue(7).get_comments().totalCount == 250
    assert gh.violations == []


def test_get_pull_request_and_forks(gh: GitHubServer) -> None:
    gh.add_pull("octo", "repo", 8, "3" * 40, BASE, "patch-1", user="mallory", from_fork=True)
    with client(gh) as g:
        own, fork = (g.get_repo("octo/repo").get_pull(n) for n in (7, 8))
        assert (own.number, own.head.sha, own.base.sha, own.head.ref) == (7, HEAD, BASE, "feature")
        assert own.user.login == "alice" and own.head.repo.full_name == "octo/repo"
        assert fork.head.repo.full_name == "mallory/repo" and fork.head.repo.fork is True
        assert fork.head.label == "mallory:patch-1"
        with pytest.raises(github.UnknownObjectException):
            _ = g.get_repo("octo/repo").get_pull(99).title
    assert gh.violations == []


def test_read_only_token_is_refused_like_a_fork_pull_request(gh: GitHubServer) -> None:
    with client(gh, READ_TOKEN) as g, pytest.raises(GithubException) as caught:
        g.get_repo("octo/repo").get_issue(7).create_comment("hi")
    assert caught.value.status == 403
    assert caught.value.data == {
        "message": "Resource not accessible by integration",
        "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
        "status": "403",
    }
    assert gh.comments("octo", "repo", 7) == []
    with client(gh, "ghs_unknown") as g, pytest.raises(github.BadCredentialsException) as bad:
        _ = g.get_repo("octo/repo").get_pull(7).title
    assert bad.value.status == 401 and bad.value.data["message"] == "Bad credentials"


def test_authenticated_user_is_refused_to_installation_tokens(gh: GitHubServer) -> None:
    with client(gh) as g, pytest.raises(GithubException) as caught:
        _ = g.get_user().login
    assert caught.value.status == 403
    assert caught.value.data["message"] == "Resource not accessible by integration"
    with client(gh, USER_TOKEN) as g:
        assert g.get_user().login == "octocat"
    gh.token("ghp_other", "carol", "read", "user")
    with client(gh, "ghp_other") as g:
        assert g.get_user().type == "User"


def test_comment_over_65536_characters_is_422(gh: GitHubServer) -> None:
    with client(gh) as g, pytest.raises(GithubException) as caught:
        g.get_repo("octo/repo").get_issue(7).create_comment("x" * 70_000)
    assert caught.value.status == 422
    assert caught.value.data["message"] == "Validation Failed"
    assert caught.value.data["errors"] == [
        {
            "resource": "IssueComment",
            "code": "custom",
            "field": "body",
            "message": "body is too long (maximum is 65536 characters)",
        }
    ]
    with client(gh) as g:  # exactly at the limit is accepted
        assert len(g.get_repo("octo/repo").get_issue(7).create_comment("y" * 65536).body) == 65536
    assert gh.violations == []


def test_artifacts_list_filter_and_download(gh: GitHubServer) -> None:
    for sha in ("a" * 40, "b" * 40):
        gh.add_artifact("octo", "repo", "ci-gate-results", {"results.json": sha.encode()}, sha)
    gh.add_artifact("octo", "repo", "other", {"x": b"1"}, "c" * 40)
    old = gh.add_artifact("octo", "repo", "ci-gate-results", {"r": b"0"}, "d" * 40, expired=True)
    with client(gh) as g:
        found = list(g.get_repo("octo/repo").get_artifacts(name="ci-gate-results"))
    assert [a.workflow_run.head_sha for a in found] == ["d" * 40, "b" * 40, "a" * 40]
    assert found[0].expired is True and found[1].expired is False
    download = requests.get(
        found[1].archive_download_url,
        headers={"Authorization": f"token {WRITE_TOKEN}"},
        timeout=10,
    )
    assert download.status_code == 200
    assert [r.status_code for r in download.history] == [302]
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert archive.read("results.json") == b"b" * 40
    assert gh.blob_token_leaks == []  # the redirect left the API host: requests dropped the token
    httpx.get(download.url, headers={"Authorization": f"token {WRITE_TOKEN}"})
    assert len(gh.blob_token_leaks) == 1  # a client forwarding the token by hand is caught
    gone = requests.get(
        f"{gh.url}/repos/octo/repo/actions/artifacts/{old.id}/zip",
        headers={"Authorization": f"token {WRITE_TOKEN}"},
        timeout=10,
    )
    assert gone.status_code == 410 and gone.json()["message"] == "Artifact has expired"
    assert gh.violations == []


def test_requests_outside_the_description_are_rejected_and_recorded(gh: GitHubServer) -> None:
    with raw(gh) as http:
        too_many = http.get("/repos/octo/repo/issues/7/comments", params={"per_page": 500})
        not_a_number = http.get("/repos/octo/repo/issues/seven/comments")
        wrong_type = http.post("/repos/octo/repo/issues/7/comments", json={"body": 5})
        missing = http.post("/repos/octo/repo/issues/7/comments", json={"text": "hi"})
        garbage = http.post("/repos/octo/repo/issues/7/comments", content=b"{not json")
        unknown = http.get("/repos/octo/repo/issues/7/timeline")
        typo = http.post("/repos/octo/repo/issues/7/comments", json={"body": "a", "bdy": "b"})
        bad_time = http.get("/repos/octo/repo/issues/7/comments", params={"since": "yesterday"})
    assert too_many.status_code == 422 and too_many.json()["message"] == "Validation Failed"
    assert not_a_number.status_code == 404
    assert wrong_type.status_code == 422
    assert wrong_type.json()["message"] == (
        "Invalid request.\n\nFor 'properties/body', 5 is not a string."
    )
    assert missing.json()["message"] == 'Invalid request.\n\n"body" wasn\'t supplied.'
    assert garbage.status_code == 400
    assert unknown.status_code == 404 and unknown.json()["message"] == "Not Found"
    assert typo.status_code == 201  # GitHub ignores unknown fields, but the fake records them
    assert bad_time.status_code == 422
    messages = [v.message for v in gh.violations]
    assert len(messages) == 8
    assert "per_page: 500 is greater than the maximum of 100" in messages[0]
    assert messages[-2] == "body: unknown field 'bdy' (GitHub ignores it)"
    assert "'yesterday' is not a 'date-time'" in messages[-1]
    assert gh.comments("octo", "repo", 7)[0].body == "a"


def test_faults_secondary_rate_limit_502_and_reset(gh: GitHubServer) -> None:
    gh.fail_next(502, times=2)
    with client(gh, retry=github.GithubRetry(total=3)) as g:  # backoff 0: no waiting
        assert g.get_repo("octo/repo").get_pull(7).title == "A change"
    assert [r.status for r in gh.requests] == [502, 502, 200]
    gh.secondary_rate_limit(retry_after="0", match="POST ")
    with client(gh, retry=github.GithubRetry(total=3)) as g:
        g.get_repo("octo/repo").get_issue(7).create_comment("after the limit")
    assert [r.status for r in gh.requests[3:]] == [403, 201]
    gh.secondary_rate_limit()
    with client(gh) as g, pytest.raises(GithubException) as limited:
        _ = g.get_repo("octo/repo").get_pull(7).title
    assert limited.value.status == 403 and limited.value.data["message"] == SECONDARY_LIMIT_MESSAGE
    assert limited.value.headers is not None and limited.value.headers["retry-after"] == "0"
    gh.reset()
    with client(gh) as g, pytest.raises(requests.ConnectionError):
        _ = g.get_repo("octo/repo").get_pull(7).title
    assert gh.pending_faults == 0
    assert all(WRITE_TOKEN not in json.dumps(dict(r.headers)) for r in gh.requests)
    assert {r.headers.get("Authorization") for r in gh.requests} == {"***"}


def test_check_runs_need_an_app_token(gh: GitHubServer) -> None:
    with client(gh) as g:
        repo = g.get_repo("octo/repo")
        run = repo.create_check_run("ci-gate", HEAD, status="in_progress")
        assert run.status == "in_progress" and run.raw_data["conclusion"] is None
        assert [p.number for p in run.pull_requests] == [7]
        run.edit(conclusion="failure", output={"title": "2 regressions", "summary": "see"})
        assert (run.status, run.conclusion, run.output.title) == (
            "completed",
            "failure",
            "2 regressions",
        )
    with client(gh, USER_TOKEN) as g, pytest.raises(GithubException) as caught:
        g.get_repo("octo/repo").create_check_run("ci-gate", HEAD)
    assert caught.value.data["message"] == "You must authenticate via a GitHub App."
    assert gh.violations == []


def test_contents_and_git_refs(gh: GitHubServer) -> None:
    with client(gh) as g:
        repo = g.get_repo("octo/repo")
        created = repo.create_file(".ci-gate/index.json", "add", b'{"n": 1}', branch="main")
        current = repo.get_contents(".ci-gate/index.json", ref="main")
        assert not isinstance(current, list) and current.decoded_content == b'{"n": 1}'
        repo.update_file(current.path, "bump", b'{"n": 2}', current.sha, branch="main")
        with pytest.raises(GithubException) as stale:
            repo.update_file(current.path, "again", b"{}", current.sha, branch="main")
        assert stale.value.status == 409
        ref = repo.create_git_ref("refs/heads/ci-gate-baselines", created["commit"].sha)
        assert repo.get_git_ref("heads/ci-gate-baselines").object.sha == created["commit"].sha
        ref.edit(gh.push("octo", "repo", "ci-gate-baselines", {"a": b"1"}))  # fast forward
        with pytest.raises(GithubException) as backwards:
            ref.edit(created["commit"].sha)
        assert backwards.value.data["message"] == "Update is not a fast forward"
        ref.edit(created["commit"].sha, force=True)
        assert repo.get_git_ref("heads/ci-gate-baselines").object.sha == created["commit"].sha
        listing = repo.get_contents(".ci-gate")
        assert isinstance(listing, list) and [c.name for c in listing] == ["index.json"]
        assert repo.default_branch == "main"  # lazy: nothing fetched
    assert gh.violations == []


def test_every_operation_answers_what_the_description_promises(gh: GitHubServer) -> None:
    artifact = gh.add_artifact("octo", "repo", "results", {"r.json": b"{}"}, HEAD, run_id=5)
    sha = gh.push("octo", "repo", "main", {"a.txt": b"a"})
    content = base64.b64encode(b"x").decode()
    with raw(gh) as http, raw(gh, USER_TOKEN) as user:
        made = http.post("/repos/octo/repo/issues/7/comments", json={"body": "a"})
        run = http.post("/repos/octo/repo/check-runs", json={"name": "n", "head_sha": HEAD})
        cid, rid, aid = made.json()["id"], run.json()["id"], artifact.id
        put = http.put("/repos/octo/repo/contents/b.txt", json={"message": "m", "content": content})
        calls = [
            ("GET", "/repos/octo/repo/issues/7/comments", None),
            ("GET", f"/repos/octo/repo/issues/comments/{cid}", None),
            ("PATCH", f"/repos/octo/repo/issues/comments/{cid}", {"body": "b"}),
            ("GET", "/repos/octo/repo/pulls/7", None),
            ("PATCH", "/repos/octo/repo/pulls/7", {"title": "t"}),
            ("GET", "/repos/octo/repo/pulls?state=all", None),
            ("GET", f"/repos/octo/repo/check-runs/{rid}", None),
            ("PATCH", f"/repos/octo/repo/check-runs/{rid}", {"conclusion": "success"}),
            ("GET", "/repos/octo/repo/contents/a.txt", None),
            ("GET", "/repos/octo/repo/contents/", None),
            (
                "DELETE",
                "/repos/octo/repo/contents/b.txt",
                {"message": "m", "sha": put.json()["content"]["sha"]},
            ),
            ("POST", "/repos/octo/repo/git/refs", {"ref": "refs/heads/x", "sha": sha}),
            ("GET", "/repos/octo/repo/git/ref/heads/x", None),
            ("PATCH", "/repos/octo/repo/git/refs/heads/x", {"sha": sha}),
            ("GET", "/repos/octo/repo/git/matching-refs/heads", None),
            ("DELETE", "/repos/octo/repo/git/refs/heads/x", None),
            ("GET", "/repos/octo/repo/actions/artifacts", None),
            ("GET", "/repos/octo/repo/actions/runs/5/artifacts", None),
            ("GET", f"/repos/octo/repo/actions/artifacts/{aid}", None),
            ("GET", f"/repos/octo/repo/actions/artifacts/{aid}/zip", None),
            ("DELETE", f"/repos/octo/repo/actions/artifacts/{aid}", None),
            ("DELETE", f"/repos/octo/repo/issues/comments/{cid}", None),
            ("GET", "/repos/octo/repo", None),
        ]
        answers = [http.request(m, p, json=b) if b else http.request(m, p) for m, p, b in calls]
        answers.append(user.get("/user"))
    assert [a.status_code for a in answers] == [
        200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200,
        201, 200, 200, 200, 204, 200, 200, 200, 302, 204, 204, 200, 200,
    ]  # fmt: skip
    checked = set()
    for record, answer in zip(gh.requests, [made, run, put, *answers], strict=True):
        op = gh.api.operation(str(record.operation_id))
        body = answer.json() if answer.content else None
        assert gh.api.check_response(op, answer.status_code, body) == []
        checked.add(op.operation_id)
    assert checked == set(HANDLERS)
    assert {op.operation_id for op in gh.api.operations} == set(HANDLERS)
    assert gh.violations == []


@pytest.mark.parametrize(
    "payload_path",
    sorted(WEBHOOKS.glob("pull_request/**/*.json")),
    ids=lambda p: p.name,
)
def test_seed_from_real_pull_request_events(payload_path: Path) -> None:
    payload = json.loads(payload_path.read_text(encoding="utf-8"))
    event_pull = payload["pull_request"]
    with GitHubServer() as server:
        server.seed_from_event(payload)
        with client(server) as g:
            repo = g.get_repo(payload["repository"]["full_name"])
            pull = repo.get_pull(payload["number"])
            assert (pull.head.sha, pull.base.sha) == (
                event_pull["head"]["sha"],
                event_pull["base"]["sha"],
            )
            assert pull.user.login == event_pull["user"]["login"]
            assert pull.head.repo.full_name == event_pull["head"]["repo"]["full_name"]
            assert pull.state == event_pull["state"]
            pull.create_issue_comment("seeded")
        owner, name = payload["repository"]["owner"]["login"], payload["repository"]["name"]
        assert [c.body for c in server.comments(owner, name, pull.number)] == ["seeded"]
        assert server.violations == [] and server.response_errors == []


def test_seed_from_workflow_run_and_push_events() -> None:
    run_event = json.loads(
        (WEBHOOKS / "workflow_run" / "completed.with-pull-requests.payload.json").read_text()
    )
    push = json.loads((WEBHOOKS / "push" / "with-new-branch.payload.json").read_text())
    with GitHubServer() as server:
        pull = server.seed_from_event(run_event)
        assert pull is not None and (pull.number, pull.head_sha[:8]) == (2, "ec26c3e5")
        assert server.seed_from_event(push) is None
        with client(server) as g:
            repo = g.get_repo("Codertocat/Hello-World")
            assert repo.get_git_ref("heads/master").object.sha == push["after"]
            fork_head = g.get_repo("octo-org/octo-repo").get_pull(2).head
            assert fork_head.repo.full_name == "Codertocat/Hello-World"
        assert server.violations == [] and server.response_errors == []
