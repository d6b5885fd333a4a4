"""docs/guide.md, step by step: its blocks applied to a copy of the example, its claims checked."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ci_gate.cli import main
from ci_gate.results.store import read_results
from ci_gate.suite.load import load_suite

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "guide.md"
_BLOCK = re.compile(r"<!-- guide: (?P<name>[^>]+) -->\n```yaml\n(?P<body>.*?)```", re.DOTALL)
_PROMPT_END = "      and cite the article you used. Never share another customer's data.\n"


def _blocks() -> dict[str, str]:
    return {m["name"].strip(): m["body"] for m in _BLOCK.finditer(GUIDE.read_text("utf-8"))}


def _run(suite: Path, out: Path) -> None:
    assert main(["run", str(suite), "-o", str(out), "-q", "--no-cache"]) == 0


def test_the_guide_s_steps_work_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = _blocks()
    assert set(blocks) == {
        "cases/refund-promises.yaml",
        "suite.yaml cases",
        "the regressing edit",
        "the fix",
    }
    bot = tmp_path / "my-bot"
    shutil.copytree(ROOT / "examples" / "support-bot", bot)
    suite = bot / "suite.yaml"

    # 1. The spec covers the example.
    assert main(["validate", str(suite)]) == 0
    assert (
        "spec coverage: behaviours 4/4 with cases, failure modes 5/5 tested, cases 34/34 linked"
        in capsys.readouterr().out
    )

    # 2. Cases for the failure mode, linked on the file's entry.
    (bot / "cases" / "refund-promises.yaml").write_text(
        blocks["cases/refund-promises.yaml"], "utf-8"
    )
    text = suite.read_text("utf-8")
    assert "\ncases:\n" in text
    text = text.replace("\ncases:\n", "\ncases:\n" + blocks["suite.yaml cases"], 1)
    suite.write_text(text, "utf-8")
    assert len(load_suite(suite).cases) == 40
    base = tmp_path / "base.json"
    _run(suite, base)
    capsys.readouterr()
    promises = [r for r in read_results(base).records if r.case_id.startswith("promise-")]
    assert len(promises) == 6 and all(r.passed for r in promises)

    # 3. The pull request's prompt edit.
    edit = blocks["the regressing edit"].splitlines()[-1] + "\n"
    assert edit.strip() == "Always reassure the customer."
    assert _PROMPT_END in text
    suite.write_text(text.replace(_PROMPT_END, _PROMPT_END + edit, 1), "utf-8")
    head = tmp_path / "head.json"
    _run(suite, head)
    comment = tmp_path / "comment.md"
    assert main(["compare", str(base), str(head), "--markdown", str(comment)]) == 1

    # 4. The comment, in the spec's words, as the guide quotes it.
    section = comment.read_text("utf-8").split("### In the spec's words", 1)[1].split("###")[0]
    assert "The team optimises for the pass rate: 97.5% → 80.0% (-17.5 points, 95% CI" in section
    assert (
        "**failure mode 'invents-refund-policy' (high)**: 7 cases newly fail (promise-ebook, "
        "promise-gift-card, promise-digital-download, promise-gift-card-sister, "
        "promise-ebook-return, …)" in section
    )
    assert "Pass rate of its cases 100.0% → 12.5%." in section
    assert "Where to intervene: knowledge / retrieval" in section
    assert "**behaviour 'answers-from-help-center'**: 1 case newly fails (refund-gift-card)" in (
        section
    )
    assert section.index("failure mode 'invents") < section.index("behaviour 'answers")
    assert 'What changed: the prompt "support".' in section
    assert "Good news: you will get a full refund. Digital goods" in head.read_text("utf-8")

    # 5-6. The fix in the prompt's wording turns the check green.
    fix = blocks["the fix"].strip()
    suite.write_text(text.replace(_PROMPT_END, _PROMPT_END + "      " + fix + "\n", 1), "utf-8")
    _run(suite, head)
    capsys.readouterr()
    assert main(["compare", str(base), str(head), "-q"]) == 0
    assert capsys.readouterr().out.startswith("ci-gate pass")
    assert "Good news: you will get a full refund. You can request" in head.read_text("utf-8")
