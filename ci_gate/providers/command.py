"""Provider ``command``: runs the team's program once per call, without a shell.

The request JSON goes to stdin; stdout is the output (``output: text``) or a JSON object with
``output`` and optional ``usage``/``context``/``tool_calls`` (``output: json``). The program runs
in its own process group so that a timeout (or a stopped run) kills its children too.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from ci_gate.deadline import within
from ci_gate.errors import ProviderConfigError
from ci_gate.process_group import kill_group
from ci_gate.providers.base import ProviderError, ProviderRequest, ProviderResponse
from ci_gate.providers.python_fn import app_response
from ci_gate.providers.scrubbing import excerpt, scrub, secret_env_values
from ci_gate.suite.model import Target

STDERR_CHARS = 500
STDERR_LINES = 10


class CommandProvider:
    def __init__(self, target: Target, env: Mapping[str, str], base_dir: Path) -> None:
        self.target = target
        where = f"target {target.id}"
        argv = target.options.get("command")
        if isinstance(argv, str) or not argv or not all(isinstance(a, str) for a in argv):
            raise ProviderConfigError(
                f"{where}: command must be a non-empty list of strings, e.g. [python3, bot.py]"
            )
        self._argv: list[str] = list(argv)
        cwd = target.options.get("cwd")
        self._cwd_option = str(cwd) if cwd is not None else None
        self._cwd = (base_dir / self._cwd_option).resolve() if self._cwd_option else base_dir
        if not self._cwd.is_dir():
            raise ProviderConfigError(f"{where}: cwd {self._cwd_option} is not a directory")
        mode = target.options.get("output", "text")
        if mode not in ("text", "json"):
            raise ProviderConfigError(f"{where}: output must be text or json, not {mode!r}")
        self._json = mode == "json"
        self._env = dict(env)
        self._secrets = secret_env_values(env)
        program = self._argv[0]
        found = (
            (self._cwd / program).exists()
            if os.sep in program or "/" in program
            else shutil.which(program, path=env.get("PATH", os.defpath)) is not None
        )
        if not found:
            raise ProviderConfigError(
                f"{where}: program {program!r} not found (in {self._cwd} or on PATH)"
            )

    def cache_identity(self) -> Mapping[str, Any]:
        return {"provider": "command", "command": self._argv, "cwd": self._cwd_option}

    async def call(self, request: ProviderRequest) -> ProviderResponse:
        # ASCII escapes: a lone surrogate in case data must not make the request unencodable.
        payload = json.dumps(request.to_json(), default=str).encode("ascii")
        started = time.perf_counter()
        try:
            proc = await asyncio.create_subprocess_exec(
                *self._argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self._cwd,
                env=self._env,
                start_new_session=True,
            )
        except OSError as exc:
            raise ProviderError(
                "config", f"cannot run {self._argv[0]}: {excerpt(str(exc), self._secrets)}"
            ) from None
        try:
            stdout, stderr = await within(proc.communicate(payload), self.target.timeout_s)
        except asyncio.TimeoutError:
            raise ProviderError(
                "timeout",
                f"{self._argv[0]} did not finish within {self.target.timeout_s:g} s "
                "and was killed (raise timeout_s of the target)",
            ) from None
        finally:
            # Also on success: children left behind by the program would outlive the run.
            await kill_group(proc)
        latency_ms = (time.perf_counter() - started) * 1000.0
        if proc.returncode != 0:
            raise ProviderError("app_error", self._exit_message(proc.returncode, stderr))
        text = stdout.decode("utf-8", "replace")
        if not self._json:
            return ProviderResponse(
                output=text.rstrip("\r\n"), latency_ms=latency_ms, model=self.target.model
            )
        try:
            data = json.loads(text)
        except ValueError:
            shown = excerpt(text, self._secrets, limit=80)
            raise ProviderError(
                "bad_response", f"{self._argv[0]} printed invalid JSON (output: json): {shown!r}"
            ) from None
        return app_response(
            data, latency_ms=latency_ms, model=self.target.model, what=self._argv[0]
        )

    def _exit_message(self, code: int | None, stderr: bytes) -> str:
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited {code}"
        lines = stderr.decode("utf-8", "replace")[-20_000:].splitlines()[-STDERR_LINES:]
        tail = scrub(" | ".join(line.strip() for line in lines if line.strip()), self._secrets)
        if len(tail) > STDERR_CHARS:
            tail = "..." + tail[-(STDERR_CHARS - 3) :]
        return f"{self._argv[0]} {how}" + (f": {tail}" if tail else " with no stderr")

    async def aclose(self) -> None:
        return None


def build(
    target: Target, client: httpx.AsyncClient, env: Mapping[str, str], base_dir: Path
) -> CommandProvider:
    return CommandProvider(target, env, base_dir)
