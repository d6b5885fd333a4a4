"""The README documents every assertion kind with a one-line example; each example must be a
valid assertion, and a kind added to ci-gate without one fails here."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from ci_gate.assertions import registry
from ci_gate.cli import main

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| `([a-z-]+)` \| `(\{.*\})` \| .* \|$")


def _examples() -> dict[str, str]:
    rows = (ROW.match(line) for line in (ROOT / "README.md").read_text("utf-8").splitlines())
    return {m.group(1): m.group(2) for m in rows if m}


def test_every_kind_has_a_one_line_example() -> None:
    assert set(_examples()) == set(registry.names())


def test_every_example_is_a_valid_assertion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "suite"
    shutil.copytree(ROOT / "examples" / "scorers", folder)  # scorers.py and word_budget.py
    examples = _examples()
    cases = []
    for kind, text in examples.items():
        spec = yaml.safe_load(text)
        assert spec["type"] == kind, text
        cases.append(
            {"id": f"readme-{kind}", "vars": {"q": "x"}, "expected": "42", "assert": [spec]}
        )
    suite = {
        "ci_gate": 1,
        "name": "readme",
        "targets": [
            {"id": "app", "provider": "fake", "default_output": "42"},
            {"id": "judge", "provider": "fake", "default_output": {"reason": "ok", "score": 5}},
        ],
        "judge": {"target": "judge"},
        "prompts": [{"id": "p", "template": "{{ q }}"}],
        "defaults": {"prompt": "p"},
        "cases": cases,
    }
    path = folder / "readme.yaml"
    path.write_text(yaml.safe_dump(suite), encoding="utf-8")
    code = main(["validate", str(path)])
    assert code == 0, capsys.readouterr().err
