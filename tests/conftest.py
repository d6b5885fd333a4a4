"""Protections every test gets: no real credentials or CI context leak in, and a private cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_SECRET_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GITHUB_TOKEN", "GH_TOKEN")
_CI_PREFIXES = ("GITHUB_", "INPUT_")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name in _SECRET_VARS or name.startswith(_CI_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CI_GATE_CACHE_DIR", str(tmp_path / "ci-gate-cache"))
