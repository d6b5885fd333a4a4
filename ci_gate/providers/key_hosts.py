"""Which hosts may receive an API key: a rule the workflow sets, that a suite cannot loosen.

A pull request can edit the suite, including a target's ``base_url`` or ``url``. In the Action,
a target that would send a key from the environment to a host the workflow did not allow (the
``allowed-hosts`` input) is refused before any call. A provider's own default endpoint
(api.openai.com for ``openai``) is allowed without being listed: ci-gate chose it, not the suite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import httpx

from ci_gate.errors import ProviderConfigError
from ci_gate.providers import anthropic, openai
from ci_gate.providers.http_target import env_refs
from ci_gate.suite.model import Target

_DEFAULT_URLS = {"openai": openai.DEFAULT_BASE_URL, "anthropic": anthropic.DEFAULT_BASE_URL}


def _host(url: str) -> tuple[str, int | None]:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return "", None
    return parsed.host.lower(), parsed.port


def _allowed(host: str, port: int | None, allowed: Iterable[str]) -> bool:
    for rule in allowed:
        name, _, rule_port = rule.partition(":")
        if rule_port and (port is None or str(port) != rule_port):
            continue
        if name.startswith("*."):
            if host.endswith(name[1:]) and host != name[2:]:
                return True
        elif host == name:
            return True
    return False


def key_destination(target: Target) -> tuple[str, str] | None:
    """(URL, what is sent there) when ``target`` sends a secret from the environment, else None."""
    options = target.options
    if target.provider in _DEFAULT_URLS:
        url = str(options.get("base_url") or _DEFAULT_URLS[target.provider])
        return url, "its API key"
    if target.provider == "http":
        names = sorted(set(env_refs(options.get("headers"))) | set(env_refs(options.get("body"))))
        if names:
            return str(options.get("url") or ""), "environment variables " + ", ".join(names)
    return None


def check_key_hosts(targets: Sequence[Target], allowed: Sequence[str]) -> None:
    """Refuse a target that would send a secret to a host outside ``allowed`` (and the
    provider's default); a one-line ``ProviderConfigError`` naming the target and the host."""
    for target in targets:
        found = key_destination(target)
        if found is None:
            continue
        url, what = found
        host, port = _host(url)
        default = _DEFAULT_URLS.get(target.provider)
        if default is not None and _host(default)[0] == host and port in (None, 443):
            continue
        if host and _allowed(host, port, allowed):
            continue
        shown = f"{host}:{port}" if port else host or "an unreadable URL"
        raise ProviderConfigError(
            f"target {target.id}: would send {what} to {shown}, which the workflow does not "
            "allow; add the host to the action's allowed-hosts input if it is trusted (a suite "
            "cannot allow hosts itself, since a pull request can edit it)"
        )
