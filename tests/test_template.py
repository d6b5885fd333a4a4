"""``{{ name }}`` placeholders: finding, rendering text, rendering JSON bodies."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from ci_gate.suite.template import MissingValue, placeholders, render, render_json

VALUES = {
    "question": "Can I get a refund?",
    "n": 3,
    "flag": True,
    "nothing": None,
    "user": {"name": "Zoë", "tags": ["a", "b"]},
    "messages": [{"role": "user", "content": "hi"}],
    "odd.key": "dotted top-level key",
}


def test_placeholders_found_with_optional_whitespace() -> None:
    text = "{{question}} {{ user.name }} {{   n   }} {{ messages.0.content }}"
    assert placeholders(text) == {"question", "user.name", "n", "messages.0.content"}


def test_text_that_is_not_a_placeholder_is_left_alone() -> None:
    text = "{{ }} {{ 1abc }} {{ a b }} { single } {{{ question }}} {{question"
    assert placeholders(text) == {"question"}
    assert render("{{ }} {{ a b }} {single} {{question", VALUES) == (
        "{{ }} {{ a b }} {single} {{question"
    )


def test_render_strings_and_dotted_lookups() -> None:
    assert render("Q: {{ question }}", VALUES) == "Q: Can I get a refund?"
    assert render("{{user.name}}!", VALUES) == "Zoë!"
    assert render("{{ user.tags.1 }}", VALUES) == "b"
    assert render("{{ messages.0.role }}", VALUES) == "user"
    assert render("{{ odd.key }}", VALUES) == "dotted top-level key"


def test_non_strings_render_as_compact_json() -> None:
    assert render("{{ n }}|{{ flag }}|{{ nothing }}", VALUES) == "3|true|null"
    assert render("{{ user }}", VALUES) == '{"name":"Zoë","tags":["a","b"]}'
    assert render("{{ v }}", {"v": MappingProxyType({"k": (1, 2)})}) == '{"k":[1,2]}'


def test_missing_names_raise_a_key_error_with_the_name() -> None:
    with pytest.raises(KeyError) as info:
        render("Hello {{ company }}", VALUES)
    assert isinstance(info.value, MissingValue)
    assert info.value.name == "company"
    assert str(info.value) == "no value for {{ company }}"
    for name in ("user.age", "user.tags.5", "question.x", "messages.first"):
        with pytest.raises(MissingValue) as missing:
            render("{{ " + name + " }}", VALUES)
        assert missing.value.name == name


def test_rendering_is_a_single_pass() -> None:
    values = {"a": "{{ b }}", "b": "secret"}
    assert render("{{ a }}", values) == "{{ b }}"


def test_render_json_whole_placeholder_keeps_the_value() -> None:
    template = {
        "question": "{{ question }}",
        "history": "{{ messages }}",
        "count": "{{ n }}",
        "text": "n={{ n }}",
        "list": ["{{ user.tags }}", "x {{ flag }}", 7, None],
        "{{ user.name }}": False,
    }
    assert render_json(template, VALUES) == {
        "question": "Can I get a refund?",
        "history": [{"role": "user", "content": "hi"}],
        "count": 3,
        "text": "n=3",
        "list": [["a", "b"], "x true", 7, None],
        "Zoë": False,
    }


def test_render_json_scalars_and_missing() -> None:
    assert render_json(12, VALUES) == 12
    assert render_json("{{ nothing }}", VALUES) is None
    with pytest.raises(MissingValue):
        render_json({"a": ["{{ nope }}"]}, VALUES)
