"""Setting up the fake GitHub's world from tests: tokens, repositories, pull requests (also from
real webhook payloads), comments by other users, artifacts and pushes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.fakes.github_state import (
    ACTIONS_BOT,
    Artifact,
    Comment,
    Identity,
    Permission,
    Pull,
    Repo,
    State,
    TokenKind,
)


class Seeding:
    """Mixed into ``GitHubServer``; every helper is safe to call while the server runs."""

    state: State

    def token(
        self,
        value: str,
        login: str = ACTIONS_BOT,
        permission: Permission = "write",
        kind: TokenKind = "app",
    ) -> None:
        self.state.add_token(value, Identity(login, kind, permission))

    def add_repo(self, owner: str, name: str, default_branch: str = "main") -> Repo:
        return self.state.add_repo(owner, name, default_branch)

    def add_issue(self, owner: str, repo: str, number: int) -> None:
        with self.state.lock:
            self.state.repo(owner, repo).issues.add(number)

    def add_pull(
        self,
        owner: str,
        repo: str,
        number: int,
        head_sha: str,
        base_sha: str,
        head_ref: str = "feature",
        base_ref: str = "main",
        user: str = "octocat",
        from_fork: bool = False,
        *,
        title: str = "A change",
        body: str | None = None,
        head_owner: str | None = None,
        head_name: str = "",
    ) -> Pull:
        """A pull request; from a fork, the head is ``head_owner``'s (default ``user``'s)
        repository ``head_name`` (default: the base repository's name)."""
        found = self.state.repo(owner, repo)
        now = self.state.now()
        pull = Pull(
            number,
            self.state.next_id(),
            title,
            body,
            user,
            head_sha,
            head_ref,
            base_sha,
            base_ref,
            (head_owner or user) if from_fork else found.owner,
            now,
            now,
            head_name=head_name if from_fork else "",
        )
        return self.state.add_pull(found, pull)

    def add_comment(
        self, owner: str, repo: str, number: int, body: str, user: str = "octocat"
    ) -> Comment:
        """A comment made by someone else (say, a forged sticky marker)."""
        return self.state.add_comment(self.state.repo(owner, repo), number, body, user)

    def comments(self, owner: str, repo: str, number: int) -> list[Comment]:
        found = self.state.repo(owner, repo)
        with self.state.lock:
            return [c for c in found.comments.values() if c.issue_number == number]

    def add_artifact(
        self,
        owner: str,
        repo: str,
        name: str,
        files: Mapping[str, bytes],
        head_sha: str,
        expired: bool = False,
        *,
        run_id: int = 0,
        head_branch: str = "main",
    ) -> Artifact:
        found = self.state.repo(owner, repo)
        return self.state.add_artifact(
            found, name, files, head_sha, expired=expired, head_branch=head_branch, run_id=run_id
        )

    def push(self, owner: str, repo: str, branch: str, files: Mapping[str, bytes]) -> str:
        """A commit on ``branch`` (created from the default branch if new); its sha."""
        found = self.state.repo(owner, repo)
        with self.state.lock:
            ref = f"refs/heads/{branch}"
            found.refs.setdefault(ref, found.refs[f"refs/heads/{found.default_branch}"])
            return self.state.commit_to_branch(found, branch, files, f"push to {branch}").sha

    def seed_from_event(self, payload: Mapping[str, Any]) -> Pull | None:
        """What a webhook payload describes: its repository; the pull request of a
        pull_request event (returned) or those of a workflow_run event (the first returned);
        the pushed commit of a push event, on its branch or tag."""
        repository = payload["repository"]
        owner, name = repository["owner"]["login"], repository["name"]
        repo = self.add_repo(owner, name, repository.get("default_branch") or "main")
        if isinstance(payload.get("after"), str) and isinstance(payload.get("ref"), str):
            self._seed_push(repo, payload["ref"], payload.get("before"), payload["after"])
        raw = payload.get("pull_request")
        if isinstance(raw, Mapping):
            return self._seed_pull(owner, name, raw)
        run = payload.get("workflow_run")
        pulls = run.get("pull_requests", []) if isinstance(run, Mapping) else []
        seeded = [self._seed_pull(owner, name, p) for p in pulls]
        return seeded[0] if seeded else None

    def _seed_pull(self, owner: str, name: str, raw: Mapping[str, Any]) -> Pull:
        head_repo = raw["head"].get("repo") or {}
        # workflow_run's pull_requests name the head repository only by its API URL.
        url_owner = str(head_repo.get("url", "")).rstrip("/").split("/")[-2:-1]
        head_owner = (head_repo.get("owner") or {}).get("login") or next(iter(url_owner), owner)
        from_fork = head_owner.lower() != owner.lower()
        # workflow_run's pull_requests carry no user: the head's owner stands in.
        user = raw.get("user") or {"login": head_owner, "type": "User"}
        self.state.user(user["login"], user.get("type"))
        pull = self.add_pull(
            owner,
            name,
            int(raw["number"]),
            raw["head"]["sha"],
            raw["base"]["sha"],
            raw["head"]["ref"],
            raw["base"]["ref"],
            user["login"],
            from_fork=from_fork,
            title=raw.get("title") or "",
            body=raw.get("body"),
            head_owner=head_owner,
            head_name=str(head_repo.get("name") or ""),
        )
        with self.state.lock:
            pull.state = raw.get("state", "open")
            pull.draft = bool(raw.get("draft", False))
        return pull

    def _seed_push(self, repo: Repo, ref: str, before: str | None, after: str) -> None:
        with self.state.lock:
            if set(after) == {"0"}:  # the branch or tag was deleted
                repo.refs.pop(ref, None)
                return
            parents = (before,) if before in repo.commits else ()
            base = repo.commits[before].files if before in repo.commits else {}
            self.state.add_commit(repo, base, f"push {after[:7]}", parents, sha=after)
            repo.refs[ref] = after
