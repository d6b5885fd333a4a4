"""The judge and embedder targets that promptfoo's model-graded assertions need.

promptfoo grades with ``defaultTest.options.provider`` (or an assertion's own ``provider``), else
with a default model it picks from the API keys it finds. In ci-gate a judge is a target of the
suite: each grader becomes one (``grader``, ``grader-MODEL``), created when an assertion first
needs it, and the default one becomes ``judge.target``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ci_gate.migrate.promptfoo_providers import convert_provider
from ci_gate.migrate.promptfoo_source import At, Doc, Ids, Log

DEFAULT_JUDGE = "openai:gpt-4.1"
DEFAULT_EMBEDDER = "openai:embedding:text-embedding-3-large"

Spec = tuple[Any, At]


class Graders:
    def __init__(self, log: Log, ids: Ids, default: Spec | None) -> None:
        self.log = log
        self.ids = ids
        self.targets: list[dict[str, Any]] = []
        self.prices: dict[str, dict[str, float]] = {}
        self.default_judge: str | None = None
        self._made: dict[tuple[bool, str], str] = {}
        self._text: Spec | None = None
        self._embedding: Spec | None = None
        if default is not None:
            raw, at = default
            if isinstance(raw, Mapping) and ("text" in raw or "embedding" in raw):
                self._text = (raw["text"], at.at("text")) if "text" in raw else None
                self._embedding = (
                    (raw["embedding"], at.at("embedding")) if "embedding" in raw else None
                )
            else:
                self._text = default

    def judge(self, override: Spec | None) -> str | None:
        """The id of the target that judges with ``override`` (an assertion's own provider), or
        None for the suite's default judge, which is made the first time it is needed."""
        if override is None:
            self._default_judge_id()
            return None
        made = self._target(override, "grader-", DEFAULT_JUDGE, embedding=False)
        return None if made == self.default_judge else made

    def embedder(self, override: Spec | None) -> str:
        spec = override if override is not None and _embeds(override[0]) else self._embedding
        return self._target(spec, "embedder", DEFAULT_EMBEDDER, embedding=True)

    def _default_judge_id(self) -> str:
        if self.default_judge is None:
            if self._text is None:
                self.log.note(
                    f"promptfoo picks its default grader from the API keys it finds; the suite "
                    f"judges with {DEFAULT_JUDGE.split(':')[-1]} (target 'grader'): change it there"
                )
            self.default_judge = self._target(self._text, "grader", DEFAULT_JUDGE, embedding=False)
        return self.default_judge

    def _target(self, spec: Spec | None, name: str, fallback: str, *, embedding: bool) -> str:
        """The target for ``spec``, made once. ``name`` is its id, or with a trailing ``-`` the
        start of an id that ends with the model's name (``grader-claude-3-5-haiku-latest``)."""
        raw, at = spec if spec is not None else (fallback, _NOWHERE)
        key = (embedding, json.dumps(raw, sort_keys=True, default=str))
        if key in self._made:
            return self._made[key]
        converted = convert_provider(raw, at, self.log, embedding=embedding)
        if converted is None:
            self.log.note(
                f"the grader could not be converted; the suite uses "
                f"{fallback.split(':')[-1]} in its place",
                at.where(),
            )
            converted = convert_provider(fallback, _NOWHERE, self.log, embedding=embedding)
        assert converted is not None  # the fallbacks always convert
        target_id = self.ids.take(name + converted.wanted if name.endswith("-") else name)
        self.targets.append({"id": target_id, **converted.entry})
        self.prices.update(converted.prices)
        self._made[key] = target_id
        return target_id


def _embeds(raw: Any) -> bool:
    pid = raw.get("id") if isinstance(raw, Mapping) else raw
    return isinstance(pid, str) and "embedding" in pid


_NOWHERE = At(Doc("", None), ())
