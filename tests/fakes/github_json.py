"""The fake GitHub's records rendered as GitHub's REST API renders them.

Every builder's output validates against the operation's response schema in the OpenAPI subset
(tests/test_github_server.py checks each one), so a client sees the fields GitHub sends. API
URLs point at the fake server (clients follow them: PyGithub posts to a pull request's
``issue_url``); web URLs point at github.com, as ci-gate prints them for people.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from urllib.parse import quote

from tests.fakes.github_state import (
    CheckRun,
    Comment,
    Pull,
    Repo,
    State,
)

WEB = "https://github.com"
_REPO_URLS = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def stamp(when: datetime | None) -> str | None:
    return None if when is None else when.strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(prefix: str, number: int) -> str:
    return f"{prefix}_" + base64.b64encode(f"{prefix}{number}".encode()).decode().rstrip("=")


def user_json(state: State, api: str, login: str) -> dict[str, Any]:
    user_id, kind = state.user(login)
    url = f"{api}/users/{quote(login)}"
    html = f"{WEB}/apps/{login.removesuffix('[bot]')}" if kind == "Bot" else f"{WEB}/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": node_id("U" if kind == "User" else "BOT", user_id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": url,
        "html_url": html,
        "followers_url": f"{url}/followers",
        "following_url": f"{url}/following{{/other_user}}",
        "gists_url": f"{url}/gists{{/gist_id}}",
        "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{url}/subscriptions",
        "organizations_url": f"{url}/orgs",
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events{{/privacy}}",
        "received_events_url": f"{url}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def repo_json(
    state: State, api: str, repo: Repo, fork_of: tuple[str, str] | None = None
) -> dict[str, Any]:
    """``fork_of`` (owner, name) renders someone's fork of ``repo`` (a pull request's head)."""
    login, name = fork_of or (repo.owner, repo.name)
    full_name = f"{login}/{name}"
    url = f"{api}/repos/{full_name}"
    repo_id = repo.id if fork_of is None else repo.id + 50_000_000
    when = stamp(repo.created_at)
    data: dict[str, Any] = {
        "id": repo_id,
        "node_id": node_id("R", repo_id),
        "name": name,
        "full_name": full_name,
        "private": False,
        "owner": user_json(state, api, login),
        "html_url": f"{WEB}/{full_name}",
        "description": None,
        "fork": fork_of is not None,
        "url": url,
        **{key: url + suffix for key, suffix in _REPO_URLS.items()},
        "git_url": f"git://github.com/{full_name}.git",
        "ssh_url": f"git@github.com:{full_name}.git",
        "clone_url": f"{WEB}/{full_name}.git",
        "svn_url": f"{WEB}/{full_name}",
        "mirror_url": None,
        "homepage": None,
        "language": None,
        "size": 0,
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers": 0,
        "watchers_count": 0,
        "open_issues": 0,
        "open_issues_count": 0,
        "default_branch": repo.default_branch,
        "has_issues": True,
        "has_projects": True,
        "has_wiki": True,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "public",
        "is_template": False,
        "topics": [],
        "license": None,
        "allow_forking": True,
        "web_commit_signoff_required": False,
        "pushed_at": when,
        "created_at": when,
        "updated_at": when,
    }
    return data


def comment_json(state: State, api: str, repo: Repo, comment: Comment) -> dict[str, Any]:
    repo_url = f"{api}/repos/{repo.full_name}"
    url = f"{repo_url}/issues/comments/{comment.id}"
    kind = "pull" if comment.issue_number in repo.pulls else "issues"
    _, user_type = state.user(comment.user)
    association = "OWNER" if comment.user.lower() == repo.owner.lower() else "NONE"
    return {
        "id": comment.id,
        "node_id": node_id("IC", comment.id),
        "url": url,
        "html_url": f"{WEB}/{repo.full_name}/{kind}/{comment.issue_number}"
        f"#issuecomment-{comment.id}",
        "body": comment.body,
        "user": user_json(state, api, comment.user),
        "created_at": stamp(comment.created_at),
        "updated_at": stamp(comment.updated_at),
        "issue_url": f"{repo_url}/issues/{comment.issue_number}",
        "author_association": association,
        "performed_via_github_app": _actions_app(state, api) if user_type == "Bot" else None,
        "reactions": {
            "url": f"{url}/reactions",
            "total_count": 0,
            **dict.fromkeys(
                ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"), 0
            ),
        },
        "pin": None,
    }


def _actions_app(state: State, api: str) -> dict[str, Any]:
    return {
        "id": 15368,
        "slug": "github-actions",
        "node_id": "MDM6QXBwMTUzNjg=",
        "client_id": "Iv1.05c79e9ad1f6bdfa",
        "owner": user_json(state, api, "github"),
        "name": "GitHub Actions",
        "description": "Automate your workflow from idea to production",
        "external_url": "https://help.github.com/en/actions",
        "html_url": f"{WEB}/apps/github-actions",
        "created_at": "2018-07-30T09:30:17Z",
        "updated_at": "2024-04-10T20:33:16Z",
        "permissions": {"checks": "write", "contents": "write", "issues": "write"},
        "events": ["check_run", "pull_request", "push"],
    }


def pull_json(state: State, api: str, repo: Repo, pull: Pull) -> dict[str, Any]:
    repo_url = f"{api}/repos/{repo.full_name}"
    url = f"{repo_url}/pulls/{pull.number}"
    html = f"{WEB}/{repo.full_name}/pull/{pull.number}"
    issue_url = f"{repo_url}/issues/{pull.number}"
    fork = pull.head_owner.lower() != repo.owner.lower()
    links = {
        "self": url,
        "html": html,
        "issue": issue_url,
        "comments": f"{issue_url}/comments",
        "review_comments": f"{url}/comments",
        "review_comment": f"{repo_url}/pulls/comments{{/number}}",
        "commits": f"{url}/commits",
        "statuses": f"{repo_url}/statuses/{pull.head_sha}",
    }
    head_fork = (pull.head_owner, pull.head_name or repo.name) if fork else None
    side = {
        "head": (pull.head_owner, pull.head_ref, pull.head_sha, head_fork),
        "base": (repo.owner, pull.base_ref, pull.base_sha, None),
    }
    return {
        "url": url,
        "id": pull.id,
        "node_id": node_id("PR", pull.id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue_url,
        "commits_url": links["commits"],
        "review_comments_url": links["review_comments"],
        "review_comment_url": links["review_comment"],
        "comments_url": links["comments"],
        "statuses_url": links["statuses"],
        "number": pull.number,
        "state": pull.state,
        "locked": False,
        "title": pull.title,
        "user": user_json(state, api, pull.user),
        "body": pull.body,
        "labels": [],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": stamp(pull.created_at),
        "updated_at": stamp(pull.updated_at),
        "closed_at": stamp(pull.updated_at) if pull.state == "closed" else None,
        "merged_at": None,
        "merge_commit_sha": None,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        **{
            key: {
                "label": f"{owner}:{ref}",
                "ref": ref,
                "sha": sha,
                "user": user_json(state, api, owner),
                "repo": repo_json(state, api, repo, fork_of),
            }
            for key, (owner, ref, sha, fork_of) in side.items()
        },
        "_links": {key: {"href": href} for key, href in links.items()},
        "author_association": "OWNER" if pull.user.lower() == repo.owner.lower() else "NONE",
        "auto_merge": None,
        "draft": pull.draft,
        "merged": False,
        "mergeable": True,
        "rebaseable": True,
        "mergeable_state": "clean",
        "merged_by": None,
        "comments": sum(1 for c in repo.comments.values() if c.issue_number == pull.number),
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": 1,
        "additions": 0,
        "deletions": 0,
        "changed_files": 0,
    }


def check_run_json(state: State, api: str, repo: Repo, run: CheckRun) -> dict[str, Any]:
    url = f"{api}/repos/{repo.full_name}/check-runs/{run.id}"
    pulls = [
        {
            "id": p.id,
            "number": p.number,
            "url": f"{api}/repos/{repo.full_name}/pulls/{p.number}",
            "head": {"ref": p.head_ref, "sha": p.head_sha, "repo": _mini_repo(api, repo)},
            "base": {"ref": p.base_ref, "sha": p.base_sha, "repo": _mini_repo(api, repo)},
        }
        for p in repo.pulls.values()
        if p.head_sha == run.head_sha and p.head_owner.lower() == repo.owner.lower()
    ]
    return {
        "id": run.id,
        "node_id": node_id("CR", run.id),
        "head_sha": run.head_sha,
        "external_id": run.external_id or "",
        "url": url,
        "html_url": f"{WEB}/{repo.full_name}/runs/{run.id}",
        "details_url": run.details_url or f"{WEB}/{repo.full_name}/runs/{run.id}",
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": stamp(run.started_at),
        "completed_at": stamp(run.completed_at),
        "output": {
            "title": run.output.get("title"),
            "summary": run.output.get("summary"),
            "text": run.output.get("text"),
            "annotations_count": run.output.get("annotations_count", 0),
            "annotations_url": f"{url}/annotations",
        },
        "name": run.name,
        "check_suite": {"id": run.id + 1},
        "app": _actions_app(state, api),
        "pull_requests": pulls,
    }


def _mini_repo(api: str, repo: Repo) -> dict[str, Any]:
    return {"id": repo.id, "url": f"{api}/repos/{repo.full_name}", "name": repo.name}
