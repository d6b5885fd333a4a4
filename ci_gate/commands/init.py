"""``ci-gate init [DIR]``: write a first suite, its spec, the workflows and a .gitignore line.

The answers come from questions on a terminal, from flags, or from a promptfoo config. Every
file is checked for conflicts before the first is written; once written, the suite is loaded
with ``ci-gate validate``'s own code, and a suite that init wrote but that does not validate is
a bug in ci-gate (exit 3), reported after the list of what was written.
"""

from __future__ import annotations

import argparse
import os
import posixpath
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath

from ci_gate.errors import GateError, InternalError, UsageError
from ci_gate.init.answers import Answers, InvalidAnswer, check_suite_name, slug
from ci_gate.init.flags import FlagAnswers, answers_from_flags, flag_for, read_flags
from ci_gate.init.scaffold import Layout, spec_text, suite_text
from ci_gate.init.workflows import (
    BASELINE_WORKFLOW,
    PR_WORKFLOW,
    KeyUse,
    baseline_workflow,
    key_uses,
    pr_workflow,
)
from ci_gate.init.write import NewFile, Written, plan_conflicts, write_all
from ci_gate.report.sanitize import log_line

SCHEMA_FILE = ".ci-gate/suite.schema.json"
EXIT_INTERRUPTED = 130
_BRANCH_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-")
# Flags that say what the questions would ask: with --from-promptfoo the config says it.
_ANSWER_FLAGS = (
    "name", "goal", "target", "model", "base_url", "api_key_env", "system", "url", "body",
    "output_path", "command_line", "function", "folder", "example", "behaviour",
    "failure_mode", "link",
)  # fmt: skip


class InitValidationError(InternalError):
    """The suite init wrote does not load: a bug in init (or in the promptfoo converter)."""

    def __init__(self, suite: str, error: GateError) -> None:
        self.suite = suite
        self.error = error
        super().__init__(f"init: {suite} was written but does not validate")

    def lines(self) -> list[str]:
        return [
            f"init: {self.suite} was written but does not validate; this is a bug in ci-gate,"
            " please report it with the lines below",
            *self.error.lines(),
        ]


@dataclass(frozen=True)
class _Suite:
    """The suite's files by repository path, the keys it reads, and what to tell about it."""

    files: Mapping[str, str]
    keys: tuple[KeyUse, ...]
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def cmd_init(args: argparse.Namespace) -> int:
    root = _root(args.dir)
    suite = _suite_path(args.suite)
    branch = _branch(args.branch)
    layout = _layout(suite)
    schema = resources.files("ci_gate.suite").joinpath("schema.json").read_text("utf-8")
    if args.from_promptfoo is not None:
        _no_answer_flags(args)
        made = _from_promptfoo(Path(args.from_promptfoo), root, layout)
    else:
        flags = read_flags(args)
        interactive = not args.yes and sys.stdin.isatty() and sys.stdout.isatty()
        if interactive:
            # Refuse before asking anything: answering ten questions to be told that a file
            # exists is no fun. (Without questions, the check below lets an identical file be.)
            workflows = [] if args.no_workflows else [PR_WORKFLOW, BASELINE_WORKFLOW]
            unknown: dict[str, str | None] = dict.fromkeys((suite, *workflows))
            plan_conflicts(root, {**unknown, SCHEMA_FILE: schema}, args.force)
        answers = _answers(flags, root, interactive)
        if answers is None:
            return EXIT_INTERRUPTED
        made = _from_answers(answers, root, layout)
    files = [NewFile(p, t) for p, t in made.files.items()] + [NewFile(SCHEMA_FILE, schema)]
    if not args.no_workflows:
        files += [
            NewFile(PR_WORKFLOW, pr_workflow(suite, made.keys)),
            NewFile(BASELINE_WORKFLOW, baseline_workflow(suite, made.keys, branch)),
        ]
    plan_conflicts(root, {f.path: f.text for f in files}, args.force)
    written = write_all(root, files, gitignore=True)
    _print_written(root, written)
    suite_shown = _shown(root / suite)
    try:
        from ci_gate.commands.validate import summary_lines

        summary = summary_lines(suite_shown)
    except GateError as exc:
        raise InitValidationError(suite_shown, exc) from None
    for line in [*summary, *made.notes, *(f"warning: {w}" for w in made.warnings)]:
        print(line)
    _print_next_steps(root, suite, made.keys, written, branch)
    return 0


# --- where -------------------------------------------------------------------------------------


def _root(value: str) -> Path:
    root = Path(value)
    if root.exists() and not root.is_dir():
        raise UsageError(f"init: {value} is a file; give the repository's folder (default .)")
    return root.resolve()


def _suite_path(value: str) -> str:
    """``--suite`` as a clean POSIX path inside the repository."""
    path = PurePosixPath(value.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise UsageError(
            f"init: --suite {value!r}: give a path inside the repository, relative to DIR"
            " (e.g. evals/suite.yaml)"
        )
    if path.suffix not in (".yaml", ".yml"):
        raise UsageError(f"init: --suite {value!r}: a suite file ends in .yaml or .yml")
    return posixpath.normpath(str(path))


def _branch(value: str) -> str:
    if not value or value.startswith(("-", "/")) or ".." in value or set(value) - _BRANCH_CHARS:
        raise UsageError(f"init: --branch {value!r} is not a branch name (e.g. main)")
    return value


def _layout(suite: str) -> Layout:
    folder = posixpath.dirname(suite) or "."
    return Layout(
        suite=suite,
        to_root=posixpath.relpath(".", folder),
        schema=posixpath.relpath(SCHEMA_FILE, folder),
    )


def _shown(path: Path) -> str:
    """``path`` as the user would type it from here."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        return str(path)
    return str(path) if relative.startswith("..") else relative


# --- the answers -------------------------------------------------------------------------------


def _default_name(root: Path) -> str:
    try:
        return check_suite_name(root.name)
    except InvalidAnswer:
        return slug(root.name, "evals")


def _answers(flags: FlagAnswers, root: Path, interactive: bool) -> Answers | None:
    """The answers, or None when the person stopped with Ctrl-C."""
    if not interactive:
        return answers_from_flags(flags, _default_name(root))
    from ci_gate.init.questions import Terminal, ask_answers

    try:
        return ask_answers(Terminal(), flags, _default_name(root))
    except EOFError:
        print(file=sys.stderr)
        raise UsageError(
            "init: the input ended (Ctrl-D) before every question was answered; nothing was written"
        ) from None
    except KeyboardInterrupt:
        print("\ninit: interrupted; nothing was written", file=sys.stderr)
        return None


def _from_answers(answers: Answers, root: Path, layout: Layout) -> _Suite:
    target = answers.target
    raw = {"provider": target.kind, "base_url": target.base_url, "api_key_env": target.api_key_env}
    warnings: list[str] = []
    # Valid, but the first run would fail: worth saying now.
    if target.kind == "python" and not (root / (target.folder or ".")).is_dir():
        warnings.append(
            f"the folder {target.folder} does not exist yet; {target.function} is imported from it"
        )
    return _Suite({layout.suite: suite_text(answers, layout)}, key_uses([raw]), (), tuple(warnings))


def _no_answer_flags(args: argparse.Namespace) -> None:
    given = [n for n in _ANSWER_FLAGS if getattr(args, n) is not None]
    if given:
        raise UsageError(
            f"init: {flag_for(given[0])} cannot be combined with --from-promptfoo"
            " (the promptfoo config says what the suite holds)"
        )


def _from_promptfoo(config: Path, root: Path, layout: Layout) -> _Suite:
    from ci_gate.migrate.promptfoo import convert_promptfoo

    if not config.is_file():
        raise UsageError(f"init: --from-promptfoo {str(config)!r}: no such file")
    folder = posixpath.dirname(layout.suite)
    # Paths the suite keeps (a python scorer's folder) are made relative to where it goes.
    conversion = convert_promptfoo(config, suite_dir=root / folder)
    files: dict[str, str] = {}
    for name, text in conversion.files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts:
            raise InternalError(
                f"init: the promptfoo conversion names a file outside the suite: {name!r}"
            )
        if name == "suite.yaml":
            if "yaml-language-server:" not in text.split("\n", 1)[0]:
                text = f"# yaml-language-server: $schema={layout.schema}\n{text}"
            if not re.search(r"^spec:", text, re.MULTILINE):
                # promptfoo has no spec: start one, for the team to fill in.
                text = f"{text.rstrip()}\n\n{spec_text(None, (), ())}"
            files[layout.suite] = text
        else:
            files[posixpath.join(folder, name)] = text
    if layout.suite not in files:
        raise InternalError("init: the promptfoo conversion has no suite.yaml")
    notes = [
        f"converted from {log_line(str(config))}:"
        f" {len(conversion.unconverted)} item(s) not converted"
    ]
    notes += ["  " + log_line(f"{u.where}: {u.what}: {u.why}") for u in conversion.unconverted]
    notes += ["note: " + log_line(n) for n in conversion.notes]
    return _Suite(files, key_uses(conversion.targets), tuple(notes))


# --- what to say -------------------------------------------------------------------------------


def _print_written(root: Path, written: Sequence[Written]) -> None:
    for item in written:
        where = _shown(root / item.path)
        if item.how == "kept":
            print(f"kept {where} (it already ignores .ci-gate/cache/)")
        elif item.how == "could not read":
            print(f"left {where} alone (not readable as UTF-8): add .ci-gate/cache/ to it yourself")
        elif item.how == "appended to":
            print(f"added .ci-gate/cache/ to {where}")
        else:
            print(f"{item.how} {where}")


def _print_next_steps(
    root: Path, suite: str, keys: Sequence[KeyUse], written: Sequence[Written], branch: str
) -> None:
    here = _shown(root)
    steps: list[str] = []
    if here != ".":
        steps.append(f"cd {here}")
    steps += [f"export {k.env}=...   (the key; ci-gate reads it from this variable)" for k in keys]
    steps.append(f"ci-gate run {suite}   (runs every case and writes ci-gate-results.json)")
    changed = [w.path for w in written if w.how in ("wrote", "overwrote", "appended to")]
    tops = list(dict.fromkeys(p.split("/", 1)[0] for p in changed))
    if tops:
        steps.append(f'git add {" ".join(tops)} && git commit -m "Add a ci-gate eval suite"')
    workflows = any(w.path == PR_WORKFLOW for w in written)
    if workflows:
        steps += [
            f"add the repository secret {k.env} (Settings > Secrets and variables > Actions)"
            for k in keys
        ]
        steps.append(
            f"push to {branch} (its workflow stores the first baseline), then open a pull request:"
            " ci-gate runs the suite on it and comments"
        )
    else:
        steps.append("to gate pull requests, add the workflows of docs/action.md")
    print()
    print("Next:")
    for number, step in enumerate(steps, 1):
        print(f"  {number}. {step}")
