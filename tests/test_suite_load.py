"""Valid suites load into the right frozen dataclasses, with the documented defaults."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from ci_gate.assertions import registry
from ci_gate.assertions.base import LAYERS
from ci_gate.pricing.table import default_table
from ci_gate.suite import load_suite as lazy_load_suite
from ci_gate.suite.load import load_suite
from ci_gate.suite.model import AssertionSpec, Message, Price, ProviderKind, Suite
from ci_gate.suite.schema_check import schema, schema_text
from ci_gate.suite.yaml_source import parse_yaml

REPO = Path(__file__).resolve().parents[1]

SUITE = """\
# yaml-language-server: $schema=schema.json
ci_gate: 1
name: support-bot
version: 3
description: The full format.
targets:
  - id: app
    provider: python
    function: bot:answer
    path: .
  - id: gpt
    provider: openai
    model: gpt-4o-mini
    params: {temperature: 0}
    timeout_s: 30
  - id: claude
    provider: anthropic
    model: claude-3-5-haiku-latest
    cache: false
  - id: svc
    provider: http
    url: http://127.0.0.1:8080/answer
    headers: {Authorization: "Bearer {{ env.SVC_TOKEN }}"}
    body: {question: "{{ vars.question }}", history: "{{ messages }}"}
    output_path: answer.text
  - id: cli
    provider: command
    command: [python3, bot.py]
  - id: fake
    provider: fake
    outputs: {refund-01: "We refund within 30 days."}
default_target: fake
prompts:
  - id: support
    system: "You are a support bot for {{ company }}."
    template: "{{ question }}"
  - id: chat
    messages:
      - {role: system, content: "Be brief."}
      - {role: user, content: "{{ question }}"}
defaults:
  prompt: support
  vars: {company: Acme, question: default question}
  tags: [all]
  assert:
    - type: length
      max: 400
    - type: contains
      value: Acme
repeats: 2
concurrency: 4
retry: {max_attempts: 2, backoff_s: 0.1}
budget: {max_cost_usd: 5, max_calls: 100}
prices:
  my-finetune: {input: 0.3, output: 1.2}
  gpt-4o-mini: {input: 1, output: 2}
cases:
  - id: refund-01
    vars: {question: "Can I get a refund?", company: Globex}
    tags: [refunds]
    expected: "30 days"
    group: refund-policy
    assert:
      - type: contains
      - type: contains
        value: refund
        mode: any
      - type: regex
        name: cites
        value: "\\\\[source\\\\]"
  - file: cases/billing.csv
    tags: [billing]
  - file: cases/shipping.jsonl
  - file: cases/orders.yaml
    tags: [orders, all]
  - id: chat-01
    prompt: chat
gate:
  alpha: 0.05
  quality:
    pass_rate: {max_drop: 2pt, min: 80%}
    tags: {refunds: {max_drop: 5pt}}
    assertions: {cites: {max_drop: 0pt}}
  latency:
    p95: {max_increase: 25%}
  exit_codes: {pass: 0, fail: 1, inconclusive: 0, error: 1}
"""

CSV = """\
id,question,tags,expected,assert
billing-01,Where is my invoice?,invoices;pdf,Orders > Invoices,"[{""type"": ""contains""}]"
billing-02,"Two
lines","a, b",,
"""

JSONL = """\
{"id": "ship-01", "vars": {"question": "How long?"}, "tags": ["shipping"], "expected": "3 days"}

{"id": "ship-02", "vars": {"question": "Abroad?"}, "prompt": "chat"}
"""

ORDERS = """\
cases:
  - id: order-01
    vars: {question: Where is my order?}
    expected: {status: shipped}
    assert: [{type: is-json}, {type: json-schema, value: {type: object}}]
"""


@pytest.fixture
def suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Suite:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases/billing.csv").write_text(CSV)
    (tmp_path / "cases/shipping.jsonl").write_text(JSONL)
    (tmp_path / "cases/orders.yaml").write_text(ORDERS)
    (tmp_path / "suite.yaml").write_text(SUITE)
    return load_suite("suite.yaml")


def test_top_level_fields(suite: Suite) -> None:
    assert suite.path == "suite.yaml"
    assert suite.name == "support-bot"
    assert suite.version == "3"  # a number is turned into a string
    assert suite.description == "The full format."
    assert suite.default_target == "fake"
    assert suite.target().id == "fake"
    assert suite.repeats == 2
    assert suite.concurrency == 4
    assert suite.retry.max_attempts == 2
    assert suite.retry.backoff_s == 0.1
    assert suite.retry.max_backoff_s == 30.0
    assert suite.budget.max_cost_usd == 5.0
    assert suite.budget.max_calls == 100
    assert suite.gate.raw["quality"]["pass_rate"] == {"max_drop": "2pt", "min": "80%"}
    assert suite.raw["name"] == "support-bot"


def test_cases_in_file_order(suite: Suite) -> None:
    assert [c.id for c in suite.cases] == [
        "refund-01",
        "billing-01",
        "billing-02",
        "ship-01",
        "ship-02",
        "order-01",
        "chat-01",
    ]


def test_targets_get_documented_defaults(suite: Suite) -> None:
    app, gpt, claude, svc, cli, fake = suite.targets
    assert (app.provider, app.model, app.cache) == ("python", None, False)
    assert app.options == {"function": "bot:answer", "path": "."}
    assert app.line == 7
    assert gpt.model == "gpt-4o-mini"
    assert gpt.params == {"temperature": 0}
    assert gpt.timeout_s == 30.0
    assert gpt.cache is True
    assert gpt.options == {"base_url": "https://api.openai.com/v1", "api_key_env": "OPENAI_API_KEY"}
    assert claude.params == {"max_tokens": 1024}
    assert claude.cache is False
    assert claude.options["base_url"] == "https://api.anthropic.com"
    assert claude.options["api_key_env"] == "ANTHROPIC_API_KEY"
    assert svc.options["method"] == "POST"
    assert svc.options["body"] == {"question": "{{ vars.question }}", "history": "{{ messages }}"}
    assert svc.timeout_s == 60.0
    assert cli.options == {"command": ["python3", "bot.py"], "output": "text"}
    assert fake.model == "fake-model"
    assert fake.cache is True
    assert fake.options["default_output"] == "echo"
    assert fake.options["outputs"] == {"refund-01": "We refund within 30 days."}


def test_prompts_become_messages(suite: Suite) -> None:
    assert suite.prompt("support").messages == (
        Message("system", "You are a support bot for {{ company }}."),
        Message("user", "{{ question }}"),
    )
    assert suite.prompt("chat").messages == (
        Message("system", "Be brief."),
        Message("user", "{{ question }}"),
    )


def test_defaults_are_merged_into_cases(suite: Suite) -> None:
    case = suite.cases[0]
    assert case.vars == {"company": "Globex", "question": "Can I get a refund?"}
    assert case.tags == ("refunds", "all")
    assert case.expected == "30 days"
    assert case.group == "refund-policy"
    assert case.prompt == "support"
    assert case.source == "suite.yaml"
    assert case.line == 58
    chat = suite.cases[-1]
    assert chat.prompt == "chat"
    assert chat.vars == {"company": "Acme", "question": "default question"}


def test_assertion_names_are_auto_suffixed(suite: Suite) -> None:
    specs = suite.cases[0].assertions
    assert [(s.type, s.name) for s in specs] == [
        ("length", "length"),
        ("contains", "contains"),
        ("contains", "contains-2"),
        ("contains", "contains-3"),
        ("regex", "cites"),
    ]
    assert specs[0].options == {"max": 400}
    assert specs[1].value == "Acme"
    assert specs[2].value is None  # falls back to the case's expected at scoring time
    assert specs[3] == AssertionSpec(
        type="contains", name="contains-3", value="refund", options={"mode": "any"}
    )
    assert specs[4].value == "\\[source\\]"


def test_csv_cases(suite: Suite) -> None:
    first, second = suite.cases[1], suite.cases[2]
    assert first.tags == ("invoices", "pdf", "billing", "all")
    assert first.vars == {"company": "Acme", "question": "Where is my invoice?"}
    assert first.expected == "Orders > Invoices"
    assert [a.name for a in first.assertions] == ["length", "contains", "contains-2"]
    assert first.source == "cases/billing.csv"
    assert first.line == 2
    assert second.tags == ("a", "b", "billing", "all")
    assert second.vars["question"] == "Two\nlines"
    assert second.expected is None
    assert second.line == 3


def test_jsonl_and_yaml_cases(suite: Suite) -> None:
    ship1, ship2, order = suite.cases[3], suite.cases[4], suite.cases[5]
    assert ship1.tags == ("shipping", "all")
    assert ship1.line == 1
    assert ship2.line == 3
    assert ship2.prompt == "chat"
    assert order.tags == ("orders", "all")  # include tags added, duplicates dropped
    assert order.expected == {"status": "shipped"}
    assert order.source == "cases/orders.yaml"
    assert order.line == 2
    assert [a.type for a in order.assertions] == ["length", "contains", "is-json", "json-schema"]


def test_prices_are_laid_over_the_shipped_table(suite: Suite) -> None:
    shipped = default_table()
    assert suite.prices.prices["my-finetune"] == Price(0.3, 1.2)
    assert suite.prices.prices["gpt-4o-mini"] == Price(1.0, 2.0)
    assert suite.prices.date == shipped.date
    assert "suite.yaml" in suite.prices.source
    others = set(shipped.prices) - {"gpt-4o-mini"}
    assert all(suite.prices.prices[m] == shipped.prices[m] for m in others)


def test_model_is_frozen(suite: Suite) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        suite.cases[0].id = "x"  # type: ignore[misc]


def test_prompt_defaults(tmp_path: Path) -> None:
    base = "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake}]\ncases: [{id: c}]\n"
    path = tmp_path / "s.yaml"
    path.write_text(base)
    assert load_suite(path).cases[0].prompt is None  # no prompts at all
    path.write_text(base + "prompts: [{id: only, template: hi}]\n")
    assert load_suite(path).cases[0].prompt == "only"  # a single prompt needs no choosing
    path.write_text(base + "prompts: [{id: p1, template: a}, {id: p2, template: b}]\n")
    assert load_suite(path).cases[0].prompt is None  # several and no defaults.prompt
    path.write_text(
        base + "prompts: [{id: p1, template: a}, {id: p2, template: b}]\ndefaults: {prompt: p2}\n"
    )
    loaded = load_suite(path)
    assert loaded.cases[0].prompt == "p2"
    assert loaded.default_target == "a"
    assert loaded.version == "1"
    assert loaded.repeats == 1
    assert loaded.concurrency == 8


def test_yaml_anchors_and_merge_keys(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "ci_gate: 1\nname: x\ntargets: [{id: a, provider: fake}]\n"
        "x-common: &common {vars: {question: q}, tags: [shared]}\n"
        "cases:\n  - <<: *common\n    id: c1\n  - <<: *common\n    id: c2\n    tags: [own]\n"
    )
    with pytest.raises(Exception, match="unknown key 'x-common'"):
        load_suite(path)
    doc = parse_yaml(path.read_text(), "s.yaml")
    assert doc.data["cases"][0] == {"id": "c1", "vars": {"question": "q"}, "tags": ["shared"]}
    assert doc.data["cases"][1]["tags"] == ["own"]  # explicit keys win over merged ones
    assert doc.lines[("cases", 1, "id")] == 9


def test_yaml_source_keeps_lines_and_plain_keys() -> None:
    doc = parse_yaml("a: 1\non: yes\n1: x\nd: 2024-01-01\nlist:\n  - p\n  - {q: 2}\n", "f.yaml")
    assert doc.data == {"a": 1, "on": "yes", "1": "x", "d": "2024-01-01", "list": ["p", {"q": 2}]}
    assert doc.lines[("on",)] == 2
    assert doc.lines[("list", 1)] == 7
    assert doc.lines[("list", 1, "q")] == 7
    assert doc.line(("list", 1, "q", "missing")) == 7


def test_only_yaml_1_2_scalars_are_not_strings() -> None:
    doc = parse_yaml(
        "a: no\nb: off\nc: True\nd: false\ne: 1:20\nf: 0x10\ng: 1.5e+3\nh: ~\n", "f.yaml"
    )
    assert doc.data == {
        "a": "no",
        "b": "off",
        "c": True,
        "d": False,
        "e": "1:20",
        "f": 16,
        "g": 1500.0,
        "h": None,
    }


def test_lazy_reexport() -> None:
    assert lazy_load_suite is load_suite


def test_the_bundled_example_loads() -> None:
    suite = load_suite(REPO / "examples/support-bot/suite.yaml")
    assert len(suite.cases) >= 30
    assert len({c.id for c in suite.cases}) == len(suite.cases)
    assert all(c.prompt == "support" for c in suite.cases)


def test_schema_is_valid_draft_2020_12() -> None:
    data = schema()
    Draft202012Validator.check_schema(data)
    assert data["$id"] == "https://ci-gate.dev/schema/suite-1.json"
    assert schema_text().startswith("{")
    assert data["properties"]["concurrency"]["title"]


def test_schema_agrees_with_the_code() -> None:
    data = schema()
    assert data["$defs"]["assertion"]["properties"]["layer"]["enum"] == list(LAYERS)
    providers = data["$defs"]["target"]["properties"]["provider"]["enum"]
    assert providers == list(typing.get_args(ProviderKind))
    documented = data["$defs"]["assertion"]["properties"]["type"]["anyOf"][0]["enum"]
    assert set(documented) <= set(registry.names())
