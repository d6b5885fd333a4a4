"""Fingerprints: stable under formatting, sensitive to every change of meaning."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ci_gate.results.model import Fingerprint
from ci_gate.suite.fingerprint import fingerprint
from ci_gate.suite.load import load_suite

SUITE = """\
ci_gate: 1
name: fp
targets:
  - id: gpt
    provider: openai
    model: gpt-4o-mini
    params: {temperature: 0, max_tokens: 100}
    headers: {X-Team: bots, Authorization: Bearer abc}
  - id: cli
    provider: command
    command: [python3, bot.py]
prompts:
  - id: p1
    template: "{{ question }}"
  - id: p2
    system: Be brief.
    template: "{{ question }}"
defaults:
  prompt: p1
  vars: {company: Acme}
  assert:
    - {type: length, max: 400}
repeats: 1
cases:
  - id: c1
    vars: {question: "Refund?"}
    tags: [refunds]
    expected: 30 days
    assert: [{type: contains}]
  - id: c2
    vars: {question: "Shipping?"}
    group: g
"""

# The same suite, reformatted: key order, flow/block style, comments, quoting.
REFORMATTED = """\
# a comment
name: "fp"
ci_gate: 1
repeats: 1
defaults:
  assert: [{max: 400, type: length}]   # same assertion
  vars:
    company: "Acme"
  prompt: p1
prompts:
  - {id: p1, template: '{{ question }}'}
  - template: "{{ question }}"
    system: "Be brief."
    id: p2
targets:
  - provider: openai
    id: gpt
    headers:
      Authorization: Bearer abc
      X-Team: bots
    params:
      max_tokens: 100
      temperature: 0
    model: gpt-4o-mini
  - {id: cli, provider: command, command: ["python3", "bot.py"]}
cases:
  - expected: "30 days"
    tags: [refunds]
    id: c1
    vars: {question: Refund?}
    assert:
      - type: contains
  - {id: c2, group: g, vars: {question: Shipping?}}
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def fp(text: str, target: str = "gpt", name: str = "suite.yaml") -> Fingerprint:
    Path(name).write_text(text)
    suite = load_suite(name)
    return fingerprint(suite, suite.target(target))


def changed(a: Fingerprint, b: Fingerprint) -> set[str]:
    """The components that differ, with per-case and per-prompt detail."""
    out = {
        k
        for k in ("suite", "target", "assertions", "repeats", "prices")
        if getattr(a, k) != getattr(b, k)
    }
    out |= {
        f"prompt:{k}"
        for k in a.prompts.keys() | b.prompts.keys()
        if a.prompts.get(k) != b.prompts.get(k)
    }
    out |= {
        f"case:{k}" for k in a.cases.keys() | b.cases.keys() if a.cases.get(k) != b.cases.get(k)
    }
    return out


def test_shape_of_a_fingerprint() -> None:
    result = fp(SUITE)
    hashes = [result.suite, result.target, result.assertions, result.repeats, result.prices]
    hashes += [*result.prompts.values(), *result.cases.values()]
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes)
    assert set(result.prompts) == {"p1", "p2"}
    assert list(result.cases) == ["c1", "c2"]
    assert fp(SUITE) == result  # deterministic


def test_formatting_key_order_and_comments_do_not_matter() -> None:
    assert fp(REFORMATTED) == fp(SUITE)
    assert fp(SUITE, name="other-name.yaml") == fp(SUITE)


def test_inline_or_included_cases_hash_the_same() -> None:
    Path("cases.jsonl").write_text(
        '{"id": "c1", "vars": {"question": "Refund?"}, "tags": ["refunds"], '
        '"expected": "30 days", "assert": [{"type": "contains"}]}\n'
        '{"id": "c2", "vars": {"question": "Shipping?"}, "group": "g"}\n'
    )
    included = SUITE[: SUITE.index("  - id: c1")] + "  - file: cases.jsonl\n"
    assert fp(included) == fp(SUITE)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('question: "Refund?"', 'question: "Refund!"', {"case:c1"}),
        ("expected: 30 days", "expected: 31 days", {"case:c1"}),
        ("    group: g", "    group: h", {"case:c2"}),
        ("assert: [{type: contains}]", "assert: [{type: contains, mode: any}]", {"case:c1"}),
        ("assert: [{type: contains}]", "assert: [{type: contains, weight: 2}]", {"case:c1"}),
        (
            "- {type: length, max: 400}",
            "- {type: length, max: 401}",
            {"assertions", "case:c1", "case:c2"},
        ),
        ("vars: {company: Acme}", "vars: {company: Initech}", {"case:c1", "case:c2"}),
        (
            'template: "{{ question }}"\n  - id: p2',
            'template: "Q: {{ question }}"\n  - id: p2',
            {"prompt:p1"},
        ),
        ("system: Be brief.", "system: Be very brief.", {"prompt:p2"}),
        ("model: gpt-4o-mini", "model: gpt-4o", {"target", "prices"}),
        ("temperature: 0,", "temperature: 0.5,", {"target"}),
        ("X-Team: bots", "X-Team: humans", {"target"}),
        ("repeats: 1", "repeats: 3", {"repeats"}),
        ("  - id: c2\n", "  - id: c3\n", {"case:c2", "case:c3"}),
    ],
)
def test_semantic_changes_change_the_right_components(
    old: str, new: str, expected: set[str]
) -> None:
    assert old in SUITE
    assert changed(fp(SUITE), fp(SUITE.replace(old, new))) == expected | {"suite"}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("tags: [refunds]", "tags: [refunds, billing]"),  # tags only slice reports
        ('    vars: {question: "Shipping?"}', '    prompt: p2\n    vars: {question: "Shipping?"}'),
        ("Authorization: Bearer abc", "Authorization: Bearer rotated"),  # secrets never hashed
        ("    provider: openai\n", "    provider: openai\n    timeout_s: 5\n    cache: false\n"),
        ("name: fp", "name: fp2\ndescription: now documented\nconcurrency: 3"),
    ],
)
def test_non_semantic_changes_keep_every_hash(old: str, new: str) -> None:
    assert old in SUITE
    assert fp(SUITE.replace(old, new)) == fp(SUITE)


def test_prices_cover_only_the_targets_model() -> None:
    base = fp(SUITE)
    other = fp(SUITE + "prices:\n  some-other-model: {input: 1, output: 2}\n")
    assert other == base
    mine = fp(SUITE + "prices:\n  gpt-4o-mini: {input: 1, output: 2}\n")
    assert changed(base, mine) == {"suite", "prices"}


def test_each_target_has_its_own_fingerprint() -> None:
    gpt, cli = fp(SUITE, "gpt"), fp(SUITE, "cli")
    assert gpt.target != cli.target
    assert gpt.cases == cli.cases
    moved = SUITE.replace("command: [python3, bot.py]", "command: [python3, bot.py]\n    cwd: .")
    assert fp(moved, "cli") == cli  # no cwd means the suite's folder


def test_suite_hash_covers_all_components() -> None:
    a = fp(SUITE)
    b = fp(SUITE.replace("system: Be brief.", "system: Be short."))
    assert a.cases == b.cases
    assert a.suite != b.suite
