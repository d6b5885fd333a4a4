"""The fake GitHub's baseline stores: repository contents, git refs and Actions artifacts (the
operations and how their answers render)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from tests.fakes.github_json import WEB, node_id, stamp
from tests.fakes.github_routes import Call, Reply, paginate
from tests.fakes.github_state import (
    ARTIFACT_RETENTION,
    ApiError,
    Artifact,
    Commit,
    Repo,
    blob_sha,
    not_found,
)


# -- contents ---------------------------------------------------------------------------------
def get_content(call: Call) -> Reply:
    repo = call.repo
    ref = call.query.get("ref", repo.default_branch)
    files = repo.resolve(ref).files
    path = call.params["path"].strip("/")
    if path in files:
        if "vnd.github.raw" in call.accept:
            return Reply(
                200, raw=files[path], headers={"Content-Type": "application/vnd.github.raw"}
            )
        return Reply(200, file_json(call.api, repo, path, files[path], ref))
    prefix = f"{path}/" if path else ""
    children: dict[str, bytes | None] = {}
    for name, data in sorted(files.items()):
        if name.startswith(prefix):
            head, _, rest = name[len(prefix) :].partition("/")
            children[prefix + head] = None if rest else data
    if not children:
        raise not_found()
    return Reply(200, dir_json(call.api, repo, sorted(children.items()), ref))


def _branch_file(call: Call) -> tuple[Repo, str, str, bytes | None]:
    repo = call.repo
    branch = str(call.field("branch") or repo.default_branch)
    if f"refs/heads/{branch}" not in repo.refs:
        raise ApiError(404, f"Branch {branch} not found")
    path = call.params["path"].strip("/")
    return repo, branch, path, repo.resolve(branch).files.get(path)


def put_content(call: Call) -> Reply:
    repo, branch, path, current = _branch_file(call)
    try:
        data = base64.b64decode("".join(str(call.field("content", "")).split()), validate=True)
    except binascii.Error:
        raise ApiError(422, "content is not valid Base64") from None
    if current is not None:
        sha = call.field("sha")
        if sha is None:
            raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if sha != blob_sha(current):
            raise ApiError(409, f"{path} does not match {sha}")
    commit = call.state.commit_to_branch(repo, branch, {path: data}, str(call.field("message")))
    body = file_commit_json(call.api, repo, commit, path, data, branch)
    return Reply(201 if current is None else 200, body)


def delete_content(call: Call) -> Reply:
    repo, branch, path, current = _branch_file(call)
    if current is None:
        raise not_found()
    if call.field("sha") != blob_sha(current):
        raise ApiError(409, f"{path} does not match {call.field('sha')}")
    commit = call.state.remove_file(repo, branch, path, str(call.field("message")))
    return Reply(200, file_commit_json(call.api, repo, commit, path, None, branch))


# -- git refs ---------------------------------------------------------------------------------
def get_ref(call: Call) -> Reply:
    repo = call.repo
    ref = f"refs/{call.params['ref']}"
    if ref not in repo.refs:
        raise not_found()
    return Reply(200, ref_json(call.api, repo, ref, repo.refs[ref]))


def create_ref(call: Call) -> Reply:
    repo = call.repo
    ref, sha = str(call.field("ref")), str(call.field("sha"))
    if not ref.startswith("refs/") or ref.count("/") < 2:
        raise ApiError(422, "Reference name must start with 'refs/' and have two slashes")
    with call.state.lock:
        if ref in repo.refs:
            raise ApiError(422, "Reference already exists")
        if sha not in repo.commits:
            raise ApiError(422, "Object does not exist")
        repo.refs[ref] = sha
    data = ref_json(call.api, repo, ref, sha)
    return Reply(201, data, {"Location": data["url"]})


def update_ref(call: Call) -> Reply:
    repo = call.repo
    ref, sha = f"refs/{call.params['ref']}", str(call.field("sha"))
    with call.state.lock:
        if ref not in repo.refs:
            raise ApiError(422, "Reference does not exist")
        if sha not in repo.commits:
            raise ApiError(422, "Object does not exist")
        if not call.field("force", False) and not repo.is_ancestor(repo.refs[ref], sha):
            raise ApiError(422, "Update is not a fast forward")
        repo.refs[ref] = sha
    return Reply(200, ref_json(call.api, repo, ref, sha))


def delete_ref(call: Call) -> Reply:
    repo = call.repo
    ref = f"refs/{call.params['ref']}"
    with call.state.lock:
        if ref not in repo.refs:
            raise ApiError(422, "Reference does not exist")
        if ref == f"refs/heads/{repo.default_branch}":
            raise ApiError(422, "Cannot delete the default branch")
        del repo.refs[ref]
    return Reply(204)


def matching_refs(call: Call) -> Reply:
    repo = call.repo
    prefix = f"refs/{call.params['ref']}"
    found = sorted((r, s) for r, s in repo.refs.items() if r.startswith(prefix))
    return Reply(200, [ref_json(call.api, repo, r, s) for r, s in found])


# -- artifacts --------------------------------------------------------------------------------
def _artifact_page(call: Call, run_id: int | None) -> Reply:
    repo = call.repo
    name = call.query.get("name")
    with call.state.lock:
        found = [
            a
            for a in repo.artifacts.values()
            if (name is None or a.name == name) and (run_id is None or a.run_id == run_id)
        ]
    found.sort(key=lambda a: (a.created_at, a.id), reverse=True)  # newest first, as GitHub
    if call.query.get("direction") == "asc":
        found.reverse()
    chunk, headers = paginate(call, found)
    body = {
        "total_count": len(found),
        "artifacts": [artifact_json(call.api, repo, a) for a in chunk],
    }
    return Reply(200, body, headers)


def list_artifacts(call: Call) -> Reply:
    return _artifact_page(call, None)


def list_run_artifacts(call: Call) -> Reply:
    return _artifact_page(call, call.int_param("run_id"))


def get_artifact(call: Call) -> Reply:
    repo = call.repo
    artifact = repo.artifacts.get(call.int_param("artifact_id"))
    if artifact is None:
        raise not_found()
    return Reply(200, artifact_json(call.api, repo, artifact))


def delete_artifact(call: Call) -> Reply:
    repo = call.repo
    with call.state.lock:
        if repo.artifacts.pop(call.int_param("artifact_id"), None) is None:
            raise not_found()
    return Reply(204)


def download_artifact(call: Call) -> Reply:
    repo = call.repo
    artifact = repo.artifacts.get(call.int_param("artifact_id"))
    if artifact is None or call.params["archive_format"] != "zip":
        raise not_found()
    if artifact.expired:
        raise ApiError(410, "Artifact has expired")
    return Reply(302, headers={"Location": call.blob_url(artifact.id)})


# -- rendering ------------------------------------------------------------------------------
def artifact_json(api: str, repo: Repo, artifact: Artifact) -> dict[str, Any]:
    url = f"{api}/repos/{repo.full_name}/actions/artifacts/{artifact.id}"
    return {
        "id": artifact.id,
        "node_id": node_id("MDg6QXJ0aWZhY3Q", artifact.id),
        "name": artifact.name,
        "size_in_bytes": len(artifact.data),
        "url": url,
        "archive_download_url": f"{url}/zip",
        "expired": artifact.expired,
        "created_at": stamp(artifact.created_at),
        "updated_at": stamp(artifact.created_at),
        "expires_at": stamp(artifact.created_at + ARTIFACT_RETENTION),
        "digest": "sha256:" + hashlib.sha256(artifact.data).hexdigest(),
        "workflow_run": {
            "id": artifact.run_id,
            "repository_id": repo.id,
            "head_repository_id": repo.id,
            "head_branch": artifact.head_branch,
            "head_sha": artifact.head_sha,
        },
    }


def ref_json(api: str, repo: Repo, ref: str, sha: str) -> dict[str, Any]:
    repo_url = f"{api}/repos/{repo.full_name}"
    return {
        "ref": ref,
        "node_id": node_id("REF", abs(hash((repo.id, ref))) % 10**9),
        "url": f"{repo_url}/git/{quote(ref)}",
        "object": {"type": "commit", "sha": sha, "url": f"{repo_url}/git/commits/{sha}"},
    }


def _content_urls(api: str, repo: Repo, path: str, sha: str, ref: str, kind: str) -> dict[str, Any]:
    self_url = f"{api}/repos/{repo.full_name}/contents/{quote(path)}?ref={quote(ref)}"
    tree = "blob" if kind == "file" else "tree"
    git_kind = "blobs" if kind == "file" else "trees"
    git = f"{api}/repos/{repo.full_name}/git/{git_kind}/{sha}"
    html = f"{WEB}/{repo.full_name}/{tree}/{ref}/{quote(path)}"
    download = (
        f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{quote(path)}"
        if kind == "file"
        else None
    )
    return {
        "url": self_url,
        "git_url": git,
        "html_url": html,
        "download_url": download,
        "_links": {"self": self_url, "git": git, "html": html},
    }


def file_json(
    api: str, repo: Repo, path: str, data: bytes, ref: str, with_content: bool = True
) -> dict[str, Any]:
    sha = blob_sha(data)
    out: dict[str, Any] = {
        "type": "file",
        "size": len(data),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        **_content_urls(api, repo, path, sha, ref, "file"),
    }
    if with_content:
        # GitHub leaves files over 1 MiB out of this answer (the raw media type serves them).
        big = len(data) > 1024 * 1024
        encoded = base64.b64encode(data).decode()
        lines = [encoded[i : i + 60] for i in range(0, len(encoded), 60)]
        out["content"] = "" if big else "".join(f"{line}\n" for line in lines)
        out["encoding"] = "none" if big else "base64"
    return out


def dir_json(
    api: str, repo: Repo, names: list[tuple[str, bytes | None]], ref: str
) -> list[dict[str, Any]]:
    """A directory listing: ``names`` are (child path, data or None for a directory)."""
    out = []
    for child, data in names:
        if data is not None:
            out.append(file_json(api, repo, child, data, ref, with_content=False))
            continue
        sha = hashlib.sha1(child.encode(), usedforsecurity=False).hexdigest()
        entry = {"type": "dir", "size": 0, "name": child.rsplit("/", 1)[-1], "path": child}
        out.append({**entry, "sha": sha, **_content_urls(api, repo, child, sha, ref, "dir")})
    return out


def file_commit_json(
    api: str, repo: Repo, commit: Commit, path: str, data: bytes | None, branch: str
) -> dict[str, Any]:
    """The answer to a contents PUT (``data`` the new file) or DELETE (``data`` None)."""
    repo_url = f"{api}/repos/{repo.full_name}"
    person = {
        "name": "github-actions[bot]",
        "email": "github-actions[bot]@users.noreply.github.com",
    }
    when = stamp(commit.date)
    tree_sha = hashlib.sha1(commit.sha.encode(), usedforsecurity=False).hexdigest()
    return {
        "content": None if data is None else file_json(api, repo, path, data, branch, False),
        "commit": {
            "sha": commit.sha,
            "node_id": node_id("C", int(commit.sha[:8], 16)),
            "url": f"{repo_url}/git/commits/{commit.sha}",
            "html_url": f"{WEB}/{repo.full_name}/commit/{commit.sha}",
            "author": {**person, "date": when},
            "committer": {**person, "date": when},
            "message": commit.message,
            "tree": {"url": f"{repo_url}/git/trees/{tree_sha}", "sha": tree_sha},
            "parents": [
                {
                    "url": f"{repo_url}/git/commits/{p}",
                    "html_url": f"{WEB}/{repo.full_name}/commit/{p}",
                    "sha": p,
                }
                for p in commit.parents
            ],
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        },
    }


STORAGE_ROUTES: Mapping[str, Callable[[Call], Reply]] = {
    "repos/get-content": get_content,
    "repos/create-or-update-file-contents": put_content,
    "repos/delete-file": delete_content,
    "git/get-ref": get_ref,
    "git/create-ref": create_ref,
    "git/update-ref": update_ref,
    "git/delete-ref": delete_ref,
    "git/list-matching-refs": matching_refs,
    "actions/list-artifacts-for-repo": list_artifacts,
    "actions/list-workflow-run-artifacts": list_run_artifacts,
    "actions/get-artifact": get_artifact,
    "actions/delete-artifact": delete_artifact,
    "actions/download-artifact": download_artifact,
}
