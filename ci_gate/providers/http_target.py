"""Provider ``http``: the team's own JSON service, called with templated headers and body.

Templates see ``vars``, ``messages``, ``prompt``, ``case_id``, ``sample``, ``params`` and ``env``.
Only the environment variables the templates name are handed to the renderer; their values are
secrets, so they are checked at build time (by name only), scrubbed from every error message and
left out of the cache identity.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from ci_gate.errors import GateError, ProviderConfigError
from ci_gate.providers.base import ProviderError, ProviderRequest, ProviderResponse
from ci_gate.providers.http_client import check_url, request_json, require_env
from ci_gate.providers.scrubbing import excerpt
from ci_gate.suite import template
from ci_gate.suite.model import Target

_ENV_REF = re.compile(r"\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_INDEX = re.compile(r"[0-9]+")
_BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


class HttpTargetProvider:
    def __init__(self, target: Target, client: httpx.AsyncClient, env: Mapping[str, str]) -> None:
        self.target = target
        self._client = client
        opts = target.options
        where = f"target {target.id}"
        url, output_path = opts.get("url"), opts.get("output_path")
        if not isinstance(url, str) or not url:
            raise ProviderConfigError(f"{where}: url is required for provider http")
        if not isinstance(output_path, str) or not output_path:
            raise ProviderConfigError(
                f"{where}: output_path is required for provider http (e.g. output_path: answer)"
            )
        self._url = check_url(url, target_id=target.id, option="url")
        self._output_path = output_path
        self._method = str(opts.get("method") or "POST").upper()
        raw_headers = opts.get("headers") or {}
        self._headers = {
            str(k): v if isinstance(v, str) else json.dumps(v) for k, v in raw_headers.items()
        }
        self._body = opts.get("body")
        usage_paths = opts.get("usage_paths") or {}
        self._usage_paths = {str(k): str(v) for k, v in usage_paths.items()}
        context_path = opts.get("context_path")
        self._context_path = str(context_path) if context_path else None
        names = sorted(set(env_refs(self._headers)) | set(env_refs(self._body)))
        self._env = {
            name: require_env(
                env,
                name,
                target_id=target.id,
                hint=f"export {name}=... or remove {{{{ env.{name} }}}} from targets[{target.id}]",
            )
            for name in names
        }
        self._secrets = tuple(self._env.values())

    def cache_identity(self) -> Mapping[str, Any]:
        return {
            "provider": "http",
            "url": self._url,
            "method": self._method,
            "body": _plain(self._body),
            "output_path": self._output_path,
        }

    def values(self, request: ProviderRequest) -> dict[str, Any]:
        data = request.to_json()
        data["params"] = {**dict(self.target.params), **data["params"]}
        data["env"] = dict(self._env)
        return data

    def render(self, request: ProviderRequest) -> tuple[dict[str, str], Any]:
        """The headers and body of the call; rendering failures are config errors."""
        values = self.values(request)
        try:
            headers = {k: template.render(v, values) for k, v in self._headers.items()}
            if self._body is not None:
                body = template.render_json(self._body, values)
            elif self._method in _BODYLESS:
                body = None
            else:
                body = request.to_json()
        except (GateError, LookupError, ValueError, TypeError) as exc:
            raise ProviderError(
                "config",
                f"target {self.target.id}: cannot render the request: "
                f"{excerpt(str(exc), self._secrets)}",
            ) from None
        return headers, body

    async def call(self, request: ProviderRequest) -> ProviderResponse:
        headers, body = self.render(request)
        reply = await request_json(
            self._client,
            self._method,
            self._url,
            headers=headers,
            body=body,
            timeout_s=self.target.timeout_s,
            secrets=self._secrets,
        )
        data = reply.body
        found, value = lookup(data, self._output_path)
        if not found:
            raise ProviderError(
                "bad_response",
                f"output_path {self._output_path} not found in the response "
                f"(top-level keys: {_top_keys(data, self._secrets)})",
            )
        if value is None:
            raise ProviderError("bad_response", f"output_path {self._output_path} is null")
        output = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        extra: dict[str, Any] = {}
        if self._context_path:
            found, context = lookup(data, self._context_path)
            if found:
                extra["context"] = context
        return ProviderResponse(
            output=output,
            latency_ms=reply.latency_ms,
            input_tokens=self._tokens(data, "input_tokens"),
            output_tokens=self._tokens(data, "output_tokens"),
            model=self.target.model,
            extra=extra,
        )

    def _tokens(self, data: Any, name: str) -> int | None:
        path = self._usage_paths.get(name)
        if path is None:
            return None
        found, value = lookup(data, path)
        ok = found and isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return value if ok else None

    async def aclose(self) -> None:
        return None


def lookup(data: Any, path: str) -> tuple[bool, Any]:
    """Follow a dotted path (integers index lists); (False, None) when a step is missing."""
    current = data
    for step in path.split("."):
        if isinstance(current, dict) and step in current:
            current = current[step]
        elif (
            isinstance(current, list)
            and step.isascii()
            and step.isdigit()
            and int(step) < len(current)
        ):
            current = current[int(step)]
        else:
            return False, None
    return True, current


def _top_keys(data: Any, secrets: tuple[str, ...]) -> str:
    if isinstance(data, dict):
        return excerpt(", ".join(str(k)[:40] for k in list(data)[:20]), secrets) or "none"
    return f"none: the response is a JSON {type(data).__name__}"


def env_refs(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield from _ENV_REF.findall(value)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from env_refs(k)
            yield from env_refs(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from env_refs(v)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def build(
    target: Target, client: httpx.AsyncClient, env: Mapping[str, str], base_dir: Path
) -> HttpTargetProvider:
    return HttpTargetProvider(target, client, env)
