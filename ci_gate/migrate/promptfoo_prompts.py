"""promptfoo ``prompts`` as ci-gate prompt templates.

A prompt is inline text, a ``file://`` reference (``.txt`` files hold several prompts separated by
lines of ``---``; ``.json``, ``.yaml`` and ``.jsonl`` files hold chat messages; ``.md`` and ``.j2``
files are one prompt), a glob of such files, or an object with ``id``/``raw`` and ``label``.
Text is sent as one user message, as promptfoo does; chat messages keep their roles. Prompt
functions (``.py``, ``.js``) run code that ci-gate cannot convert.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci_gate.migrate import promptfoo_nunjucks as nunjucks
from ci_gate.migrate.promptfoo_source import (
    FILE_PREFIX,
    At,
    Ids,
    Log,
    Source,
    is_glob,
    parse_doc,
    parse_json,
    shown,
    slug,
    suffix,
)

ROLES = ("system", "user", "assistant")
CODE_SUFFIXES = frozenset({".py", ".js", ".ts", ".mjs", ".cjs"})
TEXT_SUFFIXES = frozenset({".txt", ".md", ".j2", ".prompt", ""})
DELIMITER = "---"

Where = Callable[[int], str]


@dataclass(frozen=True)
class PromptOut:
    """A converted prompt: its ci-gate entry and the texts whose placeholders it uses."""

    id: str
    entry: dict[str, Any]
    texts: tuple[str, ...]


@dataclass(frozen=True)
class _Found:
    label: str | None
    stem: str
    body: str | list[Any]  # text, or chat messages as read
    where: Where  # the place of an offset into the text (a file's line when known)


def convert_prompts(source: Source, log: Log, ids: Ids) -> list[PromptOut]:
    """The prompts of the config, in order; ones that cannot be converted are logged."""
    at = source.config.at("prompts")
    raw = source.config.data.get("prompts")
    if raw is None:
        return []
    if isinstance(raw, str):
        items: list[tuple[Any, At]] = [(raw, at)]
    elif isinstance(raw, Mapping):  # the legacy map form: {path: label}
        items = [({"id": k, "label": v}, at.at(str(k))) for k, v in raw.items()]
    elif isinstance(raw, list):
        items = [(item, at.at(i)) for i, item in enumerate(raw)]
    else:
        log.skip(at.where(), "prompts", "prompts must be a list of texts, files or objects")
        return []
    out: list[PromptOut] = []
    for position, (item, item_at) in enumerate(items, 1):
        for found in _expand(item, item_at, source, log):
            if found.stem == "":  # inline text: named by its place in the list
                found = _Found(found.label, f"prompt-{position}", found.body, found.where)
            prompt = _prompt(found, item_at, log, ids)
            if prompt is not None:
                out.append(prompt)
    return out


def _expand(item: Any, at: At, source: Source, log: Log) -> list[_Found]:
    if isinstance(item, str):
        return _from_string(item, None, at, source, log)
    if not isinstance(item, Mapping):
        log.skip(at.where(), f"prompt {shown(item)}", "a prompt is a text, a file or an object")
        return []
    for key in item:
        if key not in ("id", "raw", "label", "display"):
            why = (
                "ci-gate sets model parameters on the target (params), for every prompt"
                if key == "config"
                else "ci-gate prompts have an id and their messages only"
            )
            log.skip(at.at(key).where(), f"prompt option {key!r}", why)
    label = item.get("label", item.get("display"))
    label = label if isinstance(label, str) else None
    if isinstance(item.get("raw"), str):
        return [_Found(label, "", item["raw"], lambda _: at.where())]
    if isinstance(item.get("id"), str):
        return _from_string(item["id"], label, at, source, log)
    log.skip(
        at.where(), "prompt without raw or id", "give the prompt's text as raw or a file as id"
    )
    return []


def _looks_like_file(text: str, source: Source) -> bool:
    """promptfoo reads a one-word prompt naming an existing file as that file."""
    return (
        "\n" not in text
        and " " not in text
        and bool(suffix(text))
        and source.path_of(text).is_file()
    )


def _from_string(text: str, label: str | None, at: At, source: Source, log: Log) -> list[_Found]:
    if not text.startswith(FILE_PREFIX) and not _looks_like_file(text, source):
        return [_Found(label, "", text, lambda _: at.where())]
    ref = text
    kind = suffix(ref)
    if kind in CODE_SUFFIXES:
        log.skip(
            at.where(),
            f"prompt function {shown(ref)}",
            "ci-gate prompts are templates, not code; write the prompt's text (or messages) "
            "with {{ var }} placeholders into suite.yaml",
        )
        return []
    if is_glob(ref):
        if "{" in ref:
            log.skip(
                at.where(),
                f"prompt glob {shown(ref)}",
                "brace patterns are not expanded; list the files one by one",
            )
            return []
        paths = source.glob(ref)
        if not paths:
            log.skip(at.where(), f"prompt glob {shown(ref)}", "it matches no file")
        found: list[_Found] = []
        for path in paths:
            found += _from_file(FILE_PREFIX + str(path), label, at, source, log)
        return found
    return _from_file(ref, label, at, source, log)


def _from_file(ref: str, label: str | None, at: At, source: Source, log: Log) -> list[_Found]:
    text, name = source.read(ref, at)
    stem = slug(Path(name).stem, 40) or "prompt"
    kind = suffix(ref)
    if kind == ".json":
        return [_Found(label, stem, _json_body(text, name), lambda _: name)]
    if kind in (".yaml", ".yml"):
        data = parse_doc(text, name).data
        body = data if _is_chat(data) else json.dumps(data, ensure_ascii=False)
        return [_Found(label, stem, body, lambda _: name)]
    if kind == ".jsonl":
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        return [
            _Found(
                label,
                f"{stem}-{i}" if len(lines) > 1 else stem,
                _json_body(line, name, n),
                _at_line(name, n),
            )
            for i, (n, line) in enumerate(lines, 1)
        ]
    if kind not in TEXT_SUFFIXES:
        log.note("read as a text prompt (promptfoo decides by the file extension)", name)
    parts = _split(text) if kind in (".txt", "") else [(1, text.strip())]
    return [
        _Found(label, f"{stem}-{i}" if len(parts) > 1 else stem, body, _lines(name, first, body))
        for i, (first, body) in enumerate(parts, 1)
        if body
    ]


def _at_line(name: str, line: int) -> Where:
    return lambda _: f"{name}:{line}"


def _lines(name: str, first: int, body: str) -> Where:
    return lambda offset: f"{name}:{first + body.count(chr(10), 0, offset)}"


def _split(text: str) -> list[tuple[int, str]]:
    """The prompts of a text file, separated by lines of ``---``, each with its first line."""
    parts: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 1
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() == DELIMITER:
            parts.append(_part(start, buffer))
            buffer, start = [], number + 1
        else:
            buffer.append(line)
    parts.append(_part(start, buffer))
    return [p for p in parts if p[1]]


def _part(start: int, lines: list[str]) -> tuple[int, str]:
    """Trimmed like promptfoo trims it, with the line its text starts on."""
    while lines and not lines[0].strip():
        lines, start = lines[1:], start + 1
    return start, "\n".join(lines).strip()


def _json_body(text: str, name: str, first_line: int = 1) -> str | list[Any]:
    data = parse_json(text, name, first_line)
    return data if _is_chat(data) else text.strip()


def _is_chat(data: Any) -> bool:
    return (
        isinstance(data, list)
        and bool(data)
        and all(isinstance(m, Mapping) and "role" in m for m in data)
    )


def _prompt(found: _Found, at: At, log: Log, ids: Ids) -> PromptOut | None:
    body = found.body
    if isinstance(body, str) and body.lstrip().startswith("["):
        try:
            parsed = json.loads(body)
        except json.JSONDecodeError:
            parsed = None
        if _is_chat(parsed):
            body = parsed
    wanted = (slug(found.label, 40) if found.label else "") or found.stem
    if isinstance(body, str):
        text = _template(body, found.where, log)
        prompt_id = ids.take(wanted)
        return PromptOut(prompt_id, {"id": prompt_id, "template": text}, (text,))
    messages = _messages(body, found, log)
    if messages is None:
        return None
    prompt_id = ids.take(wanted)
    return PromptOut(
        prompt_id,
        {"id": prompt_id, "messages": messages},
        tuple(m["content"] for m in messages),
    )


def _messages(body: list[Any], found: _Found, log: Log) -> list[dict[str, str]] | None:
    out: list[dict[str, str]] = []
    for index, message in enumerate(body):
        role, content = message.get("role"), message.get("content")
        if role == "developer":
            log.note("the 'developer' message became a 'system' message", found.where(0))
            role = "system"
        if role not in ROLES or not isinstance(content, str):
            what = (
                f"message {index + 1} with role {shown(role)}"
                if role not in ROLES
                else f"message {index + 1} with non-text content (images, files or parts)"
            )
            log.skip(
                found.where(0),
                f"chat prompt: {what}",
                "ci-gate prompts hold system, user and assistant messages of text; "
                "rewrite the prompt with those",
            )
            return None
        out.append({"role": role, "content": _template(content, found.where, log)})
    return out


def _template(text: str, where: Where, log: Log) -> str:
    converted = nunjucks.convert(text)
    for tag, offset in zip(converted.unsupported, converted.offsets, strict=False):
        log.skip(
            where(offset),
            f"Nunjucks {shown(tag)}",
            "ci-gate placeholders are plain {{ name }} or {{ a.b }} without filters, "
            "expressions or tags; put the computed value in a var and use {{ var }} "
            "(until then the text is sent as written)",
        )
    return converted.text
