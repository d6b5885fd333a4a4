"""Malformed suites are reported as one-line problems ``file:line: key.path: message (hint)``."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ci_gate.errors import ConfigError, SuiteError
from ci_gate.suite.load import load_suite

BASE = """\
ci_gate: 1
name: demo
targets:
  - id: app
    provider: fake
prompts:
  - id: main
    template: "{{ question }}"
cases:
  - id: c1
    vars: {question: hi}
    assert:
      - type: contains
        value: x
"""  # 14 lines: whatever a test appends starts on line 15


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # problems show paths relative to the current directory


def errors(text: str | bytes, **files: str | bytes) -> list[str]:
    for name, content in files.items():
        path = Path(name.replace("__", "/").replace("_dot_", "."))
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    suite = Path("suite.yaml")
    if isinstance(text, bytes):
        suite.write_bytes(text)
    else:
        suite.write_text(text, encoding="utf-8")
    with pytest.raises(SuiteError) as info:
        load_suite(suite)
    lines = info.value.lines()
    assert all("\n" not in line and "\r" not in line for line in lines)
    assert str(info.value) == "\n".join(lines)
    return lines


def test_base_suite_is_valid() -> None:
    Path("suite.yaml").write_text(BASE)
    assert [c.id for c in load_suite("suite.yaml").cases] == ["c1"]


def test_bad_yaml_syntax() -> None:
    assert errors(BASE + "concurrency: [1, 2\n") == [
        "suite.yaml:16: invalid YAML at column 1: did not find expected ',' or ']' in the flow "
        "sequence that starts on line 15 (check the indentation and quoting)"
    ]


def test_colon_in_plain_value() -> None:
    assert errors(BASE + "description: Note: this breaks\n") == [
        "suite.yaml:15: invalid YAML at column 18: mapping values are not allowed in this "
        "context (quote values that contain ': ')"
    ]


def test_tab_indentation() -> None:
    text = BASE.replace("        value: x", "    \tvalue: x")
    assert errors(text) == [
        "suite.yaml:14: tab character in the indentation (column 5) "
        "(indent YAML with spaces, never tabs)"
    ]


def test_duplicate_keys_name_both_lines() -> None:
    assert errors(BASE + "name: other\n") == [
        "suite.yaml:15: name: duplicate key 'name' (first defined on line 2; remove one of them)"
    ]


def test_duplicate_keys_in_nested_mapping() -> None:
    text = BASE.replace("    provider: fake", "    provider: fake\n    provider: http")
    assert errors(text) == [
        "suite.yaml:6: targets[0].provider: duplicate key 'provider' "
        "(first defined on line 5; remove one of them)"
    ]


def test_unknown_key_with_suggestion() -> None:
    assert errors(BASE + "concurency: 3\n") == [
        "suite.yaml:15: concurency: unknown key 'concurency' (did you mean 'concurrency'?)"
    ]


def test_unknown_assertion_key_with_suggestion() -> None:
    text = BASE.replace("        value: x", "        value: x\n        mdoe: any")
    assert errors(text) == [
        "suite.yaml:15: cases[0].assert[0].mdoe: unknown key 'mdoe' (did you mean 'mode'?)"
    ]


def test_unknown_key_without_suggestion_lists_allowed_keys() -> None:
    text = BASE.replace("    provider: fake", "    provider: command\n    command: [x]\n    zzz: 1")
    assert errors(text) == [
        "suite.yaml:7: targets[0].zzz: unknown key 'zzz' (allowed keys: id, provider, model, "
        "params, timeout_s, cache, command, cwd, output)"
    ]


def test_wrong_type() -> None:
    assert errors(BASE + "concurrency: eight\n") == [
        "suite.yaml:15: concurrency: invalid value 'eight' (expected an integer, got a string)"
    ]


def test_wrong_type_quoted_number() -> None:
    assert errors(BASE + "repeats: '3'\n") == [
        "suite.yaml:15: repeats: invalid value '3' "
        "(expected an integer, got a string; remove the quotes)"
    ]


def test_wrong_type_is_one_problem_not_a_cascade() -> None:
    text = BASE.replace("  - id: app\n    provider: fake", "  - app")
    assert errors(text) == [
        "suite.yaml:4: targets[0]: invalid value 'app' (expected a mapping, got a string)"
    ]


def test_bad_enum() -> None:
    text = BASE.replace("provider: fake", "provider: opanai")
    assert errors(text) == [
        "suite.yaml:5: targets[0].provider: invalid value 'opanai' (did you mean 'openai'? "
        "expected one of: openai, anthropic, http, command, python, fake)"
    ]


def test_bad_enum_in_assertion() -> None:
    text = BASE.replace("        value: x", "        value: x\n        mode: some")
    assert errors(text) == [
        "suite.yaml:15: cases[0].assert[0].mode: invalid value 'some' (expected one of: any, all)"
    ]


def test_missing_required_key_for_provider() -> None:
    text = BASE.replace("provider: fake", "provider: openai")
    assert errors(text) == [
        "suite.yaml:4: targets[0]: missing required key 'model' "
        "(Model name; required for openai and anthropic, used to look up prices.)"
    ]


def test_prompt_with_both_shapes() -> None:
    text = BASE.replace(
        '    template: "{{ question }}"',
        '    template: "{{ question }}"\n    messages: [{role: user, content: hi}]',
    )
    assert errors(text) == [
        "suite.yaml:8: prompts[0].template: key 'template' is not allowed here "
        "(use either 'messages' or 'system' + 'template', not both)"
    ]


def test_length_needs_a_bound() -> None:
    text = BASE.replace("type: contains\n        value: x", "type: length")
    assert errors(text) == [
        "suite.yaml:13: cases[0].assert[0]: length needs 'min', 'max' or both (e.g. max: 400)"
    ]


def test_duplicate_case_ids_name_both_locations() -> None:
    assert errors(BASE + "  - id: c1\n    vars: {question: again}\n") == [
        "suite.yaml:15: cases[1].id: duplicate case id 'c1' "
        "(first defined at suite.yaml:10; case ids must be unique)"
    ]


def test_duplicate_case_id_across_an_included_file() -> None:
    lines = errors(
        BASE + "  - file: cases/more.jsonl\n",
        cases__more_dot_jsonl='{"id": "c2", "vars": {"question": "a"}}\n'
        '{"id": "c1", "vars": {"question": "b"}}\n',
    )
    assert lines == [
        "cases/more.jsonl:2: id: duplicate case id 'c1' "
        "(first defined at suite.yaml:10; case ids must be unique)"
    ]


def test_missing_included_file() -> None:
    assert errors(BASE + "  - file: cases/nope.jsonl\n") == [
        "suite.yaml:15: cases[1].file: case file not found: 'cases/nope.jsonl' "
        "(paths are relative to the suite file; looked for cases/nope.jsonl)"
    ]


def test_included_file_is_looked_up_beside_the_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    Path("sub").mkdir()
    Path("sub/suite.yaml").write_text(BASE + "  - file: more.csv\n")
    with pytest.raises(SuiteError) as info:
        load_suite("sub/suite.yaml")
    assert info.value.lines() == [
        "sub/suite.yaml:15: cases[1].file: case file not found: 'more.csv' "
        "(paths are relative to the suite file; looked for sub/more.csv)"
    ]


def test_bad_jsonl_line() -> None:
    lines = errors(
        BASE + "  - file: cases/more.jsonl\n",
        cases__more_dot_jsonl='{"id": "c2", "vars": {"question": "a"}}\n'
        '{"id": "c3", "vars": {"question": "b"},}\n',
    )
    assert lines == [
        "cases/more.jsonl:2: invalid JSON at column 40: Expecting property name enclosed in "
        "double quotes (each line must be one complete JSON object)"
    ]


def test_schema_error_inside_an_included_file() -> None:
    lines = errors(
        BASE + "  - file: cases/more.yaml\n",
        cases__more_dot_yaml="- id: c2\n  vars: {question: a}\n  assert:\n    - type: equals\n"
        "      trim: maybe\n",
    )
    assert lines == [
        "cases/more.yaml:5: [0].assert[0].trim: invalid value 'maybe' "
        "(expected a boolean (true or false), got a string)"
    ]


def test_csv_without_id_column() -> None:
    lines = errors(
        BASE + "  - file: cases/more.csv\n",
        cases__more_dot_csv="name,question\nc2,a\n",
    )
    assert lines == [
        "cases/more.csv:1: the CSV header has no 'id' column "
        "(add an 'id' column; the header has 'name', 'question')"
    ]


def test_unknown_prompt_reference() -> None:
    text = BASE + "  - id: c2\n    prompt: mian\n    vars: {question: b}\n"
    assert errors(text) == [
        "suite.yaml:16: cases[1].prompt: unknown prompt 'mian' (did you mean 'main'? prompts: main)"
    ]


def test_unknown_default_target() -> None:
    assert errors(BASE + "default_target: ap\n") == [
        "suite.yaml:15: default_target: unknown target 'ap' (did you mean 'app'? targets: app)"
    ]


def test_missing_template_var_names_case_prompt_and_var() -> None:
    assert errors(BASE + "  - id: c2\n    vars: {q: b}\n") == [
        "suite.yaml:15: cases[1]: prompt 'main' uses {{ question }} but case 'c2' has no var "
        "'question' (add it to the case's vars or to defaults.vars)"
    ]


def test_default_vars_satisfy_placeholders() -> None:
    text = BASE.replace('"{{ question }}"', '"{{ company }}: {{ question }}"')
    assert errors(text) == [
        "suite.yaml:10: cases[0]: prompt 'main' uses {{ company }} but case 'c1' has no var "
        "'company' (add it to the case's vars or to defaults.vars)"
    ]
    Path("suite.yaml").write_text(text + "defaults:\n  vars: {company: Acme}\n")
    assert load_suite("suite.yaml").cases[0].vars == {"company": "Acme", "question": "hi"}


def test_llm_target_without_prompts() -> None:
    text = (
        "ci_gate: 1\nname: demo\ntargets:\n  - {id: gpt, provider: openai, model: gpt-4o}\n"
        "cases:\n  - id: c1\n"
    )
    assert errors(text) == [
        "suite.yaml:4: targets[0]: openai target 'gpt' needs a prompt, but the suite has no "
        "prompts (add a 'prompts:' section, e.g. - {id: main, template: \"{{ question }}\"})"
    ]


def test_llm_target_case_without_prompt() -> None:
    text = BASE.replace("  - id: main", "  - id: other\n    template: hi\n  - id: main").replace(
        "provider: fake", "provider: anthropic\n    model: claude-3-5-haiku-latest"
    )
    assert errors(text) == [
        "suite.yaml:13: cases[0]: case 'c1' has no prompt, but anthropic target 'app' needs one "
        "(set 'prompt:' on the case or 'defaults.prompt')"
    ]


def test_newer_format_version() -> None:
    text = BASE.replace("ci_gate: 1", "ci_gate: 2") + "a_key_from_the_future: 1\n"
    assert errors(text) == [
        "suite.yaml:1: ci_gate: this suite needs ci-gate format 2; upgrade ci-gate "
        "(ci-gate 0.1.0 reads format 1)"
    ]


def test_missing_or_malformed_version() -> None:
    assert errors("name: x\n") == [
        "suite.yaml:1: ci_gate: missing the format version key 'ci_gate' "
        "(add 'ci_gate: 1' at the top of the file)"
    ]
    assert errors(BASE.replace("ci_gate: 1", "ci_gate: '1'")) == [
        "suite.yaml:1: ci_gate: invalid format version '1' "
        "(expected an integer, got a string; write ci_gate: 1)"
    ]


def test_yaml_bomb() -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        refs = ", ".join([f"*{prev}"] * 10)
        levels.append(f"{name}: &{name} [{refs}]")
    lines = errors("ci_gate: 1\n" + "\n".join(levels) + "\n")
    assert lines == [
        "suite.yaml:7: f[7]: aliases expand to more than 1000000 nodes "
        "(this looks like a YAML bomb; use fewer nested aliases)"
    ]


def test_cyclic_alias() -> None:
    assert errors("ci_gate: 1\na: &x [1, *x]\n") == [
        "suite.yaml:2: a[1]: alias *x is cyclic: it refers to itself"
    ]


def test_deep_nesting() -> None:
    assert errors("ci_gate: 1\na: " + "[" * 5000 + "]" * 5000 + "\n") == [
        "suite.yaml:2: a[0][0]: nested more than 100 levels deep"
    ]


def test_non_utf8_bytes() -> None:
    offset = len(BASE.encode()) + len("description: caf")
    assert errors(BASE.encode() + b"description: caf\xe9\n") == [
        f"suite.yaml:15: not valid UTF-8: byte 0xe9 at offset {offset} (save the file as UTF-8)"
    ]


def test_control_character() -> None:
    offset = len(BASE) + len('description: "bell')
    assert errors(BASE + 'description: "bell\x07"\n') == [
        f"suite.yaml:15: invalid character U+0007 at offset {offset} (control characters are not "
        'allowed in YAML; remove it or use an escape in a double-quoted string ("\\x00"))'
    ]


def test_empty_file() -> None:
    expected = [
        "suite.yaml: the file is empty (a suite starts with 'ci_gate: 1'; see docs/suite.md)"
    ]
    assert errors("") == expected
    assert errors("# only a comment\n") == expected


def test_top_level_not_a_mapping() -> None:
    assert errors("- ci_gate: 1\n") == [
        "suite.yaml:1: the top level must be a mapping (ci_gate, name, targets, cases...), "
        "got a list (see docs/suite.md for the suite format)"
    ]


def test_more_than_one_document() -> None:
    assert errors(BASE + "---\nname: two\n") == [
        "suite.yaml:15: more than one YAML document ('---') in the file"
    ]


def test_missing_suite_file() -> None:
    with pytest.raises(SuiteError) as info:
        load_suite("nope.yaml")
    assert info.value.lines() == ["nope.yaml: file not found"]


def test_invalid_regex_in_assertion() -> None:
    text = BASE.replace("type: contains\n        value: x", "type: regex\n        value: '(a'")
    (line,) = errors(text)
    assert line.startswith("suite.yaml:13: cases[0].assert[0]: ")
    assert "'(a'" in line
    assert "missing )" in line


def test_unknown_assertion_type() -> None:
    text = BASE.replace("type: contains", "type: contans")
    (line,) = errors(text)
    assert line.startswith(
        "suite.yaml:13: cases[0].assert[0].type: unknown assertion type 'contans' "
        "(did you mean 'contains'? types: "
    )


def test_assertion_without_value_or_expected() -> None:
    text = BASE.replace("        value: x\n", "")
    assert errors(text) == [
        "suite.yaml:13: cases[0].assert[0]: assertion 'contains' has no value and case 'c1' "
        "has no expected (set 'value:' on the assertion or 'expected:' on the case)"
    ]


def test_duplicate_explicit_assertion_names() -> None:
    text = BASE.replace(
        "        value: x\n",
        "        value: x\n        name: n\n      - type: contains\n        value: y\n"
        "        name: n\n",
    )
    assert errors(text) == [
        "suite.yaml:18: cases[0].assert[1].name: duplicate assertion name 'n' in this case "
        "(first used at suite.yaml:15; give each assertion its own name)"
    ]


def test_bad_gate_amount() -> None:
    text = BASE + "gate:\n  quality:\n    pass_rate: {max_drop: 2 points}\n"
    assert errors(text) == [
        "suite.yaml:17: gate.quality.pass_rate.max_drop: invalid value '2 points' "
        "(write 2pt (percentage points), 10% (relative) or a plain number)"
    ]


def test_gate_layer_name() -> None:
    text = BASE + "gate:\n  quality:\n    layers: {fromat: {max_drop: 1pt}}\n"
    assert errors(text) == [
        "suite.yaml:17: gate.quality.layers.fromat: unknown key 'fromat' (did you mean "
        "'format'? expected one of: format, knowledge, instructions, tools, safety, latency, cost)"
    ]


def test_gate_names_an_unknown_assertion() -> None:
    text = BASE + "gate:\n  quality:\n    assertions: {contain: {max_drop: 1pt}}\n"
    assert errors(text) == [
        "suite.yaml:17: gate.quality.assertions.contain: no case has the assertion 'contain' "
        "(did you mean 'contains'?)"
    ]


def test_http_template_placeholder_must_name_a_root() -> None:
    text = BASE.replace(
        "provider: fake",
        "provider: http\n    url: http://127.0.0.1:1/x\n    output_path: a\n"
        "    body: {q: '{{ question }}'}",
    )
    assert errors(text) == [
        "suite.yaml:8: targets[0].body.q: unknown placeholder {{ question }} (did you mean "
        "{{ vars.question }}? http templates see: vars, messages, prompt, case_id, sample, "
        "params, env)"
    ]


def test_fake_rule_with_bad_regex() -> None:
    text = BASE.replace("provider: fake", "provider: fake\n    rules: [{match: '[', output: x}]")
    (line,) = errors(text)
    assert line.startswith(
        "suite.yaml:6: targets[0].rules[0].match: invalid regular expression '['"
    )


def test_newlines_in_quoted_values_stay_on_one_line() -> None:
    (line,) = errors(BASE + '"bad\\nkey": 1\n')
    assert line.startswith("suite.yaml:15: ['bad\\nkey']: unknown key 'bad\\nkey' (allowed keys: ")


def test_all_problems_are_reported_together() -> None:
    text = BASE + "  - id: c1\n    vars: {q: 1}\n    prompt: mian\ndefault_target: x\n"
    lines = errors(text)
    assert len(lines) == 3
    assert any("duplicate case id 'c1'" in line for line in lines)
    assert any("unknown prompt 'mian'" in line for line in lines)
    assert any("unknown target 'x'" in line for line in lines)


def test_many_problems_are_capped() -> None:
    cases = "".join(f"  - id: x{i}\n    vars: {{}}\n" for i in range(80))
    lines = errors(BASE + cases)
    assert len(lines) == 51
    assert lines[-1] == "suite.yaml: 30 more problems not shown (fix these first)"


BROKEN = [
    "ci_gate: 1\n",
    "ci_gate: 1\nname: x\ntargets: []\ncases: []\n",
    "ci_gate: 1\nname: x\ntargets: {id: a}\ncases: [c]\n",
    "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake}]\ncases: [{}]\n",
    "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake}]\ncases: [{file: 3}]\n",
    "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake}]\ncases: [{file: ../x.csv}]\n",
    "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake}]\ncases: [{file: .}]\n",
    "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake}]\ncases: [{id: a, assert: 1}]\n",
    "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake}]\ncases: [{id: a, assert: [1]}]\n",
    "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake}]\ncases: [{id: a, assert: [{}]}]\n",
    "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake}]\ncases: [{id: a, vars: []}]\n",
    "ci_gate: 1\nname: x\ntargets: [{id: a, provider: nope}]\ncases: [{id: a}]\n",
    "ci_gate: 1\nname: x\ntargets: [{provider: python}]\ncases: [{id: a}]\n",
    "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake}]\nprompts: [{id: p}]\n"
    "cases: [{id: a}]\n",
    "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake}]\nprompts: [1]\ncases: [{id: a}]\n",
    "ci_gate: 1\nname: 'a b'\ntargets: [{id: a, provider: fake}]\ncases: [{id: 'a b'}]\n",
    "ci_gate: 1\n? [a]\n: b\n",
    "ci_gate: 1\n*x : 1\n",
    "ci_gate: 1\na: *undefined\n",
    "ci_gate: 1\na: !!binary aGk=\n",
    "ci_gate: 1\na: !custom x\n",
    "ci_gate: 1\n<<: 3\n",
    "ci_gate: 1\nname: x\nname: y\nname: z\n",
    "ci_gate: true\n",
    "ci_gate: 1.5\n",
    "ci_gate: [1]\n",
    "ci_gate: 99999999999999999999999\n",
    "ci_gate: 1\n" + "- " * 3000 + "x\n",
    "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake}]\ncases: [{id: a}]\ngate: 1\n",
    "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake}]\ncases: [{id: a}]\n"
    "gate: {quality: {pass_rate: {max_drop: [1]}}, tradeoffs: [{allow: x}]}\n",
    "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake, latency_ms: {}}]\ncases: [{id: a}]\n",
    "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake}]\nprices: {m: {input: -1}}\n",
    "\ufeff\x00",
    "'",
    "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake}]\ncases: [{id: a, assert: "
    "[{type: json-schema, value: {type: 12}}, {type: number, value: .nan}]}]\n",
]


@pytest.mark.parametrize("text", BROKEN)
def test_broken_suites_raise_only_suite_errors(text: str) -> None:
    Path("suite.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_suite("suite.yaml")
    assert info.value.lines()
    assert all("\n" not in line for line in info.value.lines())


def test_mutated_suites_raise_only_suite_errors() -> None:
    """Random edits of a rich valid suite: loading either works or raises a ConfigError."""
    rich = BASE + (
        "  - id: c2\n    vars: {question: q}\n    expected: 3\n    group: g\n"
        "    assert: [{type: number, tolerance: 1}, {type: length, max: 9, unit: words}]\n"
        "defaults:\n  vars: {a: 1}\n  tags: [t]\n  assert: [{type: is-json, weight: 2}]\n"
        "gate:\n  alpha: 0.05\n  quality: {pass_rate: {max_drop: 2pt}}\n"
        "  tradeoffs: [{allow: cost.total, up_to: 10%, when: quality.score, gains: 1pt}]\n"
    )
    Path("suite.yaml").write_text(rich)
    load_suite("suite.yaml")
    rng = random.Random(7)
    pieces = ["\t", ":", "- ", "[", "{", "}", "'", '"', "&a ", "*a", "\n", "  ", "#", "!", "~"]
    failures = 0
    for _ in range(60):
        i = rng.randrange(len(rich))
        mutated = rich[:i] + rng.choice(pieces) + rich[i + rng.randrange(0, 6) :]
        Path("suite.yaml").write_text(mutated)
        try:
            load_suite("suite.yaml")
        except ConfigError as exc:
            failures += 1
            assert all("\n" not in line for line in exc.lines())
    assert failures > 10  # the edits really did break most suites
