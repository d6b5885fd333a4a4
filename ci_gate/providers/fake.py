"""Provider ``fake``: deterministic canned outputs, latency and failures, for tests and demos.

The output is chosen by case id (``outputs``), then by the first ``rules`` regex matching the
prompt text (or, for a case without a prompt, the JSON of its vars), then ``default_output``
(``echo``: that same text). Each of those is an output spec (``ci_gate.providers.fake_script``):
a text, ``{output, tool_calls, context}`` for the tool and retrieval assertions, or a list picked
from by sample, so that repeats can differ.

Latency and failures are drawn from a hash of (seed, case, sample): the same suite gives the same
run. Failures also depend on how many times this (case, sample) has been called, so a retry of a
failed call can succeed, still the same way on every run. The reported ``latency_ms`` is the
simulated latency, not the wall clock, for the same reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import httpx

from ci_gate.errors import ProviderConfigError
from ci_gate.providers.base import (
    Embeddings,
    ErrorKind,
    ProviderError,
    ProviderRequest,
    ProviderResponse,
)
from ci_gate.providers.fake_embed import fake_embedding
from ci_gate.providers.fake_script import Scripted, script_problems, scripted, show_path
from ci_gate.suite.model import Target

DEFAULT_MODEL = "fake-model"
ECHO = "echo"
_ERROR_KINDS = (
    "rate_limited",
    "server_error",
    "timeout",
    "connection",
    "bad_response",
    "client_error",
    "app_error",
)
_STATUS = {"rate_limited": 429, "server_error": 500, "client_error": 400}


def estimate_tokens(text: str) -> int:
    """About four characters a token, as a stand-in for a tokenizer."""
    return math.ceil(len(text) / 4)


def request_text(request: ProviderRequest) -> str:
    """The prompt text, or the case's vars as JSON when the case has no prompt."""
    prompt = request.prompt
    if prompt is not None:
        return prompt
    return json.dumps(dict(request.vars), sort_keys=True, ensure_ascii=False, default=str)


def _unit(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts``."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _script(value: Any, where: str, key: str) -> tuple[Scripted, ...]:
    problems = script_problems(value)
    if problems:
        first = problems[0]
        hint = f" ({first.hint})" if first.hint else ""
        raise ProviderConfigError(f"{where}: {key}{show_path(first.path)}: {first.message}{hint}")
    return scripted(value)


class FakeProvider:
    def __init__(self, target: Target) -> None:
        self.target = target
        opts = _plain(target.options)
        self._opts = opts
        self._model = target.model or DEFAULT_MODEL
        where = f"target {target.id}"
        outputs = opts.get("outputs") or {}
        if not isinstance(outputs, Mapping):
            raise ProviderConfigError(f"{where}: outputs must map case ids to outputs")
        self._outputs = {str(k): _script(v, where, f"outputs.{k}") for k, v in outputs.items()}
        self._rules: list[tuple[re.Pattern[str], tuple[Scripted, ...]]] = []
        for i, rule in enumerate(opts.get("rules") or []):
            if not isinstance(rule, Mapping) or "match" not in rule or "output" not in rule:
                raise ProviderConfigError(f"{where}: rules[{i}] needs match and output")
            try:
                pattern = re.compile(str(rule["match"]))
            except re.error as exc:
                raise ProviderConfigError(
                    f"{where}: rules[{i}].match is not a valid regex ({exc})"
                ) from None
            self._rules.append((pattern, _script(rule["output"], where, f"rules[{i}].output")))
        default = opts.get("default_output", ECHO)
        self._default = None if default == ECHO else _script(default, where, "default_output")
        self._mean_ms, self._jitter_ms = _latency(opts.get("latency_ms", 0), where)
        self._error_rate = float(opts.get("error_rate", 0.0) or 0.0)
        if not 0.0 <= self._error_rate <= 1.0:
            raise ProviderConfigError(f"{where}: error_rate must be between 0 and 1")
        kind = opts.get("error_kind", "server_error")
        if kind not in _ERROR_KINDS:
            raise ProviderConfigError(
                f"{where}: error_kind {kind!r} is not one of {', '.join(_ERROR_KINDS)}"
            )
        self._error_kind = cast(ErrorKind, kind)
        self._seed = opts.get("seed", 0)
        self._attempts: dict[tuple[str, int], int] = {}

    def cache_identity(self) -> Mapping[str, Any]:
        return {"provider": "fake", "model": self._model, "options": self._opts}

    def output_for(self, request: ProviderRequest) -> Scripted:
        choices = self._outputs.get(request.case_id)
        if choices is None:
            text = request_text(request)
            choices = next((c for pattern, c in self._rules if pattern.search(text)), None)
            if choices is None:
                choices = self._default or (Scripted(text),)
        return choices[request.sample % len(choices)]

    async def call(self, request: ProviderRequest) -> ProviderResponse:
        key = (request.case_id, request.sample)
        attempt = self._attempts.get(key, 0)
        self._attempts[key] = attempt + 1
        u = _unit(self._seed, request.case_id, request.sample, "latency")
        latency_ms = max(0.0, self._mean_ms + self._jitter_ms * (2.0 * u - 1.0))
        timeout_ms = self.target.timeout_s * 1000.0
        if latency_ms >= timeout_ms:
            await asyncio.sleep(self.target.timeout_s)
            raise ProviderError("timeout", f"fake latency {latency_ms:.0f} ms exceeds timeout_s")
        if latency_ms > 0:
            await asyncio.sleep(latency_ms / 1000.0)
        if _unit(self._seed, request.case_id, request.sample, attempt, "error") < self._error_rate:
            raise ProviderError(
                self._error_kind,
                f"fake {self._error_kind} (error_rate {self._error_rate:g})",
                status=_STATUS.get(self._error_kind),
            )
        answer = self.output_for(request)
        prompt_text = "".join(m.content for m in request.messages) or request_text(request)
        output_tokens = estimate_tokens(answer.text)
        calls = answer.extra.get("tool_calls")
        if calls:  # a model is billed for the calls it writes, too
            output_tokens += estimate_tokens(json.dumps(calls, ensure_ascii=False))
        return ProviderResponse(
            output=answer.text,
            latency_ms=round(latency_ms, 3),
            input_tokens=estimate_tokens(prompt_text),
            output_tokens=output_tokens,
            model=self._model,
            finish_reason="stop",
            # A copy per response: whoever reads it must not change the script.
            extra=_plain(answer.extra) if answer.extra else {},
        )

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """Hashed bag-of-words vectors (``ci_gate.providers.fake_embed``): no latency, no
        failures, so that a demo's similarity scores depend on the texts alone."""
        vectors = [fake_embedding(t) for t in texts]
        tokens = sum(estimate_tokens(t) for t in texts)
        return Embeddings(vectors, 0.0, tokens, self._model)

    async def aclose(self) -> None:
        return None


def _plain(value: Any) -> Any:
    """``value`` with read-only mappings and tuples turned into JSON-ready dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _latency(value: Any, where: str) -> tuple[float, float]:
    """(mean, jitter) in ms from ``latency_ms``: a number or ``{mean, jitter}``."""
    if isinstance(value, Mapping):
        mean, jitter = value.get("mean", 0), value.get("jitter", 0)
    else:
        mean, jitter = value, 0
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (mean, jitter)):
        raise ProviderConfigError(f"{where}: latency_ms must be a number or {{mean, jitter}}")
    if mean < 0 or jitter < 0:
        raise ProviderConfigError(f"{where}: latency_ms must not be negative")
    return float(mean), float(jitter)


def build(
    target: Target, client: httpx.AsyncClient, env: Mapping[str, str], base_dir: Path
) -> FakeProvider:
    return FakeProvider(target)
