"""A real HTTP server answering like GitHub's REST API, for ci-gate's Action tests.

    with GitHubServer() as gh:
        gh.add_repo("octo", "repo")
        gh.add_pull("octo", "repo", 7, head_sha="a" * 40, base_sha="b" * 40)
        g = github.Github(auth=github.Auth.Token(WRITE_TOKEN), base_url=gh.url)
        ...
        assert gh.violations == []

Requests are routed and checked against the OpenAPI subset in shared/data (``github_openapi``):
a request GitHub would reject gets GitHub's error and is recorded in ``violations``; so is one
GitHub would silently ignore (an unknown query parameter or body field), though it is served.
Tokens map to identities: ``WRITE_TOKEN`` and ``READ_TOKEN`` are Actions' GITHUB_TOKEN as a
same-repository and a fork pull request get it (``github-actions[bot]``, an app installation),
``USER_TOKEN`` a personal access token of ``octocat``. Every 2xx answer is checked against the
operation's response schema; a mismatch (a bug in this fake) is kept in ``response_errors``.
One-shot faults (``fail_next``, ``secondary_rate_limit``, ``reset``) hit the next requests in
order, or the next ones whose "METHOD /path" contains ``match``; with ``after=n`` the first n
such requests are answered normally, to aim at a later call of a sequence.
"""

from __future__ import annotations

import itertools
import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.fakes import github_routes
from tests.fakes.github_openapi import ApiDescription, Operation, Problem, load_description
from tests.fakes.github_seed import Seeding
from tests.fakes.github_state import (
    ACTIONS_BOT,
    ApiError,
    Identity,
    State,
)
from tests.fakes.github_storage import STORAGE_ROUTES
from tests.fakes.threaded_server import ThreadedServer

WRITE_TOKEN = "ghs_fakeWriteToken000000000000000000000"
READ_TOKEN = "ghs_fakeReadOnlyToken0000000000000000000"
USER_TOKEN = "ghp_fakeUserToken00000000000000000000000"
SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID FAKE:0000."
)
_REDACTED = "***"
# Operation id -> what the fake does: every operation of the subset and the supplement.
HANDLERS: Mapping[str, Callable[[github_routes.Call], github_routes.Reply]] = {
    **github_routes.ROUTES,
    **STORAGE_ROUTES,
}
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]  # Authorization redacted to "***"
    body: Any  # parsed JSON, or None
    operation_id: str | None
    in_subset: bool
    status: int  # 0: the connection was dropped


@dataclass(frozen=True)
class Violation:
    method: str
    path: str
    operation_id: str | None
    message: str


@dataclass
class Fault:
    kind: str  # "status", "reset", "non_json" or "truncated"
    times: int = 1
    status: int = 500
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    match: str | None = None
    after: int = 0  # matching requests to let through before this fault applies


def _default_error_body(status: int, retry_after: str | None) -> dict[str, Any]:
    if status in (403, 429) and retry_after is not None:
        message = SECONDARY_LIMIT_MESSAGE
    else:
        message = {500: "Server Error", 502: "Server Error", 503: "Service Unavailable"}.get(
            status, "Fake failure"
        )
    return {
        "message": message,
        "documentation_url": "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api",
        "status": str(status),
    }


class GitHubServer(ThreadedServer, Seeding):
    thread_name = "github-server"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        blob_host: str = "localhost",
        clock: Callable[[], datetime] | None = None,
        description: ApiDescription | None = None,
    ) -> None:
        super().__init__(host, port)
        self.state = State(clock) if clock is not None else State()
        self.api = description or load_description()
        self.requests: list[RecordedRequest] = []
        self.violations: list[Violation] = []
        self.response_errors: list[str] = []
        # Requests for artifact zips that carried a GitHub token: real clients drop it when the
        # redirect leaves api.github.com (storage is another host; so is ``blob_host`` here).
        self.blob_token_leaks: list[str] = []
        self._blob_host = blob_host
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._request_ids = itertools.count(1)
        # (match, n, event, then): set once n requests matching "METHOD /path" were handled.
        self._handled_waiters: list[
            tuple[str, int, threading.Event, Callable[[], None] | None]
        ] = []
        self.token(WRITE_TOKEN, ACTIONS_BOT, "write", "app")
        self.token(READ_TOKEN, ACTIONS_BOT, "read", "app")
        self.token(USER_TOKEN, "octocat", "write", "user")

    # -- faults -----------------------------------------------------------------------------
    def fail_next(
        self,
        status: int,
        times: int = 1,
        retry_after: str | None = None,
        *,
        body: Any = None,
        match: str | None = None,
        after: int = 0,
    ) -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        error = body if body is not None else _default_error_body(status, retry_after)
        with self._lock:
            self._faults.append(Fault("status", times, status, headers, error, match, after))

    def secondary_rate_limit(
        self, times: int = 1, retry_after: str = "0", *, match: str | None = None, after: int = 0
    ) -> None:
        self.fail_next(403, times, retry_after, match=match, after=after)

    def reset(self, times: int = 1, *, match: str | None = None, after: int = 0) -> None:
        """Drop the connection (TCP reset) instead of answering."""
        with self._lock:
            self._faults.append(Fault("reset", times, match=match, after=after))

    def garble(
        self, kind: str, times: int = 1, *, match: str | None = None, after: int = 0
    ) -> None:
        """Answer 200 with a body that is not GitHub's JSON: ``non_json`` (a proxy's HTML error
        page) or ``truncated`` (the JSON cut in half, with a matching Content-Length)."""
        if kind not in ("non_json", "truncated"):
            raise ValueError(f"unknown garbled body {kind!r}")
        with self._lock:
            self._faults.append(Fault(kind, times, 200, match=match, after=after))

    def request_handled(
        self, match: str, n: int = 1, then: Callable[[], None] | None = None
    ) -> threading.Event:
        """An event set once ``n`` requests whose "METHOD /path" contains ``match`` have been
        handled: their effect is in the state and the answer is on its way. Lets a test act
        (kill the client, say) at that point without sleeping. ``then`` runs in the server's
        thread before that answer is sent, so a client it kills never sees the answer."""
        event = threading.Event()
        with self._lock:
            self._handled_waiters.append((match, n, event, then))
        self._note_handled()
        return event

    def _note_handled(self) -> None:
        with self._lock:
            if not self._handled_waiters:
                return
            lines = [f"{r.method} {r.path}" for r in self.requests]
            due = [w for w in self._handled_waiters if sum(w[0] in x for x in lines) >= w[1]]
            self._handled_waiters = [w for w in self._handled_waiters if w not in due]
        for _, _, event, then in due:
            if then is not None:
                then()
            event.set()

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return sum(f.times for f in self._faults)

    def _take_fault(self, line: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.match is None or fault.match in line:
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
            return None

    # -- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> GitHubServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    # -- requests ---------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
            is_json = True
        except ValueError:
            body, is_json = None, False
        query = tuple(request.rel_url.query.items())
        path = request.raw_path.split("?", 1)[0]
        found = self.api.match(request.method, path)
        op = found[0] if found is not None else None
        status = 0
        try:
            fault = self._take_fault(f"{request.method} {path}")
            if fault is not None and fault.kind == "reset":
                return _reset(request)
            if fault is not None and fault.kind in ("non_json", "truncated"):
                status = 200
                return _garbled(fault.kind, self._standard_headers())
            if fault is not None:
                status = fault.status
                headers = {**self._standard_headers(), **fault.headers}
                return _json(fault.status, fault.body, headers)
            if path.startswith("/_blobs/artifacts/"):
                reply = self._blob(request, path)
            else:
                reply = self._api_call(request, found, query, body, raw, is_json)
            status = reply.status
            return self._respond(reply)
        finally:
            headers = dict(request.headers)
            for key in list(headers):
                if key.lower() == "authorization":
                    headers[key] = _REDACTED
            self.requests.append(
                RecordedRequest(
                    request.method,
                    path,
                    query,
                    headers,
                    body,
                    op.operation_id if op else None,
                    op.in_subset if op else False,
                    status,
                )
            )
            self._note_handled()

    def _violation(self, method: str, path: str, op: Operation | None, message: str) -> None:
        self.violations.append(Violation(method, path, op.operation_id if op else None, message))

    def _identity(self, request: web.Request) -> Identity:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if not header:
            raise ApiError(401, "Requires authentication")
        identity = self.state.tokens.get(value.strip())
        if scheme.lower() not in ("token", "bearer") or identity is None:
            raise ApiError(401, "Bad credentials")
        return identity

    def _api_call(
        self,
        request: web.Request,
        found: tuple[Operation, dict[str, str]] | None,
        query: tuple[tuple[str, str], ...],
        body: Any,
        raw: bytes,
        is_json: bool,
    ) -> github_routes.Reply:
        method, path = request.method, request.raw_path.split("?", 1)[0]
        docs = found[0].docs_url if found else "https://docs.github.com/rest"
        try:
            identity = self._identity(request)
            if found is None:
                self._violation(method, path, None, "no operation of the API description")
                raise ApiError(404, "Not Found")
            op, params = found
            problems = self.api.check_request(
                op, params, query, body, has_body=bool(raw), body_is_json=is_json
            )
            for problem in problems:
                self._violation(method, path, op, f"{problem.where}: {problem.message}")
            rejected = [p for p in problems if p.status]
            if rejected:
                raise _rejection(rejected)
            call = github_routes.Call(
                self.state,
                self.url,
                identity,
                params,
                dict(query),
                query,
                path,
                body,
                request.headers.get("Accept", ""),
                self._blob_url,
            )
            if "owner" in params and "repo" in params:
                _ = call.repo  # a missing repository is 404 before any permission check
            if method in _WRITE_METHODS and identity.permission != "write":
                raise ApiError(403, "Resource not accessible by integration")
            reply = HANDLERS[op.operation_id](call)
        except ApiError as error:
            return _error_reply(error, docs)
        except Exception as error:  # a bug in this fake: surfaced through response_errors
            self.response_errors.append(f"{method} {path}: {type(error).__name__}: {error}")
            return _error_reply(ApiError(500, "Server Error"), docs)
        if 200 <= reply.status < 300 and reply.raw is None:
            self.response_errors.extend(self.api.check_response(op, reply.status, reply.body))
        return reply

    def _blob_url(self, artifact_id: int) -> str:
        signature = f"{time.time_ns():x}"
        return f"http://{self._blob_host}:{self._port}/_blobs/artifacts/{artifact_id}.zip?sig={signature}"

    def _blob(self, request: web.Request, path: str) -> github_routes.Reply:
        if "Authorization" in request.headers:
            self.blob_token_leaks.append(path)
        name = path.rsplit("/", 1)[-1].removesuffix(".zip")
        found = self.state.find_artifact(int(name)) if name.isdigit() else None
        if found is None or request.method != "GET":
            return github_routes.Reply(404, raw=b"BlobNotFound")
        return github_routes.Reply(
            200, raw=found[1].data, headers={"Content-Type": "application/zip"}
        )

    def _respond(self, reply: github_routes.Reply) -> web.Response:
        headers = {**self._standard_headers(), **reply.headers}
        if reply.raw is not None:
            headers.setdefault("Content-Type", "application/octet-stream")
            return web.Response(status=reply.status, body=reply.raw, headers=headers)
        if reply.body is None:
            return web.Response(status=reply.status, headers=headers)
        return _json(reply.status, reply.body, headers)

    def _standard_headers(self) -> dict[str, str]:
        used = next(self._request_ids)
        return {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(max(0, 5000 - used)),
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-RateLimit-Used": str(used),
            "X-RateLimit-Resource": "core",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-GitHub-Request-Id": f"FAKE:{used:08X}",
        }


def _rejection(problems: list[Problem]) -> ApiError:
    worst = problems[0]
    if worst.status == 404:
        return ApiError(404, "Not Found")
    if worst.status == 400:
        return ApiError(400, "Problems parsing JSON")
    if worst.where == "query":
        return ApiError(
            422,
            "Validation Failed",
            [{"resource": "Query", "code": "invalid", "message": p.message} for p in problems],
        )
    return ApiError(422, "Invalid request.\n\n" + "\n".join(p.message for p in problems))


def _error_reply(error: ApiError, docs: str) -> github_routes.Reply:
    body: dict[str, Any] = {"message": error.message}
    if error.errors is not None:
        body["errors"] = error.errors
    body["documentation_url"] = docs
    body["status"] = str(error.status)
    return github_routes.Reply(error.status, body)


def _json(status: int, body: Any, headers: dict[str, str]) -> web.Response:
    headers["Content-Type"] = "application/json; charset=utf-8"
    return web.Response(status=status, body=json.dumps(body).encode(), headers=headers)


def _reset(request: web.Request) -> web.Response:
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger 0: closing sends RST instead of FIN, as a crashed proxy would.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    raise web.HTTPInternalServerError()  # never reaches the client: the socket is gone


def _garbled(kind: str, headers: Mapping[str, str]) -> web.Response:
    if kind == "non_json":
        page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        return web.Response(body=page, status=200, headers={**headers}, content_type="text/html")
    whole = json.dumps({"id": 1, "body": "x" * 200, "html_url": "https://github.com/"}).encode()
    return web.Response(
        body=whole[: len(whole) // 2],
        status=200,
        headers={**headers},
        content_type="application/json",
    )
