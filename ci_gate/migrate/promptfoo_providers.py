"""promptfoo providers as ci-gate targets.

``openai:...`` and OpenAI-compatible hosts become ``openai`` targets, ``anthropic:...`` an
``anthropic`` target, ``echo`` a ``fake`` target that answers with the prompt, and an HTTP
provider an ``http`` target when its response path is a plain ``json.a.b``. Providers that run
the team's code (``exec:``, ``python:``, ``file://``) call it another way than ci-gate does, and
are listed with the adapter to write. Keys never appear in the suite: a key written in the config
is listed (without its value) and read from the environment instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ci_gate.migrate.promptfoo_http import Converted, convert_http
from ci_gate.migrate.promptfoo_source import (
    At,
    Log,
    Source,
    ident,
    is_credential,
    shown,
    slug,
    suffix,
)

# OpenAI-compatible hosts promptfoo has providers for: prefix -> (base_url, key variable).
COMPATIBLE = {
    "ollama": ("http://localhost:11434/v1", "OLLAMA_API_KEY"),
    "groq": ("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "openrouter": ("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "deepseek": ("https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "mistral": ("https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
    "togetherai": ("https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "xai": ("https://api.x.ai/v1", "XAI_API_KEY"),
    "perplexity": ("https://api.perplexity.ai", "PERPLEXITY_API_KEY"),
}
KEY_VARS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
# Sampling and request parameters sent as they are in the request body.
# fmt: off
PARAMS = {
    "openai": frozenset({
        "temperature", "max_tokens", "max_completion_tokens", "top_p", "frequency_penalty",
        "presence_penalty", "seed", "stop", "response_format", "tools", "tool_choice",
        "parallel_tool_calls", "reasoning_effort", "logit_bias", "user",
    }),
    "anthropic": frozenset({
        "temperature", "max_tokens", "top_p", "top_k", "stop_sequences", "tools", "tool_choice",
        "thinking",
    }),
}
# fmt: on
# The API part of openai:KIND:MODEL; anything else after "openai:" is a chat model.
# fmt: off
API_KINDS = frozenset({
    "chat", "responses", "completion", "embedding", "embeddings", "assistant", "image", "realtime",
    "moderation", "transcription", "audio",
})
# fmt: on
CODE_PREFIXES = ("exec:", "python:", "golang:", "ruby:", "file://")
_ENV_REF = re.compile(
    r"^\s*(?:\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}|\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?)\s*$"
)


def provider_items(raw: Any, at: At, source: Source) -> Iterator[tuple[Any, At]]:
    """Each provider of ``providers:`` (a string, a list, a map, or a file of them)."""
    if (
        isinstance(raw, str)
        and raw.startswith("file://")
        and suffix(raw) in (".yaml", ".yml", ".json")
    ):
        doc = source.load(raw, at)
        yield from provider_items(doc.data, doc.at(), source)
    elif isinstance(raw, list):
        for index, item in enumerate(raw):
            yield from provider_items(item, at.at(index), source)
    elif isinstance(raw, Mapping) and "id" not in raw and len(raw) > 1:
        for key, value in raw.items():
            yield {key: value}, at.at(str(key))
    else:
        yield raw, at


def convert_provider(raw: Any, at: At, log: Log, *, embedding: bool = False) -> Converted | None:
    """The target for one provider (an embeddings model when ``embedding``), or None (logged)
    when it has none."""
    options: Mapping[str, Any] = {}
    if isinstance(raw, str):
        pid = raw
    elif isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
        pid, options = raw["id"], raw
    elif (
        isinstance(raw, Mapping) and len(raw) == 1 and isinstance(next(iter(raw.values())), Mapping)
    ):
        pid, options = next(iter(raw.items()))
        pid = str(pid)
    else:
        log.skip(
            at.where(), f"provider {shown(raw)}", "a provider is an id or an object with an id"
        )
        return None
    for key in options:
        if key not in ("id", "label", "config"):
            log.skip(
                at.at(key).where(),
                f"provider option {key!r}",
                _WHY_OPTION.get(key, "ci-gate targets have no such option"),
            )
    label = options.get("label")
    config = options.get("config") or {}
    if not isinstance(config, Mapping):
        config = {}
    converted = _by_id(pid, config, at, log, embedding)
    if converted is not None and isinstance(label, str) and slug(label, 40):
        return Converted(slug(label, 40), converted.entry, converted.prices)
    return converted


_WHY_OPTION = {
    "prompts": "ci-gate runs every case's prompt on the target given to the run",
    "transform": "ci-gate scores the output as the target returns it; transform it in your app "
    "or in a python target",
    "delay": "ci-gate paces calls with concurrency and retries, not a fixed delay",
    "env": "ci-gate reads the environment when the run starts; export the variables instead",
}


def _by_id(
    pid: str, config: Mapping[str, Any], at: At, log: Log, embedding: bool
) -> Converted | None:
    parts = pid.split(":")
    head = parts[0]
    if embedding and head != "openai" and head not in COMPATIBLE:
        log.skip(
            at.where(),
            f"embedding provider {shown(pid)}",
            "ci-gate embeds texts through OpenAI-compatible endpoints; name one, e.g. "
            "openai:embedding:MODEL",
        )
        return None
    if pid in ("echo", "promptfoo:echo"):
        entry = {"provider": "fake", "default_output": "echo"}
        return Converted("echo", entry, {})
    if head in ("http", "https"):
        return convert_http(pid, config, at, log)
    if pid.startswith(CODE_PREFIXES):
        log.skip(
            at.where(),
            f"provider {shown(pid)}",
            "it runs your code with promptfoo's calling convention; add a python target "
            "(function gets one dict: prompt, vars, messages) or a command target (the same "
            "JSON on stdin) that calls your code",
        )
        return None
    if head == "openai":
        return _openai_like(
            parts, config, at, log, base_url=None, key_var=KEY_VARS["openai"], embedding=embedding
        )
    if head == "anthropic":
        return _anthropic(parts, config, at, log)
    if head in COMPATIBLE:
        base_url, key_var = COMPATIBLE[head]
        log.note(
            f"{shown(pid)} became an openai target at {base_url}, its OpenAI-compatible "
            f"endpoint (key from {key_var})",
            at.where(),
        )
        rest = parts[1:]
        return _openai_like(
            ["openai", *rest],
            config,
            at,
            log,
            base_url=base_url,
            key_var=key_var,
            embedding=embedding,
        )
    log.skip(
        at.where(),
        f"provider {shown(pid)}",
        "ci-gate calls OpenAI-compatible and Anthropic APIs, your HTTP service, a command or a "
        "Python function; use an openai target with base_url if the host offers a compatible "
        "endpoint, or wrap the model in a python target",
    )
    return None


def _openai_like(
    parts: list[str],
    config: Mapping[str, Any],
    at: At,
    log: Log,
    *,
    base_url: str | None,
    key_var: str,
    embedding: bool,
) -> Converted | None:
    if len(parts) > 2 and parts[1] in API_KINDS:
        kind, model = parts[1], ":".join(parts[2:])
    else:
        kind, model = "chat", ":".join(parts[1:])
    name = shown(":".join(parts))
    if embedding != (kind in ("embedding", "embeddings")):
        why = (
            "an embeddings model can only embed texts for similar; give a chat model"
            if not embedding
            else "it is not an embeddings model; name one, e.g. openai:embedding:MODEL"
        )
        log.skip(at.where(), f"provider {name}", why)
        return None
    if kind == "responses":
        log.note("the Responses API provider became a Chat Completions target", at.where())
    elif kind not in ("chat", "embedding", "embeddings"):
        log.skip(
            at.where(),
            f"provider {name}",
            f"ci-gate calls the Chat Completions API, not the {kind} API",
        )
        return None
    if not model:
        log.skip(
            at.where(),
            f"provider {name}",
            "it names no model; add an openai target with the model to use",
        )
        return None
    entry: dict[str, Any] = {"provider": "openai", "model": model}
    if base_url:
        entry["base_url"] = base_url
    return _llm(entry, "openai", config, at, log, key_var)


def _anthropic(parts: list[str], config: Mapping[str, Any], at: At, log: Log) -> Converted | None:
    if len(parts) > 2 and parts[1] == "messages":
        model = ":".join(parts[2:])
    elif len(parts) == 2 and parts[1].startswith("claude"):
        model = parts[1]
    else:
        log.skip(
            at.where(),
            f"provider {shown(':'.join(parts))}",
            "ci-gate calls Anthropic's Messages API: use anthropic:messages:MODEL",
        )
        return None
    entry: dict[str, Any] = {"provider": "anthropic", "model": model}
    return _llm(entry, "anthropic", config, at, log, KEY_VARS["anthropic"])


def _llm(
    entry: dict[str, Any], kind: str, config: Mapping[str, Any], at: At, log: Log, key_var: str
) -> Converted:
    params: dict[str, Any] = {}
    headers: dict[str, str] = {}
    prices: dict[str, dict[str, float]] = {}
    where = at.at("config")
    for key, value in config.items():
        if key == "tools" and isinstance(value, str):
            log.skip(
                where.at(key).where(),
                f"tools from {shown(value)}",
                "write the tool definitions into the target's params.tools",
            )
        elif key in PARAMS[kind]:
            params[key] = value
        elif key in ("apiBaseUrl", "baseUrl", "base_url"):
            entry["base_url"] = str(value)
        elif key == "apiHost" and kind == "openai":
            entry["base_url"] = f"https://{value}/v1"
        elif key == "apiKeyEnvar":
            key_var = str(value)
        elif key == "apiKey":
            env = _ENV_REF.match(str(value))
            if env:
                key_var = env.group(1) or env.group(2)
            else:
                log.skip(
                    where.at(key).where(),
                    "an API key written in the config",
                    f"ci-gate never reads keys from the suite: export it as {key_var} "
                    "(remove it from the config too, and rotate it if it was committed)",
                )
        elif key == "organization" and kind == "openai":
            headers["OpenAI-Organization"] = str(value)
        elif key == "headers" and isinstance(value, Mapping):
            for name, text in value.items():
                if is_credential(str(name), text) or "{{" in str(text):
                    log.skip(
                        where.at(key, str(name)).where(),
                        f"header {shown(str(name))}",
                        f"ci-gate sends the key from {key_var} (api_key_env); this target's "
                        "headers hold no credentials or templates",
                    )
                else:
                    headers[str(name)] = str(text)
        elif key == "cost" and isinstance(value, (int, float)) and not isinstance(value, bool):
            per_mtok = float(value) * 1_000_000
            prices[str(entry["model"])] = {"input": per_mtok, "output": per_mtok}
            log.note(
                "cost per token became a price per million tokens in prices:",
                where.at(key).where(),
            )
        else:
            log.skip(
                where.at(key).where(),
                f"provider option {key!r}",
                "ci-gate has no such target option; request parameters it does not know "
                "can go in params if the API accepts them",
            )
    if key_var != KEY_VARS.get(kind):
        entry["api_key_env"] = key_var
    if headers:
        entry["headers"] = headers
    if params:
        entry["params"] = params
    return Converted(ident(str(entry["model"])) or kind, entry, prices)
