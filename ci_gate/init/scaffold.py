"""The text of the suite file ``ci-gate init`` writes, from the answers.

Written by hand rather than dumped, so that the file teaches: each section says in a comment
what it is for, and where the user gave no behaviours or failure modes the spec shows, commented
out, what they look like.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from ci_gate.init.answers import (
    DEFAULT_BASE_URL,
    DEFAULT_KEY_ENV,
    MODEL_KINDS,
    Answers,
    Example,
    TargetAnswer,
    named_in,
    slug,
)
from ci_gate.init.yaml_text import flow, names, quoted, scalar
from ci_gate.suite.model import Behaviour, FailureMode

VAR = "input"  # the one var every scaffolded case has: what the user sends
PROMPT_ID = "main"
MAX_ID = 48


@dataclass(frozen=True)
class Layout:
    """Where things are, as paths relative to the suite file's folder (POSIX separators)."""

    suite: str  # the suite file, relative to the repository root, as commands name it
    to_root: str  # from the suite's folder to the repository root, e.g. ".."
    schema: str  # from the suite's folder to the schema file


def case_ids(examples: Sequence[Example]) -> list[str]:
    """A readable, unique id for each example, made of its first words."""
    ids: list[str] = []
    for number, example in enumerate(examples, 1):
        base = slug(example.text, f"example-{number}")
        if len(base) > MAX_ID:
            cut = base[:MAX_ID]
            base = cut[: cut.rfind("-")] if "-" in cut else cut
        candidate, n = base, 2
        while candidate in ids:
            candidate, n = f"{base}-{n}", n + 1
        ids.append(candidate)
    return ids


def suite_text(answers: Answers, layout: Layout) -> str:
    ids = case_ids(answers.examples)
    parts = [
        _head(answers, layout),
        _spec(answers),
        _targets(answers.target, answers.examples, ids, layout),
        _prompts(answers.target),
        _DEFAULTS,
        _cases(answers, ids),
        _GATE,
    ]
    return "\n".join(parts)


def _head(answers: Answers, layout: Layout) -> str:
    return (
        f"# yaml-language-server: $schema={layout.schema}\n"
        "# A first ci-gate suite, written by `ci-gate init`; the format is described in\n"
        "# ci-gate's docs/suite.md. Check it with `ci-gate validate "
        f"{layout.suite}`, run it with\n"
        f"# `ci-gate run {layout.suite}`.\n"
        "ci_gate: 1\n"
        f"name: {scalar(answers.name)}\n"
    )


def _spec(answers: Answers) -> str:
    return spec_text(answers.goal, answers.behaviours, answers.failure_modes)


def spec_text(
    goal: str | None, behaviours: Sequence[Behaviour], failure_modes: Sequence[FailureMode]
) -> str:
    """The ``spec:`` section: what was given, and commented examples where nothing was."""
    lines = [
        "# What good looks like, in your words. Cases link to behaviours and failure modes by",
        "# name, and `ci-gate validate` reports what no case tests yet.",
        "spec:",
    ]
    if goal:
        lines.append(f"  goal: {quoted(goal)}")
    else:
        lines += [
            "  # What the product is for, in a sentence or two:",
            "  # goal: Answer customers from the help center, politely and correctly.",
        ]
    lines.append("  optimise_for: quality.pass_rate   # or quality.score, quality.preference")
    if behaviours:
        lines.append("  behaviours:   # what a good answer does")
        for b in behaviours:
            lines += [
                f"    - name: {scalar(b.name)}",
                f"      description: {quoted(b.description)}",
            ]
    else:
        lines += [
            "  # What a good answer does, each named and said in one sentence, for example:",
            "  # behaviours:",
            "  #   - name: cites-the-article",
            "  #     description: Every answer names the help-center article it used.",
        ]
    if failure_modes:
        lines.append("  failure_modes:   # what you fear it will do")
        for f in failure_modes:
            lines += [
                f"    - name: {scalar(f.name)}",
                f"      description: {quoted(f.description)}",
                f"      severity: {f.severity}",
            ]
    else:
        lines += [
            "  # What you fear it will do, with a severity (low, medium, high, critical):",
            "  # failure_modes:",
            "  #   - name: invents-refund-policy",
            "  #     description: States a refund rule that is not in the help center.",
            "  #     severity: high",
        ]
    lines += [
        "  # Trade-offs you accept, as gate rules; for example, up to 20% more cost per case",
        "  # when 3 points more cases pass:",
        "  # tradeoffs:",
        "  #   - {name: pay-for-quality, allow: cost.per_case, up_to: 20%, gains: 3pt}",
    ]
    return "\n".join(lines) + "\n"


def _targets(
    target: TargetAnswer, examples: Sequence[Example], ids: Sequence[str], layout: Layout
) -> str:
    lines = ["# What is evaluated (docs/suite.md, Targets).", "targets:"]
    kind = target.kind
    if kind == "fake":
        lines += [
            "  - id: demo",
            "    provider: fake",
            "    # Canned answers, so that the suite runs at once and offline. Replace this target",
            "    # with your product: provider openai, anthropic, http, command or python.",
            "    outputs:",
        ]
        for case_id, example in zip(ids, examples, strict=True):
            lines.append(f"      {scalar(case_id)}: {quoted(_demo_answer(example))}")
        lines.append("    default_output: echo   # cases without an output get their prompt back")
    elif kind in MODEL_KINDS:
        lines += [
            "  - id: app",
            f"    provider: {kind}",
            f"    model: {scalar(target.model or '')}",
        ]
        if target.base_url and target.base_url != DEFAULT_BASE_URL[kind]:
            lines.append(f"    base_url: {quoted(target.base_url)}")
        key_env = target.api_key_env or DEFAULT_KEY_ENV[kind]
        lines += [
            f"    api_key_env: {key_env}   # the NAME of the variable that holds the key",
            "    params: {temperature: 0}   # as steady as the model allows, for comparable runs",
        ]
    elif kind == "http":
        lines += [
            "  - id: app",
            "    provider: http",
            f"    url: {quoted(target.url or '')}",
            "    # The JSON posted: {{ vars.input }} is the case's input; see docs/suite.md for",
            "    # {{ messages }}, {{ prompt }} and {{ env.NAME }} (a token from the environment).",
            f"    body: {flow(target.body or {})}",
            f"    output_path: {quoted(target.output_path or '')}   # the answer, in the reply",
        ]
    elif kind == "command":
        lines += [
            "  - id: app",
            "    provider: command",
            "    # Gets the request as JSON on stdin ({vars: {input: ...}, messages: [...]}) and",
            "    # prints the answer on stdout.",
            f"    command: {flow(list(target.command))}",
            f"    cwd: {quoted(_from_suite(layout, '.'))}   # the repository root",
        ]
    else:
        lines += [
            "  - id: app",
            "    provider: python",
            "    # Called with the request, a dict ({'vars': {'input': ...}, 'messages': [...]});",
            "    # returns the answer text.",
            f"    function: {quoted(target.function or '')}",
            f"    path: {quoted(_from_suite(layout, target.folder or '.'))}",
        ]
    return "\n".join(lines) + "\n"


def _demo_answer(example: Example) -> str:
    if example.must_contain:
        return f"(demo answer) {example.must_contain}"
    return f"(demo answer to: {example.text})"


def _from_suite(layout: Layout, folder: str) -> str:
    """``folder`` (relative to the repository root) as the suite file's keys take it."""
    return posixpath.normpath(posixpath.join(layout.to_root, folder.replace("\\", "/")))


def _prompts(target: TargetAnswer) -> str:
    lines = ["prompts:", f"  - id: {PROMPT_ID}"]
    if target.system:
        lines.append(f"    system: {quoted(target.system)}")
    lines.append(f'    template: "{{{{ {VAR} }}}}"')
    return "\n".join(lines) + "\n"


_DEFAULTS = """\
defaults:
  prompt: main
  assert:   # checked on every case, before its own
    - {type: length, name: not-too-long, max: 2000, blocking: false}   # warns, never fails
"""


def _cases(answers: Answers, ids: Sequence[str]) -> str:
    lines = [
        "# The inputs your users send, and what a good answer must do. Add cases until the suite",
        "# covers what matters: 30 or more let the gate tell a real drop from chance.",
        "cases:",
    ]
    for case_id, example in zip(ids, answers.examples, strict=True):
        lines += [f"  - id: {scalar(case_id)}", f"    vars: {{{VAR}: {quoted(example.text)}}}"]
        linked_b = named_in(example.links, answers.behaviours)
        linked_f = named_in(example.links, answers.failure_modes)
        if linked_b:
            lines.append(f"    behaviours: {names(linked_b)}")
        if linked_f:
            lines.append(f"    failure_modes: {names(linked_f)}")
        lines.append("    assert:")
        if example.must_contain:
            lines.append(f"      - {{type: contains, value: {quoted(example.must_contain)}}}")
        else:
            lines.append(
                "      - {type: length, name: answers, min: 1}   # it answers; say what it must say"
            )
    return "\n".join(lines) + "\n"


_GATE = """\
# When a pull request fails (docs/suite.md, Gate).
gate:
  # With fewer cases than this compared, a drop is reported as inconclusive, never as a failure.
  min_cases: 30
  quality:
    pass_rate: {max_drop: 2pt, blocking: true}   # fails on a drop of over 2 points, if not chance
  latency:
    p95: {max_increase: 25%, blocking: false}    # warns; blocking: true makes it fail
  cost:
    per_case: {max_increase: 20%, blocking: false}
  errors: {max_rate: 10%}   # provider errors are counted here, never as regressions
"""
