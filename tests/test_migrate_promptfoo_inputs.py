"""promptfoo prompts, providers, tests and vars as ci-gate prompts, targets and cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_migrate_promptfoo import DATA, Converted, convert

ONE_TEST = "tests: [{vars: {q: hi}}]\n"


def prompts_of(
    tmp_path: Path, prompts: str, files: dict[str, str | bytes] | None = None
) -> list[Any]:
    converted = convert(tmp_path, f"prompts: {prompts}\nproviders: [echo]\n{ONE_TEST}", files)
    return list(converted.data["prompts"])


# --- prompts ------------------------------------------------------------------------------------


def test_prompt_files_text_json_chat_yaml_chat_and_jsonl(tmp_path: Path) -> None:
    chat = (DATA / "github-action" / "prompt1.json").read_text("utf-8")
    files: dict[str, str | bytes] = {
        "p.txt": "First {{q}}\n---\n\n  Second {{ q }}\n",
        "prompt1.json": chat,
        "chat.yaml": "- {role: system, content: Be brief.}\n- {role: user, content: '{{q}}'}\n",
        "many.jsonl": '[{"role": "user", "content": "A {{q}}"}]\n\n'
        '[{"role": "user", "content": "B"}]\n',
        "notes.md": "Markdown {{q}}\n---\nstays one prompt\n",
    }
    refs = [
        "file://p.txt",
        "file://prompt1.json",
        "file://chat.yaml",
        "file://many.jsonl",
        "file://notes.md",
    ]
    prompts = prompts_of(tmp_path, json.dumps(refs), files)
    assert prompts == [
        {"id": "p-1", "template": "First {{ q }}"},
        {"id": "p-2", "template": "Second {{ q }}"},
        {
            "id": "prompt1",
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Who won the world series in {{ year }}?"},
            ],
        },
        {
            "id": "chat",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "{{ q }}"},
            ],
        },
        {"id": "many-1", "messages": [{"role": "user", "content": "A {{ q }}"}]},
        {"id": "many-2", "messages": [{"role": "user", "content": "B"}]},
        {"id": "notes", "template": "Markdown {{ q }}\n---\nstays one prompt"},
    ]


def test_inline_json_chat_text_is_a_chat_prompt(tmp_path: Path) -> None:
    prompts = prompts_of(tmp_path, """['[{"role": "system", "content": "Hi {{q}}"}]']""")
    assert prompts == [
        {"id": "prompt-1", "messages": [{"role": "system", "content": "Hi {{ q }}"}]}
    ]


def test_prompt_objects_labels_maps_globs_and_bare_file_names(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {"a.txt": "A {{q}}", "dir/b.txt": "B", "dir/c.txt": "C"}
    prompts = prompts_of(
        tmp_path,
        "[{raw: 'Raw {{q}}', label: Short Answer}, {id: file://a.txt, label: A}, a.txt, "
        "file://dir/*.txt, 'Inline {{q}}']",
        files,
    )
    assert [(p["id"], p["template"]) for p in prompts] == [
        ("short-answer", "Raw {{ q }}"),
        ("a", "A {{ q }}"),
        ("a-2", "A {{ q }}"),
        ("b", "B"),
        ("c", "C"),
        ("prompt-5", "Inline {{ q }}"),
    ]
    mapped = prompts_of(tmp_path / "m", "{'file://a.txt': Label A}", {"a.txt": "A {{q}}"})
    assert mapped == [{"id": "label-a", "template": "A {{ q }}"}]


@pytest.mark.parametrize(
    ("text", "converted"),
    [
        (
            "{{q}} {{ q }} {{q.a}} {{ q.items[0] }} {{ q['k-1'] }}",
            "{{ q }} {{ q }} {{ q.a }} {{ q.items.0 }} {{ q.k-1 }}",
        ),
        ("no placeholders {{", "no placeholders {{"),
    ],
)
def test_nunjucks_paths_become_ci_gate_placeholders(
    tmp_path: Path, text: str, converted: str
) -> None:
    config = f"prompts: [{json.dumps(text)}]\nproviders: [echo]\n"
    config += "tests: [{vars: {q: {a: 1, items: [x], k-1: y}}}]\n"
    result = convert(tmp_path, config)
    assert result.data["prompts"][0]["template"] == converted
    assert result.whats == []


def test_nunjucks_features_are_listed_each_once_with_their_line(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "p.txt": "Hi {{ name | upper }}\n{% if vip %}VIP{% endif %}\n{# note #}\n{{ env.HOME }}\n"
        "{{ name | upper }} {{_conversation}}"
    }
    converted = convert(tmp_path, f"prompts: [file://p.txt]\nproviders: [echo]\n{ONE_TEST}", files)
    assert [(u.where, u.what) for u in converted.conversion.unconverted] == [
        ("p.txt:1", "Nunjucks '{{ name | upper }}'"),
        ("p.txt:2", "Nunjucks '{% if vip %}'"),
        ("p.txt:2", "Nunjucks '{% endif %}'"),
        ("p.txt:3", "Nunjucks '{# note #}'"),
        ("p.txt:4", "Nunjucks '{{ env.HOME }}'"),
        ("p.txt:5", "Nunjucks '{{_conversation}}'"),
    ]


def test_prompts_that_cannot_be_converted_are_listed(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "fn.py": "def prompt(context): return 'x'\n",
        "tool.json": '[{"role": "tool", "content": "x"}]',
        "image.json": '[{"role": "user", "content": [{"type": "image_url"}]}]',
        "dev.json": '[{"role": "developer", "content": "Be brief."}, '
        '{"role": "user", "content": "q"}]',
    }
    converted = convert(
        tmp_path,
        "prompts: [file://fn.py, 'file://fn.py:prompt', file://tool.json, file://image.json, "
        "file://dev.json, {raw: x, config: {temperature: 1}}]\nproviders: [echo]\n" + ONE_TEST,
        files,
    )
    assert converted.whats == [
        "prompt function 'file://fn.py'",
        "prompt function 'file://fn.py:prompt'",
        "chat prompt: message 1 with role 'tool'",
        "chat prompt: message 1 with non-text content (images, files or parts)",
        "prompt option 'config'",
    ]
    assert converted.data["prompts"][0]["messages"][0] == {"role": "system", "content": "Be brief."}


def test_vars_a_prompt_uses_but_a_test_lacks_default_to_empty(tmp_path: Path) -> None:
    converted = convert(
        tmp_path,
        "prompts: ['{{q}} {{extra}}']\nproviders: [echo]\n"
        "tests: [{vars: {q: a, extra: b}}, {vars: {q: c}}]\n",
    )
    assert converted.data["defaults"]["vars"] == {"extra": ""}
    assert "defaults.vars sets it" in converted.conversion.notes[0]


def test_a_case_whose_vars_lack_a_dotted_value_is_left_out(tmp_path: Path) -> None:
    converted = convert(
        tmp_path,
        "prompts: ['{{cfg.tone}}']\nproviders: [echo]\n"
        "tests: [{vars: {cfg: {tone: calm}}}, {vars: {cfg: 'a string'}}]\n",
    )
    assert [c.id for c in converted.suite.cases] == ["case-001"]
    assert converted.whats == ["case 'case-002'"]


# --- providers ----------------------------------------------------------------------------------


def targets_of(
    tmp_path: Path, providers: str, files: dict[str, str | bytes] | None = None
) -> Converted:
    return convert(tmp_path, f"prompts: ['{{{{q}}}}']\nproviders: {providers}\n{ONE_TEST}", files)


def test_openai_and_anthropic_providers_with_their_config(tmp_path: Path) -> None:
    converted = targets_of(
        tmp_path,
        """
  - id: openai:chat:gpt-4o
    label: Main bot
    config:
      temperature: 0
      max_tokens: 200
      apiBaseUrl: http://127.0.0.1:9999/v1
      apiKey: '{{ env.GATEWAY_KEY }}'
      organization: org-1
      headers: {X-Team: bots}
      cost: 0.000002
      frobnicate: true
  - anthropic:messages:claude-3-5-haiku-latest
  - id: anthropic:claude-3-haiku-20240307
    config: {apiKeyEnvar: CLAUDE_KEY, top_k: 5}
  - groq:llama-3.3-70b-versatile
  - openai:responses:gpt-4.1
  - {openai:gpt-4o-mini: {config: {seed: 7}}}
""",
    )
    t = {target["id"]: target for target in converted.data["targets"]}
    assert t["main-bot"] == {
        "id": "main-bot",
        "provider": "openai",
        "model": "gpt-4o",
        "base_url": "http://127.0.0.1:9999/v1",
        "api_key_env": "GATEWAY_KEY",
        "headers": {"OpenAI-Organization": "org-1", "X-Team": "bots"},
        "params": {"temperature": 0, "max_tokens": 200},
    }
    assert t["claude-3-5-haiku-latest"]["provider"] == "anthropic"
    assert t["claude-3-haiku-20240307"]["api_key_env"] == "CLAUDE_KEY"
    assert t["claude-3-haiku-20240307"]["params"] == {"top_k": 5}
    assert t["llama-3.3-70b-versatile"]["base_url"] == "https://api.groq.com/openai/v1"
    assert t["llama-3.3-70b-versatile"]["api_key_env"] == "GROQ_API_KEY"
    assert t["gpt-4.1"]["model"] == "gpt-4.1"
    assert t["gpt-4o-mini"]["params"] == {"seed": 7}
    assert converted.data["prices"] == {"gpt-4o": {"input": 2.0, "output": 2.0}}
    assert converted.whats == ["provider option 'frobnicate'"]
    notes = " ".join(converted.conversion.notes)
    assert "Responses API" in notes and "GROQ_API_KEY" in notes and "--target ID" in notes


def test_http_provider_becomes_an_http_target(tmp_path: Path) -> None:
    converted = targets_of(
        tmp_path,
        """
  - id: https
    config:
      url: https://bot.example.com/chat
      method: post
      headers: {Authorization: 'Bearer {{env.BOT_TOKEN}}'}
      body: {message: '{{prompt}}', lang: '{{language}}', n: 1}
      queryParams: {v: '2'}
      transformResponse: json.choices[0].message.content
""",
    )
    assert converted.data["targets"][0] == {
        "id": "http",
        "provider": "http",
        "url": "https://bot.example.com/chat?v=2",
        "method": "POST",
        "headers": {"Authorization": "Bearer {{ env.BOT_TOKEN }}"},
        "body": {"message": "{{ prompt }}", "lang": "{{ vars.language }}", "n": 1},
        "output_path": "choices.0.message.content",
    }


def test_credentials_in_provider_config_never_reach_the_suite(tmp_path: Path) -> None:
    converted = targets_of(
        tmp_path,
        """
  - id: https://bot.example.com/chat
    config:
      headers: {Authorization: Bearer abc123secret, X-Trace: on}
      body: {prompt: '{{prompt}}', key: sk-abcdef0123456789, author: bob}
      queryParams: {api_key: qwerty123secret}
      transformResponse: json.text
  - id: https://user:pass123secret@bot.example.com/chat
    config: {transformResponse: json.text}
  - id: openai:gpt-4o-mini
    config: {headers: {X-Api-Key: k9secret, X-Team: bots}}
""",
    )
    text = converted.conversion.files["suite.yaml"] + repr(converted.conversion)
    for secret in ("abc123secret", "sk-abcdef", "qwerty123secret", "pass123secret", "k9secret"):
        assert secret not in text
    assert converted.whats == [
        "a credential written in the config ('Authorization')",
        "a credential written in the config ('key')",
        "a credential written in the config ('api_key')",
        "a url with a credential in it",
        "header 'X-Api-Key'",
    ]
    http, openai = converted.data["targets"]
    assert http["headers"] == {"X-Trace": "on"}
    assert http["body"] == {"prompt": "{{ prompt }}", "author": "bob"}
    assert http["url"] == "https://bot.example.com/chat"
    assert openai["headers"] == {"X-Team": "bots"}


@pytest.mark.parametrize(
    ("provider", "what"),
    [
        ("'exec:python bot.py'", "provider 'exec:python bot.py'"),
        ("'python:provider.py'", "provider 'python:provider.py'"),
        ("'file://provider.py'", "provider 'file://provider.py'"),
        ("'vertex:gemini-pro'", "provider 'vertex:gemini-pro'"),
        ("'openai:completion:davinci-002'", "provider 'openai:completion:davinci-002'"),
        (
            "'openai:embedding:text-embedding-3-small'",
            "provider 'openai:embedding:text-embedding-3-small'",
        ),
        ("'anthropic:completion:claude-2'", "provider 'anthropic:completion:claude-2'"),
        ("{id: 'https://x.example/{{path}}'}", "templated url 'https://x.example/{{path}}'"),
        (
            "{id: 'https://x.example', config: {transformResponse: '(json) => json.a.map(f)'}}",
            "http provider 'https://x.example' without a plain response path",
        ),
        ("{id: echo, transform: output.trim()}", "provider option 'transform'"),
    ],
)
def test_providers_without_a_target_are_listed(tmp_path: Path, provider: str, what: str) -> None:
    converted = targets_of(tmp_path, f"[{provider}]")
    assert converted.whats == [what]
    assert converted.conversion.unconverted[0].why


def test_providers_from_a_file_and_the_targets_alias(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {"providers.yaml": "- openai:gpt-4o-mini\n- echo\n"}
    converted = convert(
        tmp_path, f"prompts: ['{{{{q}}}}']\ntargets: file://providers.yaml\n{ONE_TEST}", files
    )
    assert [t["id"] for t in converted.data["targets"]] == ["gpt-4o-mini", "echo"]


# --- tests and vars -----------------------------------------------------------------------------


def cases_of(tmp_path: Path, tests: str, files: dict[str, str | bytes] | None = None) -> Converted:
    return convert(tmp_path, f"prompts: ['{{{{q}}}}']\nproviders: [echo]\ntests: {tests}\n", files)


def test_tests_from_yaml_json_jsonl_and_globs(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "t.yaml": "- {description: From YAML, vars: {q: y}}\n",
        "t.json": '[{"vars": {"q": "j"}, "assert": [{"type": "equals", "value": "j"}]}]',
        "t.jsonl": '{"vars": {"q": "l1"}}\n\n{"vars": {"q": "l2"}}\n',
        "more/a.yaml": "- {vars: {q: a}}\n",
        "more/b.yaml": "{vars: {q: b}}\n",
    }
    converted = cases_of(
        tmp_path, "[file://t.yaml, file://t.json, file://t.jsonl, 'file://more/*.yaml']", files
    )
    assert [(c.id, c.vars["q"]) for c in converted.suite.cases] == [
        ("from-yaml", "y"),
        ("case-002", "j"),
        ("case-003", "l1"),
        ("case-004", "l2"),
        ("case-005", "a"),
        ("case-006", "b"),
    ]
    text = converted.conversion.files["suite.yaml"]
    assert "# t.jsonl:3" in text and "# t.yaml:1: [0]: From YAML" in text


def test_csv_columns_as_promptfoo_reads_them(tmp_path: Path) -> None:
    csv_text = (
        "q,__expected1,__expected2,__description,__metric,__threshold,__metadata:topic,"
        "__metadata:langs[],__config:__expected2:threshold,__prefix,__providerOutput\n"
        'hi,icontains:hi,similar:hello,Says hi,greet,0,small talk,"en, fr",0.9,,\n'
        "yo,equals:yo,,Says yo,,0.5,,,,Pre: ,canned\n"
    )
    converted = cases_of(tmp_path, "file://t.csv", {"t.csv": csv_text})
    first, second = converted.suite.cases
    assert first.id == "says-hi" and dict(first.vars) == {"q": "hi"}
    assert first.tags == ("topic:small talk", "langs:en", "langs:fr")
    assert [(a.name, a.blocking) for a in first.assertions] == [
        ("greet", False),
        ("greet-2", False),
    ]
    assert first.assertions[1].options["threshold"] == 0.9
    assert [(a.type, a.value) for a in second.assertions] == [("equals", "yo")]
    assert converted.whats == [
        "test option 'prefix'",
        "test key 'providerOutput'",
        "test threshold 0.5",
    ]
    assert [u.where for u in converted.conversion.unconverted] == [
        "t.csv:3: __prefix",
        "t.csv:3: __providerOutput",
        "t.csv:3: __threshold",
    ]


def test_tsv_and_multiline_csv_cells_keep_their_line(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "t.tsv": "q\t__expected\nhi\tcontains:h\n",
        "m.csv": 'q,__description\n"two\nlines",first\nlast,second\n',
    }
    converted = cases_of(tmp_path, "[file://t.tsv, file://m.csv]", files)
    assert [c.id for c in converted.suite.cases] == ["case-001", "first", "second"]
    assert converted.case("first").vars["q"] == "two\nlines"
    assert "# m.csv:4: second" in converted.conversion.files["suite.yaml"]


def test_list_vars_run_once_per_combination(tmp_path: Path) -> None:
    converted = cases_of(
        tmp_path,
        "[{description: Greet, vars: {q: [a, b], n: [1, 2]},"
        " assert: [{type: contains, value: '{{q}}'}]},"
        " {vars: {q: [c, d]}, options: {disableVarExpansion: true}}]",
    )
    assert [(c.id, c.vars["q"]) for c in converted.suite.cases] == [
        ("greet-1", "a"),
        ("greet-2", "b"),
        ("case-002", ["c", "d"]),
    ]
    assert converted.case("greet-2").assertions[0].value == "b"
    # [1, 2] is a list of numbers: promptfoo passes it whole.
    assert converted.case("greet-1").vars["n"] == [1, 2]
    expanded = cases_of(tmp_path / "b", "[{vars: {q: [a, b]}}]")
    assert [(c.id, c.vars["q"]) for c in expanded.suite.cases] == [
        ("case-001-1", "a"),
        ("case-001-2", "b"),
    ]


def test_file_vars_are_read_into_the_case(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "doc.txt": "Some text\n",
        "cfg.yaml": "tone: calm\n",
        "pic.png": b"\x89PNG",
    }
    converted = cases_of(
        tmp_path,
        "[{vars: {q: file://doc.txt, cfg: file://cfg.yaml, pic: file://pic.png, all: 'file://*.txt',"
        " code: file://make.py}}]",
        files,
    )
    assert dict(converted.suite.cases[0].vars) == {"q": "Some text\n", "cfg": '{"tone":"calm"}'}
    assert converted.whats == [
        "var from 'file://pic.png'",
        "var from 'file://*.txt'",
        "var from 'file://make.py'",
    ]


def test_vars_from_a_file(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {"v.yaml": "q: from file\nn: 2\n"}
    converted = cases_of(tmp_path, "[{vars: file://v.yaml}]", files)
    assert dict(converted.suite.cases[0].vars) == {"q": "from file", "n": 2}


def test_test_keys_without_a_place_are_listed(tmp_path: Path) -> None:
    converted = cases_of(
        tmp_path,
        "[{vars: {q: a}, provider: openai:gpt-4o, providerOutput: canned,"
        " options: {transform: output.trim(), provider: openai:gpt-4o}}, file://gen.py,"
        " 'huggingface://datasets/x', {path: file://gen.py}]",
    )
    assert converted.whats == [
        "test generator 'file://gen.py'",
        "tests from 'huggingface://datasets/x'",
        "test generator 'file://gen.py'",
        "test key 'provider'",
        "test key 'providerOutput'",
        "test option 'transform'",
        "test option 'provider'",
    ]


def test_yaml_test_thresholds_and_duplicate_descriptions(tmp_path: Path) -> None:
    converted = cases_of(
        tmp_path,
        "[{description: Same, vars: {q: a}, threshold: 0, assert: [{type: contains, value: a}]},"
        " {description: Same!, vars: {q: b}}]",
    )
    assert [c.id for c in converted.suite.cases] == ["same", "same-2"]
    assert [a.blocking for a in converted.case("same").assertions] == [False]


def test_default_test_from_a_file(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "default.yaml": "vars: {tone: calm}\nassert: [{type: is-json}]\n"
    }
    converted = convert(
        tmp_path,
        "prompts: ['{{q}} {{tone}}']\nproviders: [echo]\ndefaultTest: file://default.yaml\n"
        + ONE_TEST,
        files,
    )
    assert converted.data["defaults"] == {"vars": {"tone": "calm"}, "assert": [{"type": "is-json"}]}
