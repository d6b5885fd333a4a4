"""Opening the file to convert, and telling a promptfoo config from what it is not.

Files often found next to a promptfoo config are refused with a line that says what they are: a
GitHub Actions workflow, a list of assertions (``promptfoo eval --assertions``), a ci-gate suite.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ci_gate.errors import SuiteError
from ci_gate.migrate.promptfoo_source import (
    Doc,
    PromptfooError,
    Source,
    parse_doc,
    parse_json,
    shown,
)
from ci_gate.suite.yaml_source import display_path, read_text

CONFIG_KEYS = frozenset(
    {"prompts", "providers", "targets", "tests", "defaultTest", "scenarios", "redteam"}
)


def open_config(path: Path, suite_dir: Path | None = None) -> Source:
    display = display_path(path)
    if path.suffix.lower() in (".js", ".cjs", ".mjs", ".ts"):
        raise PromptfooError(
            f"{display}: a JavaScript config cannot be read without running it; write it as "
            "promptfooconfig.yaml and convert that"
        )
    try:
        text = read_text(path, display)
    except SuiteError as exc:
        first = exc.problems[0]
        raise PromptfooError(
            f"{display}: {first.message}"
            + (f" ({first.hint})" if first.hint and "cases" not in first.hint else "")
        ) from None
    label = path.name
    if path.suffix.lower() == ".json":
        config = Doc(label, parse_json(text, display))
    else:
        config = parse_doc(text, label, display)
    _check(config.data, display)
    folder = path.resolve().parent
    return Source(folder, config, suite_dir.resolve() if suite_dir is not None else folder)


def _check(data: object, display: str) -> None:
    not_config = f"{display}: not a promptfoo config"
    if data is None:
        raise PromptfooError(f"{display}: the file is empty")
    if isinstance(data, list):
        if data and all(isinstance(item, Mapping) and "type" in item for item in data):
            raise PromptfooError(
                f"{not_config}: it is a list of assertions (promptfoo eval --assertions); put "
                "them under defaultTest: assert: in a config with prompts, providers and tests"
            )
        raise PromptfooError(f"{not_config}: the top level is a list")
    if not isinstance(data, Mapping):
        raise PromptfooError(f"{not_config}: the top level is not a mapping")
    if "ci_gate" in data:
        raise PromptfooError(
            f"{display}: this is already a ci-gate suite; check it with ci-gate validate"
        )
    if "jobs" in data and ("on" in data or "name" in data):
        raise PromptfooError(
            f"{not_config}: it is a GitHub Actions workflow; convert the promptfoo config it "
            "runs (promptfooconfig.yaml) and see docs/action.md for ci-gate's workflow"
        )
    if not CONFIG_KEYS & set(data):
        raise PromptfooError(
            f"{not_config}: it has none of prompts, providers and tests (keys: "
            f"{', '.join(shown(str(k), 30) for k in list(data)[:6])})"
        )
