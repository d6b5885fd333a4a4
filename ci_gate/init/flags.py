"""The answers given as flags: checked here, at the edge, each error naming its flag.

On a terminal the flags pre-fill the questions (what a flag said is not asked); without one
they must say everything the suite needs, and the first missing flag is named.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ci_gate.errors import UsageError
from ci_gate.init.answers import (
    DEFAULT_BODY,
    DEFAULT_KEY_ENV,
    DEFAULT_OUTPUT_PATH,
    DEFAULT_SYSTEM,
    MODEL_KINDS,
    Answers,
    Example,
    InvalidAnswer,
    TargetAnswer,
    check_body,
    check_command,
    check_env_name,
    check_folder,
    check_function,
    check_kind,
    check_links,
    check_model,
    check_output_path,
    check_spec_names,
    check_suite_name,
    check_text,
    check_url,
    parse_behaviour,
    parse_example,
    parse_failure_mode,
    parse_link,
)
from ci_gate.suite.model import Behaviour, FailureMode

T = TypeVar("T")

# The settings flags of each kind; any other kind's flag is a mistake worth saying.
KIND_FLAGS: Mapping[str, tuple[str, ...]] = {
    "openai": ("--model", "--base-url", "--api-key-env", "--system"),
    "anthropic": ("--model", "--base-url", "--api-key-env", "--system"),
    "http": ("--url", "--body", "--output-path"),
    "command": ("--command",),
    "python": ("--function", "--path"),
    "fake": (),
}
_DEST = {
    "--model": "model",
    "--base-url": "base_url",
    "--api-key-env": "api_key_env",
    "--system": "system",
    "--url": "url",
    "--body": "body",
    "--output-path": "output_path",
    "--command": "command_line",
    "--function": "function",
    "--path": "folder",
}
_FLAG = {dest: flag for flag, dest in _DEST.items()}


def flag_for(dest: str) -> str:
    """The command-line flag whose value argparse keeps under ``dest``."""
    return _FLAG.get(dest, "--" + dest.replace("_", "-"))


# The TargetAnswer field each flag sets: its dest, but for --command (whose dest is kept apart
# from the subcommand's name).
_FIELD = {**_DEST, "--command": "command"}
REQUIRED_SETTING: Mapping[str, str] = {
    "openai": "--model",
    "anthropic": "--model",
    "http": "--url",
    "command": "--command",
    "python": "--function",
}


@dataclass(frozen=True)
class FlagAnswers:
    """What the flags said, checked; ``None`` or empty where they said nothing."""

    name: str | None = None
    goal: str | None = None
    kind: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)  # TargetAnswer fields
    examples: tuple[Example, ...] = ()
    behaviours: tuple[Behaviour, ...] = ()
    failure_modes: tuple[FailureMode, ...] = ()
    links: Mapping[int, tuple[str, ...]] = field(default_factory=dict)


# Values that may be a secret pasted in the wrong place: errors do not quote them.
_UNQUOTED = frozenset({"--api-key-env"})


def _flag(flag: str, check: Callable[[str], T], value: str) -> T:
    try:
        return check(value)
    except InvalidAnswer as exc:
        shown = "" if flag in _UNQUOTED else f" {value[:60]!r}"
        raise UsageError(f"init: {flag}{shown}: {exc}") from None


def read_flags(args: argparse.Namespace) -> FlagAnswers:
    kind = _flag("--target", check_kind, args.target) if args.target is not None else None
    settings: dict[str, Any] = {}
    checks: Mapping[str, Callable[[str], Any]] = {
        "--model": check_model,
        "--base-url": lambda v: check_url(v, "the base URL"),
        "--api-key-env": check_env_name,
        "--system": lambda v: check_text(v, "the system prompt"),
        "--url": check_url,
        "--body": check_body,
        "--output-path": check_output_path,
        "--command": check_command,
        "--function": check_function,
        "--path": check_folder,
    }
    for flag, dest in _DEST.items():
        value = getattr(args, dest)
        if value is None:
            continue
        if kind is None:
            raise UsageError(f"init: {flag} needs --target (one of the kinds it applies to)")
        if flag not in KIND_FLAGS[kind]:
            owners = [k for k, flags in KIND_FLAGS.items() if flag in flags]
            raise UsageError(
                f"init: {flag} does not apply to --target {kind} (it is for {' and '.join(owners)})"
            )
        settings[_FIELD[flag]] = _flag(flag, checks[flag], value)
    behaviours = tuple(_flag("--behaviour", parse_behaviour, v) for v in args.behaviour or ())
    failure_modes = tuple(
        _flag("--failure-mode", parse_failure_mode, v) for v in args.failure_mode or ()
    )
    try:
        check_spec_names(behaviours, failure_modes)
    except InvalidAnswer as exc:
        raise UsageError(f"init: --behaviour/--failure-mode: {exc}") from None
    examples = tuple(_flag("--example", parse_example, v) for v in args.example or ())
    links: dict[int, tuple[str, ...]] = {}
    for value in args.link or ():
        number, names = _flag("--link", parse_link, value)
        if not 1 <= number <= len(examples):
            raise UsageError(
                f"init: --link {value[:60]!r}: there is no example {number}"
                f" ({len(examples)} --example given; they count from 1)"
            )
        try:
            linked = check_links(names, behaviours, failure_modes)
        except InvalidAnswer as exc:
            raise UsageError(f"init: --link {value[:60]!r}: {exc}") from None
        links[number] = tuple(dict.fromkeys(links.get(number, ()) + linked))
    return FlagAnswers(
        name=_flag("--name", check_suite_name, args.name) if args.name is not None else None,
        goal=_flag("--goal", lambda v: check_text(v, "the goal"), args.goal)
        if args.goal is not None
        else None,
        kind=kind,
        settings=settings,
        examples=examples,
        behaviours=behaviours,
        failure_modes=failure_modes,
        links=links,
    )


def target_from_flags(kind: str, settings: Mapping[str, Any]) -> TargetAnswer:
    """The target when no question is asked: the flags, and defaults for what they left out."""
    required = REQUIRED_SETTING.get(kind)
    if required and _FIELD[required] not in settings:
        raise UsageError(
            f"init: --target {kind} needs {required} (not a terminal, so nothing is asked)"
        )
    values = dict(settings)
    if kind in MODEL_KINDS:
        values.setdefault("api_key_env", DEFAULT_KEY_ENV[kind])
        values.setdefault("system", DEFAULT_SYSTEM)
    elif kind == "http":
        values.setdefault("body", DEFAULT_BODY)
        values.setdefault("output_path", DEFAULT_OUTPUT_PATH)
    elif kind == "python":
        values.setdefault("folder", ".")
    return TargetAnswer(kind=kind, **values)


def with_links(
    examples: Sequence[Example], links: Mapping[int, Sequence[str]]
) -> tuple[Example, ...]:
    return tuple(
        Example(e.text, e.must_contain, tuple(links.get(i, ()))) for i, e in enumerate(examples, 1)
    )


def answers_from_flags(flags: FlagAnswers, default_name: str) -> Answers:
    """Everything from the flags alone; the first missing flag is a usage error."""
    if flags.kind is None:
        raise UsageError(
            "init: missing --target KIND (not a terminal, so nothing is asked;"
            " --target fake runs offline at once)"
        )
    target = target_from_flags(flags.kind, flags.settings)
    if not flags.examples:
        raise UsageError(
            "init: missing --example TEXT (at least one input your users send;"
            " 'TEXT => PHRASE' to check a phrase in the answer)"
        )
    return Answers(
        name=flags.name or default_name,
        goal=flags.goal,
        target=target,
        examples=with_links(flags.examples, flags.links),
        behaviours=flags.behaviours,
        failure_modes=flags.failure_modes,
    )
