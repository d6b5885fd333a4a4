"""The team's own scorers: ``python`` (a function, in-process) and ``command`` (a program).

Both see the output and a context: ``case_id``, ``sample``, ``vars``, ``expected``, ``extra``
(the target's ``tool_calls``/``context``), ``config`` (the assertion's, as written) and
``request`` (the input the target answered). Both answer the same way: ``true``/``false``
(score 1 or 0), a number in [0, 1] (passing at ``threshold``) or ``{pass, score, message}`` with
at least one of ``pass`` and ``score``.

A scorer that raises, exits non-zero, times out or answers anything else makes the record an
error (``ScorerError("scorer")``), never a failed case: a broken scorer says nothing about the
output. One that cannot be found (module, function, folder, program) is a ``config`` error saying
how to fix it; the check at load time only sees the spec, not the suite's folder, so imports are
resolved at first use and remembered per (folder, function).

A scorer's message and whatever it raised or printed may quote the model's output: they appear in
messages only through ``excerpt``, after known secrets are scrubbed.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import math
import os
import re
import shlex
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeGuard

from ci_gate.assertions.base import AssertionResult, Output, ScorerError, Scoring
from ci_gate.assertions.registry import register_async
from ci_gate.assertions.spec_rules import DEFAULT_LAYERS, check_shape, option, show
from ci_gate.assertions.text import excerpt, one_line
from ci_gate.deadline import within
from ci_gate.process_group import kill_group
from ci_gate.providers.scrubbing import scrub, secret_env_values
from ci_gate.suite.model import JSON, AssertionSpec, Case

MESSAGE_CHARS = 200  # a scorer's own message, its exception text, its last stderr line
SHOWN_CHARS = 60  # a bad return value, quoted
RETURN_SHAPES = "true/false, a number in [0, 1] or {pass, score, message}"
# As in the suite schema: a dotted module, a colon, a function name.
FUNCTION_SHAPE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")

# (folder, "module:function") -> the function, or why it cannot be had (without the scorer's
# name: two assertions may share a function).
_FUNCTIONS: dict[tuple[str, str], Callable[..., Any] | str] = {}


# --- what a scorer sees and what it may answer ----------------------------------------------


def _plain(value: Any) -> JSON:
    """A JSON-ready deep copy: a scorer may mutate what it is given without touching the run."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def scorer_context(
    spec: AssertionSpec, output: Output, case: Case, scoring: Scoring
) -> dict[str, JSON]:
    return {
        "case_id": case.id,
        "sample": scoring.sample,
        "vars": _plain(case.vars),
        "expected": _plain(case.expected),
        "extra": _plain(output.extra),
        "config": _plain(option(spec, "config")),
        "request": scoring.request_text,
    }


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if _is_number(value):
        return f"{value!r}"
    if isinstance(value, str):
        return f"the string {excerpt(value, SHOWN_CHARS)}"
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except ValueError:  # circular
        text = repr(value)
    return f"a {type(value).__name__} {excerpt(text, SHOWN_CHARS)}"


def _bad(who: str, what: str) -> ScorerError:
    return ScorerError("scorer", one_line(f"{who} {what}"))


def _score(value: Any, who: str, where: str) -> float:
    if not _is_number(value) or not math.isfinite(value) or not 0 <= value <= 1:
        raise _bad(who, f"returned {where}{_shown(value)}; a score must be a number in [0, 1]")
    return float(value)


def verdict(
    value: Any, *, threshold: float, who: str, secrets: Sequence[str] = ()
) -> AssertionResult:
    """The result a scorer's answer stands for; ``who`` names the scorer in errors, ``secrets``
    are scrubbed from its message."""
    if isinstance(value, bool):
        return AssertionResult(value, 1.0 if value else 0.0, f"scorer returned {value}".lower())
    if _is_number(value):
        score = _score(value, who, "")
        return AssertionResult(
            score >= threshold, score, f"score {score:.3g} (pass at {threshold:g})"
        )
    if not isinstance(value, Mapping):
        raise _bad(who, f"returned {_shown(value)}, not {RETURN_SHAPES}")
    passed, raw_score, message = value.get("pass"), value.get("score"), value.get("message")
    if passed is None and raw_score is None:
        keys = excerpt(", ".join(str(k) for k in value), SHOWN_CHARS) if value else "no keys"
        raise _bad(
            who, f"returned an object without pass or score (it has {keys}); {RETURN_SHAPES}"
        )
    if passed is not None and not isinstance(passed, bool):
        raise _bad(who, f"returned pass: {_shown(passed)}; pass must be true or false")
    if message is not None and not isinstance(message, str):
        raise _bad(who, f"returned message: {_shown(message)}; message must be a string")
    if raw_score is None:
        assert isinstance(passed, bool)
        score, summary = (1.0 if passed else 0.0), ("passed" if passed else "failed")
    else:
        score = _score(raw_score, who, "score: ")
        if passed is None:
            passed = score >= threshold
            summary = f"score {score:.3g} (pass at {threshold:g})"
        else:
            summary = f"{'passed' if passed else 'failed'}, score {score:.3g}"
    if message:
        summary += f": {excerpt(scrub(message, secrets), MESSAGE_CHARS)}"
    return AssertionResult(passed, score, one_line(summary))


def _threshold(spec: AssertionSpec) -> float:
    value = option(spec, "threshold")
    return float(value) if _is_number(value) else 0.5


def _range_problems(spec: AssertionSpec) -> list[str]:
    problems: list[str] = []
    threshold = spec.options.get("threshold")
    if _is_number(threshold) and threshold > 1:
        problems.append(f"threshold must be <= 1 (scores are in [0, 1]), got {show(threshold)}")
    timeout = spec.options.get("timeout_s")
    if _is_number(timeout) and timeout == 0:
        problems.append("timeout_s must be > 0")
    return problems


def _cleaned(text: str, scoring: Scoring) -> str:
    """Untrusted text for a message: known secrets and key-like strings out, quoted, clipped."""
    return excerpt(scrub(text, secret_env_values(scoring.env)), MESSAGE_CHARS)


# --- python ----------------------------------------------------------------------------------


def _check_python(spec: AssertionSpec) -> list[str]:
    problems = check_shape(spec) + _range_problems(spec)
    if isinstance(spec.value, str) and not FUNCTION_SHAPE.match(spec.value):
        problems.append(
            f"value must look like module:function, e.g. scorers:polite, got {show(spec.value)}"
        )
    return problems


def _import(value: str, directory: Path, path: str | None) -> Callable[..., Any] | str:
    """The function ``value`` names, importable from ``directory``; else why not, with a fix.
    Mirrors how the python target imports: the folder goes first on sys.path, once."""
    if not directory.is_dir():
        return f"path {path!r} is not a folder ({directory}); set path: relative to the suite file"
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    module_name, _, attr = value.partition(":")
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:
        missing = isinstance(exc, ModuleNotFoundError) and module_name.startswith(exc.name or "?")
        hint = (
            f"put {module_name.replace('.', '/')}.py in {directory} or set path: to the folder"
            " that contains it"
            if missing
            else f"the module failed while being imported; run python -c 'import {module_name}'"
            f" in {directory} to see why"
        )
        return (
            f"cannot import {module_name} ({type(exc).__name__}: "
            f"{excerpt(str(exc), MESSAGE_CHARS)}; {hint})"
        )
    fn = getattr(module, attr, None)
    if fn is None:
        return f"{module_name} has no function {attr} (check the name after the colon)"
    if not callable(fn):
        return f"{value} is a {type(fn).__name__}, not a function"
    return fn  # type: ignore[no-any-return]


def scorer_function(spec: AssertionSpec, base_dir: Path, who: str) -> Callable[..., Any]:
    """The function of a ``python`` spec, imported once per (folder, function)."""
    value = str(spec.value)
    path = option(spec, "path")
    path = path if isinstance(path, str) else None
    directory = (base_dir / path).resolve() if path is not None else base_dir.resolve()
    key = (str(directory), value)
    if key not in _FUNCTIONS:
        if not FUNCTION_SHAPE.match(value):
            _FUNCTIONS[key] = f"{value!r} is not module:function, e.g. scorers:polite"
        else:
            _FUNCTIONS[key] = _import(value, directory, path)
    found = _FUNCTIONS[key]
    if isinstance(found, str):
        raise ScorerError("config", one_line(f"{who}: {found}"))
    return found


async def _call(fn: Callable[..., Any], text: str, context: dict[str, JSON]) -> Any:
    if inspect.iscoroutinefunction(fn):
        return await fn(text, context)
    # A worker thread: a slow sync scorer must not stall the run's other calls.
    value = await asyncio.to_thread(fn, text, context)
    if inspect.isawaitable(value):
        value = await value
    return value


@register_async("python", layer=DEFAULT_LAYERS["python"], check=_check_python)
async def python_scorer(
    spec: AssertionSpec, output: Output, case: Case, scoring: Scoring
) -> AssertionResult:
    """Calls ``fn(output, context)``; see the module docstring for what it may return."""
    who = f"python scorer {spec.name!r} ({spec.value})"
    fn = scorer_function(spec, scoring.base_dir, who)
    try:
        value = await _call(fn, output.text, scorer_context(spec, output, case, scoring))
    except (Exception, SystemExit) as exc:
        raise _bad(who, f"raised {type(exc).__name__}: {_cleaned(str(exc), scoring)}") from None
    return verdict(
        value, threshold=_threshold(spec), who=who, secrets=secret_env_values(scoring.env)
    )


# --- command ---------------------------------------------------------------------------------


def argv_of(value: JSON) -> list[str]:
    """The program and its arguments: a string is split like a shell would (without one)."""
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def _check_command(spec: AssertionSpec) -> list[str]:
    problems = check_shape(spec) + _range_problems(spec)
    if isinstance(spec.value, str):
        try:
            argv = shlex.split(spec.value)
        except ValueError as exc:
            problems.append(
                f"value is not a valid command line ({exc}); check its quotes or write a list"
            )
        else:
            if not argv:
                problems.append("value must name a program, e.g. python3 scorers/polite.py")
    return problems


def _where_to_run(spec: AssertionSpec, scoring: Scoring, argv: list[str], who: str) -> Path:
    cwd_option = option(spec, "cwd")
    cwd = (
        (scoring.base_dir / cwd_option).resolve()
        if isinstance(cwd_option, str)
        else scoring.base_dir.resolve()
    )
    if not cwd.is_dir():
        raise ScorerError(
            "config",
            f"{who}: cwd {cwd_option!r} is not a folder ({cwd}); set it relative to the suite file",
        )
    program = argv[0]
    found = (
        (cwd / program).exists()
        if "/" in program or os.sep in program
        else shutil.which(program, path=scoring.env.get("PATH", os.defpath)) is not None
    )
    if not found:
        raise ScorerError(
            "config",
            one_line(f"{who}: program {program!r} not found in {cwd} or on PATH; fix value"),
        )
    return cwd


def _last_line(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr[-20_000:].decode("utf-8", "replace").splitlines()]
    lines = [ln for ln in lines if ln]
    return lines[-1] if lines else ""


@register_async("command", layer=DEFAULT_LAYERS["command"], check=_check_command)
async def command_scorer(
    spec: AssertionSpec, output: Output, case: Case, scoring: Scoring
) -> AssertionResult:
    """Runs the program with the output and context as JSON on stdin and reads its answer as
    JSON on stdout. It runs in its own process group, killed after it answers or times out."""
    try:
        argv = argv_of(spec.value)
    except ValueError as exc:  # the load-time check reports it; this is for specs built in code
        raise ScorerError(
            "config", f"command scorer {spec.name!r}: invalid value ({exc})"
        ) from None
    who = f"command scorer {spec.name!r} ({argv[0] if argv else '?'})"
    if not argv:
        raise ScorerError("config", f"{who}: value must name a program")
    cwd = _where_to_run(spec, scoring, argv, who)
    timeout = option(spec, "timeout_s")
    timeout_s = float(timeout) if _is_number(timeout) and timeout > 0 else 30.0
    payload = {"output": output.text, **scorer_context(spec, output, case, scoring)}
    # ASCII escapes: a lone surrogate in model output must not make the payload unencodable.
    data = json.dumps(payload, default=str).encode("ascii")
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=dict(scoring.env),
            start_new_session=True,
        )
    except OSError as exc:
        raise ScorerError(
            "config", f"{who}: cannot run it: {_cleaned(str(exc), scoring)}"
        ) from None
    try:
        stdout, stderr = await within(proc.communicate(data), timeout_s)
    except asyncio.TimeoutError:
        raise _bad(
            who, f"did not finish within {timeout_s:g} s and was killed (raise timeout_s)"
        ) from None
    finally:
        await kill_group(proc)
    code = proc.returncode
    if code != 0:
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited {code}"
        tail = _last_line(stderr)
        raise _bad(who, f"{how}: {_cleaned(tail, scoring)}" if tail else f"{how} with no stderr")
    text = stdout.decode("utf-8", "replace").strip()
    if not text:
        raise _bad(who, f"printed nothing on stdout; print {RETURN_SHAPES} as JSON")
    try:
        value = json.loads(text)
    except ValueError:
        raise _bad(
            who,
            f"printed invalid JSON on stdout: {_cleaned(text, scoring)} (print only the answer"
            " on stdout; write logs to stderr)",
        ) from None
    return verdict(
        value, threshold=_threshold(spec), who=who, secrets=secret_env_values(scoring.env)
    )
