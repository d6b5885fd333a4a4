"""The one place git is run for baselines, and where its failures become one-line ``GateError``s.

Messages quote at most one line of git's stderr, with any credentials in URLs masked: a remote
like ``https://x-access-token:TOKEN@github.com/...`` must never reach a log or a PR comment.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from ci_gate.baseline.store import BaselineError

GIT_TIMEOUT_S = 120.0
_URL_CREDENTIALS = re.compile(r"(?i)([a-z][a-z0-9+.-]*://)[^/@\s]+@")
_TOKEN_SHAPES = re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{8,}|github_pat_[A-Za-z0-9_]{8,})")


class GitError(BaselineError):
    """A git command failed."""


class GitUnavailableError(GitError):
    pass


class NotARepositoryError(GitError):
    pass


class RemoteRefMissingError(GitError):
    """The remote has no such branch (yet)."""


class PushRejectedError(GitError):
    """Someone else moved the branch first (non-fast-forward) or held its lock."""


class UnknownRevisionError(GitError):
    pass


def scrub(text: str) -> str:
    return _TOKEN_SHAPES.sub("***", _URL_CREDENTIALS.sub(r"\1***@", text))


def _reason(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for prefix in ("fatal:", "error:"):
        for line in lines:
            if line.lower().startswith(prefix):
                return scrub(line[len(prefix) :].strip())[:300]
    return scrub(lines[-1])[:300] if lines else "no message"


def _subcommand(args: Sequence[str]) -> str:
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-c", "-C"):
            skip = True
        elif not arg.startswith("-"):
            return arg
    return ""


def _classify(args: Sequence[str], cwd: Path, stderr: str) -> GitError:
    command = _subcommand(args)
    low = stderr.lower()
    reason = _reason(stderr)
    where = f"git {command} in {cwd}"
    if "not a git repository" in low:
        return NotARepositoryError(
            f"{cwd}: not a git repository (run ci-gate in a checkout, e.g. after actions/checkout)"
        )
    if "couldn't find remote ref" in low:
        return RemoteRefMissingError(f"{where}: {reason}")
    if "[rejected]" in low or "[remote rejected]" in low or "failed to lock" in low:
        return PushRejectedError(f"{where}: push rejected: {reason} (another job pushed first)")
    if (
        "unknown revision" in low
        or "bad revision" in low
        or "not a valid object name" in low
        or "not a valid commit name" in low
        or "bad object" in low
    ):
        return UnknownRevisionError(f"{where}: {reason}")
    return GitError(f"{where} failed: {reason}")


_SAFE_DIRECTORIES: list[str] = []


def trust_directory(path: str | os.PathLike[str]) -> None:
    """Let git work in ``path`` although another user owns it.

    The runner mounts the workspace into the Action's container owned by the runner's user, and
    git refuses a repository owned by someone else ("dubious ownership"). The setting goes on
    the command line of ci-gate's own git processes only, never into a config file.
    """
    text = str(Path(path).resolve())
    if text not in _SAFE_DIRECTORIES:
        _SAFE_DIRECTORIES.append(text)


def _config_env() -> dict[str, str]:
    if not _SAFE_DIRECTORIES:
        return {}
    try:
        start = int(os.environ.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        start = 0
    env = {"GIT_CONFIG_COUNT": str(start + len(_SAFE_DIRECTORIES))}
    for offset, directory in enumerate(_SAFE_DIRECTORIES):
        env[f"GIT_CONFIG_KEY_{start + offset}"] = "safe.directory"
        env[f"GIT_CONFIG_VALUE_{start + offset}"] = directory
    return env


def run_git(
    args: Sequence[str],
    cwd: str | os.PathLike[str],
    *,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = GIT_TIMEOUT_S,
) -> bytes:
    """``git ARGS`` in ``cwd``; its stdout. Never prompts for credentials."""
    where = Path(cwd)
    full_env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
        **_config_env(),
        **(env or {}),
    }
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=where,
            input=stdin,
            capture_output=True,
            env=full_env,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise GitUnavailableError(
            "git is not installed or not on PATH (baselines at the merge-base need git)"
        ) from None
    except subprocess.TimeoutExpired:
        raise GitError(
            f"git {_subcommand(args)} in {where} took longer than {timeout:.0f}s"
        ) from None
    except OSError as exc:
        raise GitError(f"cannot run git in {where}: {exc.strerror}") from None
    if proc.returncode != 0:
        raise _classify(args, where, proc.stderr.decode("utf-8", "replace"))
    return proc.stdout


def git_text(
    args: Sequence[str], cwd: str | os.PathLike[str], *, env: Mapping[str, str] | None = None
) -> str:
    return run_git(args, cwd, env=env).decode("utf-8", "replace").strip()


def is_commit(rev: str, cwd: str | os.PathLike[str]) -> bool:
    """Whether ``rev`` names a commit present in the repository at ``cwd``."""
    try:
        git_text(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd)
    except GitError:
        return False
    return True
