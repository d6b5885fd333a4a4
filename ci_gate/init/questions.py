"""The questions ``ci-gate init`` asks on a terminal, in order, each asked again until valid.

What a flag already said is not asked. Defaults are shown in [brackets] and taken on an empty
answer. Ctrl-D raises ``EOFError`` and Ctrl-C ``KeyboardInterrupt`` out of here, before
anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from ci_gate.init.answers import (
    DEFAULT_BASE_URL,
    DEFAULT_BODY,
    DEFAULT_KEY_ENV,
    DEFAULT_MODEL,
    DEFAULT_OUTPUT_PATH,
    DEFAULT_SEVERITY,
    DEFAULT_SYSTEM,
    KIND_HELP,
    MIN_EXAMPLES_ASKED,
    MODEL_KINDS,
    TARGET_KINDS,
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
    check_model,
    check_output_path,
    check_severity,
    check_spec_name,
    check_suite_name,
    check_text,
    check_url,
    split_names,
)
from ci_gate.init.flags import FlagAnswers, with_links
from ci_gate.init.yaml_text import flow
from ci_gate.suite.model import Behaviour, FailureMode

T = TypeVar("T")


class Console(Protocol):
    def ask(self, prompt: str) -> str:
        """One line typed after ``prompt``; ``EOFError`` at the end of input."""
        ...

    def say(self, text: str = "") -> None: ...


class Terminal:
    """The process's own terminal; ``input`` echoes and edits the line as the terminal does."""

    def ask(self, prompt: str) -> str:
        return input(prompt)

    def say(self, text: str = "") -> None:
        print(text, flush=True)


def ask(
    console: Console, question: str, check: Callable[[str], T], default: str | None = None
) -> T:
    while True:
        shown = f"{question} [{default}]: " if default else f"{question}: "
        raw = console.ask(shown)
        if not raw.strip() and default:
            raw = default
        try:
            return check(raw)
        except InvalidAnswer as exc:
            console.say(f"  {exc}")
            if exc.suggestion:
                default = exc.suggestion


def ask_optional(console: Console, question: str, check: Callable[[str], T]) -> T | None:
    """Like ``ask``, but an empty answer is ``None`` (the end of a list, or a skipped answer),
    unless a suggestion was just offered: then it takes the suggestion."""
    suggestion: str | None = None
    while True:
        raw = console.ask(f"{question} [{suggestion}]: " if suggestion else f"{question}: ")
        if not raw.strip():
            if not suggestion:
                return None
            raw = suggestion
        try:
            return check(raw)
        except InvalidAnswer as exc:
            console.say(f"  {exc}")
            suggestion = exc.suggestion


def ask_answers(console: Console, flags: FlagAnswers, default_name: str) -> Answers:
    console.say(
        "ci-gate init: a few questions, then a suite, its spec and the workflows are written."
    )
    console.say("Press Enter to take the [default]; Ctrl-C stops without writing anything.")
    console.say()
    name = flags.name or ask(console, "Suite name", check_suite_name, default_name)
    target = _target(console, flags)
    goal = flags.goal or ask_optional(
        console,
        "What is it for, in one sentence? (empty: skip)",
        lambda v: check_text(v, "the goal"),
    )
    examples = flags.examples or _examples(console)
    taken: set[str] = set()
    behaviours = flags.behaviours or _behaviours(console, taken)
    taken |= {b.name for b in behaviours}
    failure_modes = flags.failure_modes or _failure_modes(console, taken)
    if flags.links or not (behaviours or failure_modes):
        linked = with_links(examples, flags.links)
    else:
        linked = _links(console, examples, behaviours, failure_modes)
    return Answers(name, goal, target, linked, tuple(behaviours), tuple(failure_modes))


def _target(console: Console, flags: FlagAnswers) -> TargetAnswer:
    kind = flags.kind
    if kind is None:
        console.say()
        console.say("What answers the questions?")
        for number, option in enumerate(TARGET_KINDS, 1):
            console.say(f"  {number}. {option:<10} {KIND_HELP[option]}")
        kind = ask(console, "Target (number or name)", check_kind, "fake")
    given: dict[str, Any] = dict(flags.settings)

    def setting(key: str, question: str, check: Callable[[str], Any], default: str | None) -> None:
        if key not in given:
            given[key] = ask(console, question, check, default)

    if kind in MODEL_KINDS:
        setting("model", "Model", check_model, DEFAULT_MODEL[kind])
        setting(
            "base_url", "Endpoint", lambda v: check_url(v, "the endpoint"), DEFAULT_BASE_URL[kind]
        )
        setting(
            "api_key_env", "Variable holding the API key", check_env_name, DEFAULT_KEY_ENV[kind]
        )
        setting(
            "system", "System prompt", lambda v: check_text(v, "the system prompt"), DEFAULT_SYSTEM
        )
    elif kind == "http":
        setting("url", "URL of your service", check_url, None)
        setting("body", "JSON body to post", check_body, flow(DEFAULT_BODY))
        setting(
            "output_path",
            "Where the answer is in the reply",
            check_output_path,
            DEFAULT_OUTPUT_PATH,
        )
    elif kind == "command":
        setting(
            "command",
            "Command, run from the repository root (e.g. python3 bot.py)",
            check_command,
            None,
        )
    elif kind == "python":
        setting("function", "Function, module:function (e.g. app.bot:answer)", check_function, None)
        setting("folder", "Folder to import it from, relative to the repository", check_folder, ".")
    return TargetAnswer(kind=kind, **given)


def _examples(console: Console) -> tuple[Example, ...]:
    console.say()
    console.say(
        f"Example inputs: what your users send. At least {MIN_EXAMPLES_ASKED}; an empty line ends."
    )
    examples: list[Example] = []
    while True:
        text = ask_optional(
            console, f"Example {len(examples) + 1}", lambda v: check_text(v, "the example")
        )
        if text is None:
            if len(examples) >= MIN_EXAMPLES_ASKED:
                return tuple(examples)
            missing = MIN_EXAMPLES_ASKED - len(examples)
            console.say(
                f"  at least {MIN_EXAMPLES_ASKED} examples make a first suite: {missing} more"
            )
            continue
        phrase = ask_optional(
            console,
            "  A phrase a good answer must contain (empty: just check that it answers)",
            lambda v: check_text(v, "the phrase"),
        )
        examples.append(Example(text, phrase))


def _new_name(taken: set[str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        name = check_spec_name(value)
        if name in taken:
            raise InvalidAnswer(f"{name!r} is already given; each name once")
        return name

    return check


def _behaviours(console: Console, taken: set[str]) -> tuple[Behaviour, ...]:
    console.say()
    console.say("Behaviours: what a good answer does (e.g. cites-the-article). An empty name ends.")
    found: list[Behaviour] = []
    while True:
        name = ask_optional(console, "Behaviour name", _new_name(taken))
        if name is None:
            return tuple(found)
        description = ask(console, "  In one sentence", lambda v: check_text(v, "the sentence"))
        taken.add(name)
        found.append(Behaviour(name, description))


def _failure_modes(console: Console, taken: set[str]) -> tuple[FailureMode, ...]:
    console.say()
    console.say(
        "Failure modes: what you fear it will do (e.g. invents-refund-policy). An empty name ends."
    )
    found: list[FailureMode] = []
    while True:
        name = ask_optional(console, "Failure mode name", _new_name(taken))
        if name is None:
            return tuple(found)
        severity = ask(
            console, "  Severity (low, medium, high, critical)", check_severity, DEFAULT_SEVERITY
        )
        description = ask(console, "  In one sentence", lambda v: check_text(v, "the sentence"))
        taken.add(name)
        found.append(FailureMode(name, description, severity))


def _links(
    console: Console,
    examples: Sequence[Example],
    behaviours: Sequence[Behaviour],
    failure_modes: Sequence[FailureMode],
) -> tuple[Example, ...]:
    names = [b.name for b in behaviours] + [f.name for f in failure_modes]
    console.say()
    console.say("Which of these does each example exercise or guard against?")
    for number, name in enumerate(names, 1):
        what = "behaviour" if number <= len(behaviours) else "failure mode"
        console.say(f"  {number}. {name} ({what})")

    def pick(value: str) -> tuple[str, ...]:
        chosen: list[str] = []
        for item in split_names(value):
            if item in names:
                chosen.append(item)
            elif item.isdigit() and 1 <= int(item) <= len(names):
                chosen.append(names[int(item) - 1])
            else:
                raise InvalidAnswer(
                    f"{item!r} is not in the list: give numbers from 1 to {len(names)}"
                )
        return tuple(dict.fromkeys(chosen))

    linked: list[Example] = []
    for number, example in enumerate(examples, 1):
        short = example.text if len(example.text) <= 50 else example.text[:49] + "…"
        links = ask_optional(
            console, f"Example {number} ({short}), numbers e.g. 1,2 (empty: none)", pick
        )
        linked.append(Example(example.text, example.must_contain, links or ()))
    return tuple(linked)
