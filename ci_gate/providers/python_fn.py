"""Provider ``python``: calls the team's own function, ``module:function``, in-process.

The function receives one argument, the request as a dict (``ProviderRequest.to_json()``). A sync
function runs in a worker thread so it cannot stall the other calls; an async one is awaited. It
returns the output text, or a dict with ``output`` and optionally ``usage``
(``input_tokens``/``output_tokens``), ``context``, ``tool_calls`` and ``model``. A function that
outlives ``timeout_s`` is reported as a timeout; a sync one keeps its thread until it returns,
since Python cannot stop a thread.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from ci_gate.deadline import within
from ci_gate.errors import ProviderConfigError
from ci_gate.providers.base import ProviderError, ProviderRequest, ProviderResponse
from ci_gate.providers.scrubbing import excerpt, secret_env_values
from ci_gate.suite.model import Target

APP_ERROR_CHARS = 500


def app_response(
    value: Any, *, latency_ms: float, model: str | None, what: str
) -> ProviderResponse:
    """The response from what the team's code returned: a string or a dict with ``output``."""
    if isinstance(value, str):
        return ProviderResponse(output=value, latency_ms=latency_ms, model=model)
    if not isinstance(value, Mapping) or "output" not in value:
        raise ProviderError(
            "bad_response",
            f"{what} must return a string or a dict with an output key, not {type(value).__name__}",
        )
    output = value["output"]
    if output is None:
        raise ProviderError("bad_response", f"{what} returned output null")
    if not isinstance(output, str):
        output = json.dumps(output, ensure_ascii=False, default=str)
    usage = value.get("usage")
    usage = usage if isinstance(usage, Mapping) else {}
    extra = {k: value[k] for k in ("context", "tool_calls") if value.get(k) is not None}
    returned_model = value.get("model")
    return ProviderResponse(
        output=output,
        latency_ms=latency_ms,
        input_tokens=_count(usage.get("input_tokens")),
        output_tokens=_count(usage.get("output_tokens")),
        model=returned_model if isinstance(returned_model, str) else model,
        extra=extra,
    )


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def load_function(
    spec: str, path: str | None, *, base_dir: Path, target_id: str
) -> Callable[..., Any]:
    """Import ``module:function`` (dotted attributes allowed), with ``path`` put on sys.path."""
    where = f"target {target_id}"
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ProviderConfigError(
            f"{where}: function must look like module:function, e.g. support_bot.app:answer"
        )
    if path is not None:
        directory = (base_dir / path).resolve()
        if not directory.is_dir():
            raise ProviderConfigError(f"{where}: path {path} is not a directory (from {base_dir})")
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    try:
        obj: Any = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:
        missing = isinstance(exc, ModuleNotFoundError) and module_name.startswith(exc.name or "?")
        hint = (
            f"set path: in targets[{target_id}] to the directory that contains it"
            if missing
            else "the module failed while being imported; fix it or run it alone to see why"
        )
        raise ProviderConfigError(
            f"{where}: cannot import {module_name} ({type(exc).__name__}: "
            f"{excerpt(str(exc), limit=200)}; {hint})"
        ) from None
    for name in attr.split("."):
        if not hasattr(obj, name):
            raise ProviderConfigError(f"{where}: {module_name} has no attribute {attr}")
        obj = getattr(obj, name)
    if not callable(obj):
        raise ProviderConfigError(f"{where}: {spec} is not callable")
    return obj  # type: ignore[no-any-return]


class PythonProvider:
    def __init__(self, target: Target, env: Mapping[str, str], base_dir: Path) -> None:
        self.target = target
        spec = target.options.get("function")
        if not isinstance(spec, str):
            raise ProviderConfigError(
                f"target {target.id}: function is required for provider python (module:function)"
            )
        path = target.options.get("path")
        self._spec = spec
        self._path = str(path) if path is not None else None
        self._fn = load_function(spec, self._path, base_dir=base_dir, target_id=target.id)
        self._is_async = inspect.iscoroutinefunction(self._fn)
        self._secrets = secret_env_values(env)

    def cache_identity(self) -> Mapping[str, Any]:
        return {"provider": "python", "function": self._spec, "path": self._path}

    async def _invoke(self, payload: dict[str, Any]) -> Any:
        try:
            if self._is_async:
                return await self._fn(payload)
            result = await asyncio.to_thread(self._fn, payload)
            if inspect.isawaitable(result):
                result = await result
            return result
        except ProviderError:
            raise
        except (Exception, SystemExit) as exc:
            # Wrapped here so that a TimeoutError the function raises is not taken for ours.
            message = excerpt(str(exc), self._secrets, limit=APP_ERROR_CHARS)
            raise ProviderError(
                "app_error", f"{self._spec} raised {type(exc).__name__}: {message}"
            ) from None

    async def call(self, request: ProviderRequest) -> ProviderResponse:
        started = time.perf_counter()
        try:
            value = await within(self._invoke(request.to_json()), self.target.timeout_s)
        except asyncio.TimeoutError:
            raise ProviderError(
                "timeout",
                f"{self._spec} did not return within {self.target.timeout_s:g} s "
                "(raise timeout_s of the target)",
            ) from None
        latency_ms = (time.perf_counter() - started) * 1000.0
        return app_response(value, latency_ms=latency_ms, model=self.target.model, what=self._spec)

    async def aclose(self) -> None:
        return None


def build(
    target: Target, client: httpx.AsyncClient, env: Mapping[str, str], base_dir: Path
) -> PythonProvider:
    return PythonProvider(target, env, base_dir)
