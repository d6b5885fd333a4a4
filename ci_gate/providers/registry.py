"""Provider factories by name, and building a configured target's provider.

A factory takes the target, the run's shared HTTP client, the environment (API keys and the
variables templates may read) and the directory of the suite file (for ``path``/``cwd``). It
raises ``ProviderConfigError`` when the target cannot work, before any call is made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from ci_gate.errors import ProviderConfigError
from ci_gate.providers import anthropic, command, fake, http_target, openai, python_fn
from ci_gate.providers.base import Provider
from ci_gate.suite.model import Target

Factory = Callable[[Target, httpx.AsyncClient, Mapping[str, str], Path], Provider]

PROVIDERS: Mapping[str, Factory] = {
    "openai": openai.build,
    "anthropic": anthropic.build,
    "http": http_target.build,
    "command": command.build,
    "python": python_fn.build,
    "fake": fake.build,
}


def build_provider(
    target: Target, client: httpx.AsyncClient, env: Mapping[str, str], base_dir: Path
) -> Provider:
    """The provider for ``target``; ``base_dir`` is the suite file's directory."""
    factory = PROVIDERS.get(target.provider)
    if factory is None:
        raise ProviderConfigError(
            f"target {target.id}: unknown provider {target.provider!r} "
            f"(one of: {', '.join(PROVIDERS)})"
        )
    return factory(target, client, env, base_dir)
