"""`ci-gate init --from-promptfoo`: the converted suite, and its case file, written where the
suite goes, with the workflows for its keys, validated, and what was not converted listed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from ci_gate.cli import main
from ci_gate.suite.load import load_suite
from tests.test_action_metadata import errors, load_yaml

ROOT = Path(__file__).resolve().parents[1]
PROMPTFOO = ROOT / "tests" / "data" / "promptfoo"
WORKFLOW_SCHEMA = ROOT / "tests" / "data" / "schemas" / "github-workflow.json"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "bot"
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def written(repo: Path) -> set[str]:
    return {
        p.relative_to(repo).as_posix()
        for p in repo.rglob("*")
        if p.is_file() and p.relative_to(repo).parts[0] not in (".git", "promptfoo")
    }


def test_a_promptfoo_config_becomes_a_suite_with_workflows(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = PROMPTFOO / "eval-customer-support-rubric" / "promptfooconfig.yaml"
    code = main(["init", str(repo), "--from-promptfoo", str(config)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert written(repo) == {
        "evals/suite.yaml",
        ".ci-gate/suite.schema.json",
        ".github/workflows/ci-gate-pr.yml",
        ".github/workflows/ci-gate-baseline.yml",
        ".gitignore",
    }
    text = (repo / "evals" / "suite.yaml").read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../.ci-gate/suite.schema.json\n")
    suite = load_suite(repo / "evals" / "suite.yaml")
    assert len(suite.cases) == 8 and {t.provider for t in suite.targets} == {"fake", "openai"}
    assert "ok: " in out and "8 cases" in out
    assert "0 item(s) not converted" in out
    assert "note: judged assertions (llm-rubric) only advise" in out
    # promptfoo has no spec: the suite gets one to fill in, and validate points at the gaps.
    assert suite.spec is not None and suite.spec.optimise_for == "quality.pass_rate"
    assert "#   - name: invents-refund-policy" in text
    assert "cases 0/8 linked" in out
    # The judge is an openai target: its key and host are the workflows'.
    for name in ("ci-gate-pr.yml", "ci-gate-baseline.yml"):
        workflow = load_yaml(repo / ".github" / "workflows" / name)
        assert errors(WORKFLOW_SCHEMA, workflow) == []
        (job,) = workflow["jobs"].values()
        step = job["steps"][1]
        assert step["with"]["suite"] == "evals/suite.yaml"
        assert step["with"]["allowed-hosts"] == "api.openai.com"
        assert step["env"] == {"OPENAI_API_KEY": "${{ secrets.OPENAI_API_KEY }}"}


def test_what_was_not_converted_is_listed_one_line_each(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = PROMPTFOO / "simple-csv" / "promptfooconfig.yaml"
    code = main(["init", str(repo), "--from-promptfoo", str(config), "--no-workflows"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "2 item(s) not converted" in out
    items = [line for line in out.splitlines() if line.startswith("  prompts.txt:")]
    assert len(items) == 2
    assert all(re.fullmatch(r"  prompts\.txt:\d+: Nunjucks '[^']+': .+", i) for i in items)
    assert not (repo / ".github").exists()
    load_suite(repo / "evals" / "suite.yaml")


def test_a_large_config_writes_its_case_file_beside_the_suite(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = repo / "promptfoo" / "promptfooconfig.yaml"
    config.parent.mkdir()
    tests = "".join(
        f"  - vars: {{q: question {n}}}\n    assert: [{{type: contains, value: '{n}'}}]\n"
        for n in range(120)
    )
    config.write_text(
        f"prompts: ['Answer: {{{{q}}}}']\nproviders: [openai:gpt-4o-mini]\ntests:\n{tests}",
        encoding="utf-8",
    )
    (repo / "qa").mkdir()
    (repo / "qa" / "cases.jsonl").write_text("mine\n", encoding="utf-8")
    argv = ["init", str(repo), "--from-promptfoo", str(config), "--suite", "qa/pf.yaml"]
    assert main(argv) == 2
    assert "qa/cases.jsonl already exists" in capsys.readouterr().err
    assert not (repo / "qa" / "pf.yaml").exists()

    assert main([*argv, "--force"]) == 0, capsys.readouterr().err
    suite = load_suite(repo / "qa" / "pf.yaml")
    assert len(suite.cases) == 120
    assert "cases.jsonl" in (repo / "qa" / "pf.yaml").read_text(encoding="utf-8")


def test_a_missing_config_is_a_one_line_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(repo), "--from-promptfoo", str(repo / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err
    assert written(repo) == set()
