"""``artifact``: baselines kept as Actions artifacts named ``ci-gate-baseline-<suite>-<sha>``.

Reading goes through the REST API (httpx; its exceptions are translated here and only here).
The download answers with a redirect to blob storage on another host: that request is made
without the token, which that host does not need and must never see. Writing is the workflow's
``actions/upload-artifact`` step: ``put`` writes the file into a folder that step uploads.
Artifacts expire by the repository's retention setting, so ``prune`` has nothing to do.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from ci_gate.atomic import write_text_atomic
from ci_gate.baseline.index import IndexEntry, entry_for
from ci_gate.baseline.store import (
    BaselineError,
    check_commit,
    check_suite,
    decode_results,
    encode_results,
    newest_first,
)
from ci_gate.results.model import Results

ARTIFACT_PREFIX = "ci-gate-baseline-"
MAX_ZIP_BYTES = 512 * 1024**2
MAX_PAGES = 10
_TOKENISH = re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{8,}|github_pat_[A-Za-z0-9_]{8,})")


def artifact_name(suite: str, commit: str) -> str:
    return f"{ARTIFACT_PREFIX}{check_suite(suite)}-{check_commit(commit)}"


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    text = body.get("message", "") if isinstance(body, dict) else ""
    return _TOKENISH.sub("***", str(text).splitlines()[0] if text else "")[:200]


class ArtifactStore:
    def __init__(
        self,
        api_url: str,
        repository: str,
        token: str,
        upload_dir: str | os.PathLike[str],
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        if repository.count("/") != 1 or not all(repository.split("/")):
            raise BaselineError(f"artifact store: {repository!r} is not an owner/name repository")
        self.api_url = api_url.rstrip("/")
        self.repository = repository
        self.upload_dir = Path(upload_dir)
        self.notices: list[str] = []
        self._token = token
        self._client = httpx.Client(transport=transport, timeout=timeout_s, follow_redirects=False)

    def __repr__(self) -> str:  # never shows the token
        return f"ArtifactStore({self.api_url!r}, {self.repository!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ArtifactStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP -------------------------------------------------------------------------------
    def _api(self, path: str, params: dict[str, str | int] | None = None) -> httpx.Response:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "Authorization": f"Bearer {self._token}",
        }
        url = f"{self.api_url}/repos/{self.repository}{path}"
        try:
            return self._client.get(url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise BaselineError(
                f"artifact store: GET {path} on {self.api_url} failed: {type(exc).__name__} "
                "(no answer from GitHub; rerun the job)"
            ) from None

    def _check(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if status < 300:
            return
        detail = _message(response)
        if status in (403, 429) and "rate limit" in detail.lower():
            # GitHub's secondary rate limit is a 403 too: not a missing permission.
            raise BaselineError(
                f"artifact store: {what}: HTTP {status} GitHub's rate limit was hit; "
                "rerun the job in a few minutes"
            )
        hint = {
            401: "the token is not valid",
            403: "the token needs `actions: read` permission",
            404: f"no repository {self.repository} visible to this token",
        }.get(status, "GitHub answered with an error; rerun the job")
        raise BaselineError(
            f"artifact store: {what}: HTTP {status}"
            + (f" {detail}" if detail else "")
            + f" ({hint})"
        )

    def _artifacts(self, name: str | None) -> Iterator[dict[str, Any]]:
        for page in range(1, MAX_PAGES + 1):
            params: dict[str, str | int] = {"per_page": 100, "page": page}
            if name is not None:
                params["name"] = name
            response = self._api("/actions/artifacts", params)
            self._check(response, "listing artifacts")
            try:
                body = response.json()
                items = body["artifacts"]
            except (ValueError, KeyError, TypeError):
                raise BaselineError(
                    "artifact store: listing artifacts: the answer is not GitHub's artifact list"
                ) from None
            yield from (a for a in items if isinstance(a, dict))
            if len(items) < 100:
                return

    def _download(self, artifact_id: int) -> bytes | None:
        response = self._api(f"/actions/artifacts/{artifact_id}/zip")
        if response.status_code == 410:
            return None  # expired between listing and download
        if response.is_redirect:
            location = response.headers.get("Location", "")
            try:
                # A fresh request with no Authorization: the storage host gets a signed URL only.
                with self._client.stream("GET", location) as blob:
                    if blob.status_code >= 300:
                        blob.read()
                        self._check(blob, f"downloading artifact {artifact_id}")
                    chunks, size = [], 0
                    for chunk in blob.iter_bytes():
                        size += len(chunk)
                        if size > MAX_ZIP_BYTES:
                            raise BaselineError(
                                f"artifact store: artifact {artifact_id} is larger than "
                                f"{MAX_ZIP_BYTES} bytes, too large for a baseline"
                            )
                        chunks.append(chunk)
                    return b"".join(chunks)
            except httpx.HTTPError as exc:
                raise BaselineError(
                    f"artifact store: downloading artifact {artifact_id} failed: "
                    f"{type(exc).__name__}"
                ) from None
        self._check(response, f"downloading artifact {artifact_id}")
        return response.content

    # -- the store --------------------------------------------------------------------------
    def _live(self, suite: str) -> list[tuple[str, dict[str, Any]]]:
        prefix = f"{ARTIFACT_PREFIX}{check_suite(suite)}-"
        found = []
        for artifact in self._artifacts(None):
            name = str(artifact.get("name", ""))
            commit = name[len(prefix) :]
            if name.startswith(prefix) and not artifact.get("expired"):
                try:
                    found.append((check_commit(commit), artifact))
                except BaselineError:
                    continue
        return found

    def get(self, suite: str, commit: str) -> Results | None:
        name = artifact_name(suite, commit)
        candidates = [a for a in self._artifacts(name) if not a.get("expired")]
        if not candidates:
            return None
        newest = max(candidates, key=lambda a: (str(a.get("created_at", "")), int(a["id"])))
        archive = self._download(int(newest["id"]))
        if archive is None:
            return None
        return decode_results(self._member(archive, name, commit), f"artifact {name}")

    @staticmethod
    def _member(archive: bytes, name: str, commit: str) -> bytes:
        try:
            with zipfile.ZipFile(io.BytesIO(archive)) as zf:
                members = [i for i in zf.infolist() if i.filename.endswith(".json")]
                wanted = [i for i in members if Path(i.filename).name == f"{commit}.json"]
                chosen = wanted or (members if len(members) == 1 else [])
                if not chosen:
                    raise BaselineError(
                        f"artifact {name}: no {commit}.json inside (upload the baseline file "
                        "the refresh step wrote, see docs/action.md#baseline-stores)"
                    )
                if chosen[0].file_size > MAX_ZIP_BYTES:
                    raise BaselineError(f"artifact {name}: {chosen[0].filename} is too large")
                return zf.read(chosen[0])
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError):
            raise BaselineError(f"artifact {name}: not a readable zip archive") from None

    def commits(self, suite: str) -> set[str]:
        return {commit for commit, _ in self._live(suite)}

    def history(self, suite: str, limit: int) -> list[IndexEntry]:
        entries = []
        for commit, artifact in self._live(suite):
            run = artifact.get("workflow_run") or {}
            entries.append(
                IndexEntry(
                    commit=commit,
                    branch=run.get("head_branch") if isinstance(run, dict) else None,
                    tag=None,
                    created_at=str(artifact.get("created_at", "")),
                    path=f"artifact:{artifact.get('name')}",
                    size=int(artifact.get("size_in_bytes") or 0),
                    pass_rate=None,
                    latency_p50_ms=None,
                    latency_p95_ms=None,
                    cost_per_case_usd=None,
                )
            )
        return newest_first(entries)[: max(limit, 0)]

    def latest_release(self, suite: str) -> IndexEntry | None:
        # Artifacts do not say whether their run was a release: use the branch store for those.
        return None

    def put(
        self, suite: str, commit: str, results: Results, *, branch: str | None, tag: str | None
    ) -> IndexEntry:
        name = artifact_name(suite, commit)
        path = self.upload_dir / suite / f"{commit}.json"
        data = encode_results(results)
        try:
            write_text_atomic(path, data.decode("utf-8"))
        except OSError as exc:
            raise BaselineError(f"{path}: cannot write the baseline: {exc.strerror}") from None
        self.notices.append(
            f"baseline written to {path}: upload it with actions/upload-artifact as {name}"
        )
        return entry_for(
            commit, results, branch=branch, tag=tag, path=f"artifact:{name}", size=len(data)
        )

    def prune(
        self,
        suite: str,
        keep_last: int,
        keep_releases: bool = True,
        max_age_days: float | None = None,
    ) -> list[str]:
        check_suite(suite)
        return []  # artifacts expire by the repository's retention setting
