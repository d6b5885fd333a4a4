"""Converting promptfoo configs: the published examples, whole-config behaviour and bad input.

Every converted suite is written into the config's folder, as ``ci-gate init`` writes it, and
loaded with ci-gate's own loader (what ``ci-gate validate`` runs).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ci_gate.cli import main
from ci_gate.errors import EXIT_USAGE, GateError
from ci_gate.migrate import Conversion, PromptfooError, convert_promptfoo
from ci_gate.results.store import read_results
from ci_gate.suite.load import load_suite
from ci_gate.suite.model import Suite
from ci_gate.suite.yaml_source import parse_yaml

DATA = Path(__file__).parent / "data" / "promptfoo"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "peers" / "promptfoo"


@dataclass(frozen=True)
class Converted:
    conversion: Conversion
    data: dict[str, Any]  # suite.yaml as read back
    suite: Suite

    @property
    def whats(self) -> list[str]:
        return [u.what for u in self.conversion.unconverted]

    def case(self, case_id: str) -> Any:
        return next(c for c in self.suite.cases if c.id == case_id)


def write_back(folder: Path, conversion: Conversion) -> Converted:
    for rel, text in conversion.files.items():
        (folder / rel).write_text(text, encoding="utf-8")
    data = parse_yaml(conversion.files["suite.yaml"], "suite.yaml").data
    return Converted(conversion, data, load_suite(folder / "suite.yaml"))


def convert(
    tmp_path: Path,
    config: str,
    files: dict[str, str | bytes] | None = None,
    name: str = "promptfooconfig.yaml",
) -> Converted:
    """Convert ``config`` (with ``files`` beside it) and load the suite it gives."""
    folder = tmp_path / "pf"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(config, encoding="utf-8")
    for rel, content in (files or {}).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return write_back(folder, convert_promptfoo(folder / name))


def example(tmp_path: Path, name: str) -> Converted:
    folder = tmp_path / name
    shutil.copytree(DATA / name, folder)
    return write_back(folder, convert_promptfoo(folder / "promptfooconfig.yaml"))


EXAMPLES = {
    "getting-started": [],
    "github-action": ["prompts"],
    "simple-csv": [
        "Nunjucks '{{ (style_config | load).tone }}'",
        "Nunjucks '{{ (style_config | load).length }}'",
    ],
    "eval-customer-support-rubric": [],
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_converts_validates_and_lists_what_it_left_out(
    tmp_path: Path, name: str
) -> None:
    converted = example(tmp_path, name)
    assert converted.whats == EXAMPLES[name]
    header = converted.conversion.files["suite.yaml"].split("\nci_gate: 1\n")[0]
    for item in converted.conversion.unconverted:
        assert f"# - {item.where}: {item.what}: {item.why}" in header
    for note in converted.conversion.notes:
        assert f"# - {note}" in header


def test_every_shared_example_has_a_copy_here() -> None:
    if not SHARED.is_dir():
        pytest.skip("the shared peer data is not checked out next to this project")
    configs = sorted(p.parent.name for p in SHARED.glob("*/promptfooconfig.yaml"))
    assert configs == sorted(EXAMPLES)
    for name in configs:
        for original in (SHARED / name).iterdir():
            if original.suffix != ".md":
                assert (DATA / name / original.name).read_bytes() == original.read_bytes()


def test_getting_started_runs_each_test_with_each_prompt_on_two_targets(tmp_path: Path) -> None:
    converted = example(tmp_path, "getting-started")
    suite = converted.suite
    assert [(t.id, t.provider, t.model) for t in suite.targets] == [
        ("gpt-4.1", "openai", "gpt-4.1"),
        ("o4-mini", "openai", "o4-mini"),
    ]
    assert suite.default_target == "gpt-4.1"
    assert [p.messages[0].content for p in suite.prompts] == [
        "Convert this English to {{ language }}: {{ input }}",
        "Translate to {{ language }}: {{ input }}",
    ]
    assert [(c.id, c.prompt) for c in suite.cases] == [
        ("case-001/prompt-1", "prompt-1"),
        ("case-001/prompt-2", "prompt-2"),
        ("case-002/prompt-1", "prompt-1"),
        ("case-002/prompt-2", "prompt-2"),
    ]
    # promptfoo's contains is case-sensitive, icontains is not: ci-gate's contains defaults to
    # insensitive, so the first says so.
    first, second = suite.cases[0].assertions[0], suite.cases[2].assertions[0]
    assert (first.type, first.value, first.options.get("case_sensitive")) == (
        "contains",
        "Bonjour le monde",
        True,
    )
    assert (second.value, second.options.get("case_sensitive")) == (
        "Dónde está la biblioteca",
        None,
    )
    assert "prompt:prompt-2" in suite.cases[1].tags


def test_github_action_gets_a_placeholder_prompt_that_sends_the_vars(tmp_path: Path) -> None:
    converted = example(tmp_path, "github-action")
    assert converted.data["prompts"] == [{"id": "placeholder", "template": "year: {{ year }}"}]
    assert [c.vars["year"] for c in converted.suite.cases] == [1950, 1984, 2020, 2023]
    assert "placeholder prompt" in converted.conversion.unconverted[0].why


def test_simple_csv_splits_the_prompt_file_and_reads_expected_columns(tmp_path: Path) -> None:
    converted = example(tmp_path, "simple-csv")
    assert [p.id for p in converted.suite.prompts] == ["prompts-1", "prompts-2"]
    assert [u.where for u in converted.conversion.unconverted] == ["prompts.txt:2", "prompts.txt:3"]
    pirate = converted.case("case-004/prompts-2")
    assert pirate.vars["language"] == "Pirate"
    assert [(a.type, a.value, a.options) for a in pirate.assertions] == [("contains", "grub", {})]


def test_rubric_example_keeps_its_severity_gate(tmp_path: Path) -> None:
    converted = example(tmp_path, "eval-customer-support-rubric")
    suite = converted.suite
    assert [(t.id, t.provider) for t in suite.targets] == [
        ("mock-support-assistant", "fake"),
        ("grader", "openai"),
    ]
    assert suite.targets[0].options["default_output"] == "echo"
    assert suite.targets[1].model == "gpt-4.1-mini"
    assert suite.judge.target == "grader"
    assert len(suite.cases) == 8
    blocking = {c.id: {a.blocking for a in c.assertions} for c in suite.cases}
    # Rows with __threshold 0 report their scores and never fail; the others fail on any miss.
    assert blocking["es-tariff-reply-mixing-languages"] == {False}
    assert blocking["en-upsell-reply-that-overpromises"] == {False}
    assert blocking["es-billing-reply-with-an-invented-policy"] == {True}
    refund = converted.case("es-refund-ticket-answered-in-spanish")
    assert "severity:high" in refund.tags
    assert [a.name for a in refund.assertions] == [
        "correct",
        "resolved",
        "honest",
        "handoff",
        "language_fit",
    ]
    correct = refund.assertions[0]
    assert correct.type == "llm-rubric"
    assert correct.options["threshold"] == 5
    assert "Me cobraron dos veces mi factura de octubre" in correct.value
    assert "{{" not in correct.value


def test_output_is_deterministic_and_ends_with_a_newline(tmp_path: Path) -> None:
    shutil.copytree(DATA / "eval-customer-support-rubric", tmp_path / "a")
    first = convert_promptfoo(tmp_path / "a" / "promptfooconfig.yaml")
    second = convert_promptfoo(tmp_path / "a" / "promptfooconfig.yaml")
    assert first == second
    assert first.files["suite.yaml"].endswith("\n")
    assert list(first.files) == ["suite.yaml"]


def test_defaults_hold_what_every_case_shares(tmp_path: Path) -> None:
    converted = convert(
        tmp_path,
        """
prompts: ["Answer: {{q}}"]
providers: [openai:gpt-4o-mini]
defaultTest:
  vars: {tone: kind}
  metadata: {team: support}
  assert:
    - {type: icontains, value: thanks}
    - {type: contains, value: "{{q}}"}
tests:
  - vars: {q: one}
  - vars: {q: two}
""",
    )
    defaults = converted.data["defaults"]
    assert defaults["vars"] == {"tone": "kind"}
    assert defaults["tags"] == ["team:support"]
    assert defaults["assert"] == [{"type": "contains", "value": "thanks"}]
    own = [c["assert"] for c in converted.data["cases"]]
    assert own == [
        [{"type": "contains", "value": "one", "case_sensitive": True}],
        [{"type": "contains", "value": "two", "case_sensitive": True}],
    ]


def test_many_tests_go_to_a_jsonl_case_file(tmp_path: Path) -> None:
    rows = "\n".join(f"q{i},contains:a{i}" for i in range(150))
    converted = convert(
        tmp_path,
        "prompts: ['{{q}}']\nproviders: [echo]\ntests: file://t.csv\n",
        {"t.csv": "q,__expected\n" + rows + "\n"},
    )
    assert converted.data["cases"] == [{"file": "cases.jsonl"}]
    assert len(converted.suite.cases) == 150
    assert converted.case("case-150").assertions[0].value == "a149"


def test_top_level_keys_without_a_place_are_listed_without_their_values(tmp_path: Path) -> None:
    converted = convert(
        tmp_path,
        """
description: demo
prompts: ["{{q}}"]
providers:
  - id: openai:gpt-4o-mini
    config: {apiKey: sk-live-abcdef0123456789, temperature: 0.2}
env: {OPENAI_API_KEY: sk-env-abcdef0123456789}
outputPath: out.json
sharing: true
evaluateOptions: {maxConcurrency: 3, repeat: 2, delay: 100}
tests: [{vars: {q: hi}}]
""",
    )
    assert converted.whats == [
        "key 'env'",
        "key 'outputPath'",
        "key 'sharing'",
        "run option 'delay'",
        "an API key written in the config",
    ]
    text = converted.conversion.files["suite.yaml"]
    assert "sk-live" not in text and "sk-env" not in text
    assert "sk-" not in repr(converted.conversion)
    assert converted.data["targets"] == [  # the key comes from OPENAI_API_KEY, the default
        {
            "id": "gpt-4o-mini",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "params": {"temperature": 0.2},
        }
    ]
    assert (converted.suite.concurrency, converted.suite.repeats) == (3, 2)
    assert converted.suite.description == "demo"


def test_a_suite_written_elsewhere_finds_the_python_scorers_of_the_config(tmp_path: Path) -> None:
    config = tmp_path / "pf" / "promptfooconfig.yaml"
    config.parent.mkdir()
    config.write_text(
        "prompts: ['{{q}}']\nproviders: [echo]\ntests:\n"
        "  - vars: {q: hello}\n    assert: [{type: python, value: file://pf_migrate_scorer.py}]\n"
        "  - vars: {q: bye}\n    assert: [{type: python, value: file://pf_migrate_scorer.py}]\n",
        encoding="utf-8",
    )
    (config.parent / "pf_migrate_scorer.py").write_text(
        "def get_assert(output, context):\n"
        "    return {'pass': output == context['vars']['q'] == 'hello', 'reason': 'checked'}\n",
        encoding="utf-8",
    )
    evals = tmp_path / "repo" / "evals"
    evals.mkdir(parents=True)
    conversion = convert_promptfoo(config, suite_dir=evals)
    converted = write_back(evals, conversion)
    assert converted.data["cases"][0]["assert"] == [
        {"type": "python", "value": "pf_migrate_scorer:get_assert", "path": "../../pf"}
    ]
    assert conversion.files["suite.yaml"].startswith(
        "# Converted by ci-gate from the promptfoo config ../../pf/promptfooconfig.yaml;"
    )
    results = tmp_path / "results.json"
    assert main(["run", str(evals / "suite.yaml"), "-o", str(results), "-q"]) == 0
    cases = read_results(results).cases
    assert sorted(cases) == ["case-001", "case-002"]
    passed = {r.case_id: r.passed for r in read_results(results).records}
    assert passed == {"case-001": True, "case-002": False}


def test_a_config_without_tests_gets_one_case(tmp_path: Path) -> None:
    converted = convert(tmp_path, "prompts: [Tell a joke]\nproviders: [echo]\n")
    assert [(c.id, dict(c.vars)) for c in converted.suite.cases] == [("case-001", {})]


def test_providers_that_all_fail_leave_a_placeholder_target(tmp_path: Path) -> None:
    converted = convert(
        tmp_path, "prompts: ['{{q}}']\nproviders: [vertex:gemini-pro]\ntests: [{vars: {q: x}}]\n"
    )
    assert converted.whats == ["provider 'vertex:gemini-pro'"]
    assert [(t.id, t.provider) for t in converted.suite.targets] == [("placeholder", "fake")]


BAD = {
    "standalone-action.yaml": "GitHub Actions workflow",
    "asserts.yaml": "list of assertions (promptfoo eval --assertions)",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_files_that_are_not_configs_are_refused_saying_what_they_are(name: str) -> None:
    path = next(DATA.rglob(name))
    with pytest.raises(PromptfooError) as caught:
        convert_promptfoo(path)
    assert BAD[name] in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("- 1\n- 2\n", "the top level is a list"),
        ("name: x\nsteps: []\n", "none of prompts, providers and tests"),
        ("ci_gate: 1\nname: x\n", "already a ci-gate suite"),
        ("prompts: [a\n", "invalid YAML"),
        ("prompts: ['{{q}}']\ntests: file://missing.csv\n", "cannot read 'file://missing.csv'"),
        ("prompts: ['{{q}}']\ntests: file://t.csv\n", "unreadable CSV"),
        ("prompts: ['{{q}}']\ntests: file://wide.csv\n", "3 cells but the header has 2"),
        ("prompts: ['{{q}}']\ntests: file://bin.csv\n", "not valid UTF-8"),
        ("prompts: ['{{q}}']\ntests: file://t.json\n", "invalid JSON"),
    ],
)
def test_bad_input_is_one_line_with_exit_2(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "promptfooconfig.yaml").write_text(content, encoding="utf-8")
    (tmp_path / "t.csv").write_text('q,__expected\n"unterminated,x\n', encoding="utf-8")
    (tmp_path / "wide.csv").write_text("q,__expected\na,b,c\n", encoding="utf-8")
    (tmp_path / "bin.csv").write_bytes(b"q\n\xff\xfe\n")
    (tmp_path / "t.json").write_text("[{", encoding="utf-8")
    with pytest.raises(GateError) as caught:
        convert_promptfoo(tmp_path / "promptfooconfig.yaml")
    assert isinstance(caught.value, PromptfooError)
    assert caught.value.exit_code == EXIT_USAGE
    assert message in str(caught.value)
    assert len(caught.value.lines()) == 1 and "\n" not in caught.value.lines()[0]


def test_a_missing_config_and_a_javascript_config_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PromptfooError, match="file not found"):
        convert_promptfoo(tmp_path / "nope.yaml")
    (tmp_path / "promptfooconfig.js").write_text("module.exports = {}", encoding="utf-8")
    with pytest.raises(PromptfooError, match="JavaScript config"):
        convert_promptfoo(tmp_path / "promptfooconfig.js")


def test_a_json_config_converts(tmp_path: Path) -> None:
    converted = convert(
        tmp_path,
        '{"prompts": ["{{q}}"], "providers": ["echo"], "tests": [{"vars": {"q": "hi"}}]}',
        name="promptfooconfig.json",
    )
    assert [c.id for c in converted.suite.cases] == ["case-001"]


def test_untrusted_text_cannot_break_out_of_the_header_comments(tmp_path: Path) -> None:
    converted = convert(
        tmp_path,
        'prompts: ["{{ q | upper }}\\u2028ci_gate: 2\\n{% if x %}"]\nproviders: [echo]\n'
        'tests: [{description: "a\\u2028b\\nname: evil", vars: {q: x}}]\n',
    )
    assert converted.suite.name == "pf"
    assert len(converted.whats) == 2
