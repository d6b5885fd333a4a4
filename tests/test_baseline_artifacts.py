"""The ``artifact`` baseline store against the fake GitHub API: listing, download redirect without
the token, expired artifacts, errors; and the write side (a file for actions/upload-artifact)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ci_gate.baseline.artifact_store import ArtifactStore, artifact_name
from ci_gate.baseline.store import BaselineError, encode_results
from ci_gate.results.model import Results
from tests.factories import record, results
from tests.fakes.github_server import READ_TOKEN, WRITE_TOKEN, GitHubServer

OWNER, REPO = "octo", "repo"


def sha(n: int) -> str:
    return f"{n:040x}"


def baseline(passed: bool = True) -> Results:
    return results([record("a", passed=passed), record("b")])


@pytest.fixture
def gh() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        server.add_repo(OWNER, REPO)
        yield server
        assert server.violations == []
        assert server.blob_token_leaks == []
        assert server.response_errors == []


def store(gh: GitHubServer, tmp_path: Path, token: str = WRITE_TOKEN) -> ArtifactStore:
    return ArtifactStore(gh.url, f"{OWNER}/{REPO}", token, tmp_path / "upload")


def upload(
    gh: GitHubServer,
    suite: str,
    commit: str,
    data: Results,
    *,
    expired: bool = False,
    head_branch: str = "main",
) -> None:
    files = {f"{commit}.json": encode_results(data)}
    name = artifact_name(suite, commit)
    gh.add_artifact(OWNER, REPO, name, files, commit, expired, head_branch=head_branch)


def test_get_downloads_through_the_redirect_without_the_token(
    gh: GitHubServer, tmp_path: Path
) -> None:
    original = baseline(passed=False)
    upload(gh, "smoke", sha(1), original)
    upload(gh, "other", sha(1), baseline())
    with store(gh, tmp_path) as s:
        assert s.get("smoke", sha(1)) == original
        assert s.get("smoke", sha(2)) is None
    blob_requests = [r for r in gh.requests if r.path.startswith("/_blobs/")]
    assert len(blob_requests) == 1
    assert "Authorization" not in blob_requests[0].headers
    assert "authorization" not in {k.lower() for k in blob_requests[0].headers}
    api_requests = [r for r in gh.requests if not r.path.startswith("/_blobs/")]
    assert all(r.headers.get("Authorization") == "***" for r in api_requests)


def test_read_only_token_is_enough(gh: GitHubServer, tmp_path: Path) -> None:
    upload(gh, "smoke", sha(1), baseline())
    with store(gh, tmp_path, READ_TOKEN) as s:
        assert s.get("smoke", sha(1)) == baseline()


def test_commits_and_history_skip_expired_and_foreign_artifacts(
    gh: GitHubServer, tmp_path: Path
) -> None:
    upload(gh, "smoke", sha(1), baseline(), head_branch="main")
    upload(gh, "smoke", sha(2), baseline(), expired=True)
    upload(gh, "smoke", sha(3), baseline(), head_branch="main")
    upload(gh, "smoke-extra", sha(4), baseline())  # another suite's prefix overlaps
    gh.add_artifact(OWNER, REPO, "ci-gate-baseline-smoke-notasha", {"x.json": b"{}"}, sha(5))
    with store(gh, tmp_path) as s:
        assert s.commits("smoke") == {sha(1), sha(3)}
        assert s.get("smoke", sha(2)) is None  # expired
        history = s.history("smoke", 10)
        assert {e.commit for e in history} == {sha(1), sha(3)}
        assert all(e.branch == "main" and e.size > 0 for e in history)
        assert s.history("smoke", 1) == history[:1]
        assert s.latest_release("smoke") is None
        assert s.prune("smoke", keep_last=1) == []


def test_many_artifacts_are_paginated(gh: GitHubServer, tmp_path: Path) -> None:
    for n in range(1, 106):
        gh.add_artifact(OWNER, REPO, artifact_name("s", sha(n)), {"a.json": b"{}"}, sha(n))
    with store(gh, tmp_path) as s:
        assert len(s.commits("s")) == 105
    pages = [dict(r.query).get("page") for r in gh.requests]
    assert pages == ["1", "2"]


def test_a_zip_without_the_baseline_is_a_clear_error(gh: GitHubServer, tmp_path: Path) -> None:
    gh.add_artifact(
        OWNER, REPO, artifact_name("s", sha(1)), {"a.json": b"{}", "b.json": b"{}"}, sha(1)
    )
    with store(gh, tmp_path) as s, pytest.raises(BaselineError, match=r"no .*json inside"):
        s.get("s", sha(1))


def test_bad_token_and_missing_repository(gh: GitHubServer, tmp_path: Path) -> None:
    secret = "ghs_" + "Nope" * 9
    with store(gh, tmp_path, secret) as s, pytest.raises(BaselineError, match="HTTP 401") as info:
        s.commits("s")
    assert secret not in str(info.value)
    other = ArtifactStore(gh.url, "octo/missing", WRITE_TOKEN, tmp_path)
    with other, pytest.raises(BaselineError, match=r"HTTP 404.*no repository octo/missing"):
        other.get("s", sha(1))


def test_server_errors_and_unreachable_hosts_are_one_line(gh: GitHubServer, tmp_path: Path) -> None:
    gh.fail_next(502)
    with store(gh, tmp_path) as s, pytest.raises(BaselineError, match="HTTP 502") as info:
        s.commits("s")
    assert "\n" not in str(info.value)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    offline = ArtifactStore(
        "https://api.github.test",
        "o/r",
        WRITE_TOKEN,
        tmp_path,
        transport=httpx.MockTransport(refuse),
    )
    with offline, pytest.raises(BaselineError, match="ConnectError") as info:
        offline.commits("s")
    assert WRITE_TOKEN not in str(info.value)


def test_put_writes_the_file_the_workflow_uploads(gh: GitHubServer, tmp_path: Path) -> None:
    data = baseline()
    with store(gh, tmp_path) as s:
        entry = s.put("smoke", sha(9), data, branch="main", tag=None)
        written = tmp_path / "upload" / "smoke" / f"{sha(9)}.json"
        assert written.read_bytes() == encode_results(data)
        assert entry.path == f"artifact:ci-gate-baseline-smoke-{sha(9)}"
        assert any("actions/upload-artifact" in n and str(written) in n for n in s.notices)
        # what upload-artifact makes of that file is read back by ``get``
        upload_files = {written.name: written.read_bytes()}
        gh.add_artifact(OWNER, REPO, artifact_name("smoke", sha(9)), upload_files, sha(9))
        assert s.get("smoke", sha(9)) == data
    assert gh.requests, "the API was used"


def test_bad_repository_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="owner/name"):
        ArtifactStore("https://api.github.com", "just-a-name", WRITE_TOKEN, tmp_path)
