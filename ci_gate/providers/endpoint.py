"""What a hosted model API target needs before its first call: key, endpoint, headers, model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from ci_gate.errors import ProviderConfigError
from ci_gate.providers.http_client import api_key, check_url, string_headers
from ci_gate.suite.model import Target


@dataclass(frozen=True)
class ModelEndpoint:
    provider: str
    api_key: str
    base_url: str
    url: str
    headers: Mapping[str, str]
    model: str

    def cache_identity(self) -> Mapping[str, Any]:
        # Header names, not values: a value may be a secret, and none changes the answer.
        return {
            "provider": self.provider,
            "base_url": self.base_url,
            "model": self.model,
            "headers": sorted(self.headers),
        }


def model_endpoint(
    target: Target,
    env: Mapping[str, str],
    *,
    default_base_url: str,
    default_key_env: str,
    path: str,
) -> ModelEndpoint:
    """Check the target's settings once, at build time, with one-line errors that say the fix."""
    options = target.options
    key = api_key(options, env, default_key_env, target_id=target.id)
    base_url = str(options.get("base_url") or default_base_url).rstrip("/")
    base_url = check_url(base_url, target_id=target.id, option="base_url")
    if not target.model:
        raise ProviderConfigError(
            f"target {target.id}: model is required for provider {target.provider} (add model: ...)"
        )
    return ModelEndpoint(
        provider=target.provider,
        api_key=key,
        base_url=base_url,
        url=f"{base_url}{path}",
        headers=string_headers(options.get("headers")),
        model=target.model,
    )


class EndpointProvider:
    """What the hosted model API providers share: the target, the run's client, the endpoint
    checked once at build time, and a cache identity taken from it."""

    default_base_url: ClassVar[str]
    default_key_env: ClassVar[str]
    path: ClassVar[str]

    def __init__(self, target: Target, client: httpx.AsyncClient, env: Mapping[str, str]) -> None:
        self.target = target
        self._client = client
        self._endpoint = model_endpoint(
            target,
            env,
            default_base_url=self.default_base_url,
            default_key_env=self.default_key_env,
            path=self.path,
        )

    def cache_identity(self) -> Mapping[str, Any]:
        return self._endpoint.cache_identity()
