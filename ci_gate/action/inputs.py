"""The Action's inputs, read from ``INPUT_*`` and checked once, here.

The runner passes each input of ``action.yml`` as ``INPUT_<NAME>`` (upper-cased, hyphens kept),
fills in the defaults, and does not enforce ``required``; so every input is checked here, and
the same defaults apply when ``ci-gate action`` runs outside the runner (in tests, or by hand).
A wrong value stops the step with one line naming the input and the values it takes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ci_gate.errors import UsageError
from ci_gate.run.shard import Shard, parse_shard

Mode = Literal["auto", "pr", "refresh", "release", "drift"]
StoreKind = Literal["branch", "file", "artifact"]
MODES: tuple[Mode, ...] = ("auto", "pr", "refresh", "release", "drift")
FAILING_VERDICTS = ("fail", "error", "inconclusive")

# Kept equal to action.yml's defaults by tests/test_action_inputs.py.
DEFAULTS: Mapping[str, str] = {
    "suite": "",
    "github-token": "",
    "baseline-store": "branch",
    "baseline-branch": "ci-gate-baselines",
    "mode": "auto",
    "comment": "true",
    "fail-on": "fail,error",
    "shard": "",
    "fresh": "false",
    "allowed-hosts": "",
    "comment-author": "github-actions[bot]",
    "results-from": "",
    "keep-baselines": "100",
    "output-dir": "ci-gate-out",
}
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_RE = re.compile(rf"^(?:\*\.)?{_LABEL}(?:\.{_LABEL})*(?::\d{{1,5}})?$")
_BRANCH_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
_LOGIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}(\[bot\])?$")


@dataclass(frozen=True)
class StoreSpec:
    kind: StoreKind
    path: str | None = None  # the folder of a ``file:PATH`` store, relative to the workspace
    branch: str = "ci-gate-baselines"


@dataclass(frozen=True)
class ActionInputs:
    suites: tuple[str, ...]
    github_token: str
    store: StoreSpec
    mode: Mode
    comment: bool
    fail_on: frozenset[str]
    shard: Shard | None
    fresh: bool
    allowed_hosts: tuple[str, ...]
    comment_author: str
    results_from: str | None
    keep_baselines: int
    output_dir: str


def _raw(env: Mapping[str, str], name: str) -> str:
    value = env.get(f"INPUT_{name.upper()}")
    if value is None:
        # Some tools hand inputs over with underscores; accept both spellings.
        value = env.get(f"INPUT_{name.upper().replace('-', '_')}")
    if value is None or not value.strip():
        return DEFAULTS[name]
    return value.strip()


def _items(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[\n,]", text) if part.strip()]


def _bool(env: Mapping[str, str], name: str) -> bool:
    value = _raw(env, name).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise UsageError(f"input `{name}`: {value[:40]!r} is not true or false")


def _relative_path(value: str, name: str) -> str:
    """A path inside the workspace: relative, and never climbing out of it with ``..``."""
    parts = value.replace("\\", "/").split("/")
    if value.startswith(("/", "~")) or ".." in parts or "\0" in value:
        raise UsageError(
            f"input `{name}`: {value[:120]!r} must be a path inside the repository, "
            "relative to its root, without '..'"
        )
    return value


def _store(env: Mapping[str, str]) -> StoreSpec:
    value = _raw(env, "baseline-store")
    branch = _raw(env, "baseline-branch")
    if not _BRANCH_RE.match(branch) or ".." in branch or branch.endswith((".lock", "/")):
        raise UsageError(f"input `baseline-branch`: {branch[:120]!r} is not a usable branch name")
    if value in ("branch", "artifact"):
        return StoreSpec(kind=value, branch=branch)  # type: ignore[arg-type]
    if value.startswith("file:") and value[5:].strip():
        return StoreSpec(kind="file", path=_relative_path(value[5:].strip(), "baseline-store"))
    raise UsageError(
        f"input `baseline-store`: {value[:80]!r} is not one of branch, artifact or file:PATH "
        "(e.g. file:.ci-gate/baselines)"
    )


def _hosts(env: Mapping[str, str]) -> tuple[str, ...]:
    hosts = []
    for item in _items(_raw(env, "allowed-hosts")):
        host = item.lower().removeprefix("https://").removeprefix("http://").rstrip("/")
        if not _HOST_RE.match(host):
            raise UsageError(
                f"input `allowed-hosts`: {item[:80]!r} is not a host name "
                "(write e.g. api.openai.com, *.openai.azure.com or localhost:8080)"
            )
        hosts.append(host)
    return tuple(dict.fromkeys(hosts))


def _fail_on(env: Mapping[str, str]) -> frozenset[str]:
    verdicts = _items(_raw(env, "fail-on").lower())
    if verdicts == ["none"]:
        return frozenset()
    for verdict in verdicts:
        if verdict not in FAILING_VERDICTS:
            raise UsageError(
                f"input `fail-on`: {verdict[:40]!r} is not a verdict that can fail the step "
                f"(a comma-separated list of {', '.join(FAILING_VERDICTS)}, or none)"
            )
    return frozenset(verdicts)


def _positive_int(env: Mapping[str, str], name: str) -> int:
    value = _raw(env, name)
    # ASCII digits only, and few: str.isdigit() accepts "²" and int() refuses over 4300 digits.
    if not re.fullmatch(r"[0-9]{1,6}", value) or not 1 <= int(value) <= 100_000:
        raise UsageError(f"input `{name}`: {value[:40]!r} must be a whole number from 1")
    return int(value)


def read_inputs(env: Mapping[str, str]) -> ActionInputs:
    """The checked inputs; ``UsageError`` (exit 2) naming the first wrong one."""
    suites = tuple(_relative_path(s, "suite") for s in _items(_raw(env, "suite")))
    if not suites:
        raise UsageError(
            "input `suite` is required: give the path of the suite file, relative to the "
            "repository root (e.g. `suite: evals/suite.yaml`)"
        )
    if len(set(suites)) != len(suites):
        raise UsageError("input `suite`: the same suite file is listed twice")
    mode = _raw(env, "mode").lower()
    if mode not in MODES:
        raise UsageError(f"input `mode`: {mode[:40]!r} is not one of {', '.join(MODES)}")
    shard_text = _raw(env, "shard")
    author = _raw(env, "comment-author")
    if not _LOGIN_RE.match(author):
        raise UsageError(f"input `comment-author`: {author[:60]!r} is not a GitHub login")
    results_from = _raw(env, "results-from")
    return ActionInputs(
        suites=suites,
        github_token=_raw(env, "github-token"),
        store=_store(env),
        mode=mode,
        comment=_bool(env, "comment"),
        fail_on=_fail_on(env),
        shard=parse_shard(shard_text, "input `shard`") if shard_text else None,
        fresh=_bool(env, "fresh"),
        allowed_hosts=_hosts(env),
        comment_author=author,
        results_from=_relative_path(results_from, "results-from") if results_from else None,
        keep_baselines=_positive_int(env, "keep-baselines"),
        output_dir=_relative_path(_raw(env, "output-dir"), "output-dir"),
    )
