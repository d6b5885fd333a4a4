"""Suites with judged assertions, for the judge, calibration and pairwise tests.

The target is the fake provider with one canned output per case; the judge is an ``openai``
target served by a real local ``ModelServer`` whose ``answers`` script the judge's replies by a
substring of the judged text, or a ``fake`` target scripted the same way through ``rules``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ci_gate.results.model import Results
from ci_gate.run.runner import RunOptions, run_suite
from ci_gate.suite.load import load_suite

ENV = {"JUDGE_KEY": "sk-judge-test-0000"}


def verdict(score: int, reason: str = "ok") -> str:
    return json.dumps({"reason": reason, "score": score})


def write_suite(
    tmp_path: Path,
    outputs: Mapping[str, str],
    *,
    judge_url: str | None = None,
    assertions: Sequence[Mapping[str, Any]] = ({"type": "llm-rubric", "value": "Is polite"},),
    judge: Mapping[str, Any] | None = None,
    extra_targets: Sequence[Mapping[str, Any]] = (),
    cases_extra: Mapping[str, Mapping[str, Any]] | None = None,
    top: Mapping[str, Any] | None = None,
    name: str = "suite.yaml",
) -> Path:
    """A suite file (JSON is YAML) with a fake target answering ``outputs`` by case id."""
    targets: list[dict[str, Any]] = [
        {"id": "app", "provider": "fake", "outputs": dict(outputs)},
    ]
    if judge_url is not None:
        targets.append(
            {
                "id": "judge",
                "provider": "openai",
                "model": "gpt-4o-mini",
                "base_url": f"{judge_url}/v1",
                "api_key_env": "JUDGE_KEY",
                "timeout_s": 5,
            }
        )
    targets += [dict(t) for t in extra_targets]
    cases = []
    for case_id in outputs:
        case: dict[str, Any] = {"id": case_id, "vars": {"question": f"question {case_id}"}}
        case.update((cases_extra or {}).get(case_id, {}))
        cases.append(case)
    data: dict[str, Any] = {
        "ci_gate": 1,
        "name": "judged",
        "targets": targets,
        "default_target": "app",
        "judge": dict(judge) if judge is not None else {"target": "judge"},
        "retry": {"max_attempts": 2, "backoff_s": 0.01, "max_backoff_s": 0.02},
        "defaults": {"assert": [dict(a) for a in assertions]},
        "cases": cases,
    }
    data.update(top or {})
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def run(
    path: Path, tmp_path: Path, *, cache: bool = False, out: str = "results.json", **kw: Any
) -> Results:
    suite = load_suite(path)
    options = RunOptions(
        output=tmp_path / out,
        use_cache=cache,
        cache_dir=tmp_path / "cache",
        progress=False,
        resume=False,
        **kw,
    )
    return asyncio.run(run_suite(suite, options, ENV))
