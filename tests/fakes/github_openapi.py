"""GitHub's REST API description (the OpenAPI subset in shared/data), used by the fake GitHub
server to route requests and to reject those GitHub would not accept.

OpenAPI 3.0 schemas are not JSON Schema: ``nullable: true`` becomes a type union here, then
everything is validated with Draft 2020-12 through one registry, so ``$ref`` resolves inside the
file. A few operations ci-gate needs are missing from the subset (get a repository, list pull
requests, get the authenticated user); ``SUPPLEMENT`` describes them the same way, from GitHub's
full description, and their operations say ``in_subset=False``.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.fakes.github_supplement import SUPPLEMENT

SPEC_PATH = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "github-openapi"
    / "api.github.com.subset.json"
)
_URN = "urn:github-openapi"
_METHODS = ("get", "post", "put", "patch", "delete")
# Limits GitHub states only in prose ("max 100"): a client asking for more is relying on
# something GitHub does not promise, so the fake rejects it to make the mistake loud.
_QUERY_LIMITS: Mapping[str, Mapping[str, int]] = {
    "per_page": {"minimum": 1, "maximum": 100},
    "page": {"minimum": 1},
}


@dataclass(frozen=True)
class Param:
    name: str
    location: str  # "path" or "query"
    required: bool
    schema: Mapping[str, Any]
    multi_segment: bool


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str  # upper case
    template: str
    params: tuple[Param, ...]
    body_pointer: str | None  # where the request body schema is, in the registry
    body_required: bool
    responses: Mapping[int, str | None]  # status -> response schema pointer (None: no body)
    docs_url: str
    in_subset: bool
    pattern: re.Pattern[str]

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


@dataclass(frozen=True)
class Problem:
    """A way a request does not match the description. ``status`` is what GitHub answers
    (404, 422, 400), or 0 when GitHub silently ignores it (the fake still records it)."""

    where: str
    message: str
    status: int


def _to_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _to_json_schema(value) for key, value in node.items()}
    if out.pop("nullable", False) is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_FORMATS = jsonschema.FormatChecker(formats=())


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or re.match(r"^[a-z][a-z0-9+.-]*://\S+$", value) is not None


_FORMATS.checks("date-time")(_is_date_time)
_FORMATS.checks("uri")(_is_uri)


class ApiDescription:
    def __init__(
        self,
        document: Mapping[str, Any],
        supplement: Mapping[str, Mapping[str, Any]] = SUPPLEMENT,
    ) -> None:
        converted = _to_json_schema(copy.deepcopy(dict(document)))
        converted["x-supplement"] = _to_json_schema(copy.deepcopy(dict(supplement)))
        self._doc: Mapping[str, Any] = converted
        self._registry: Registry[Any] = Registry().with_resource(
            _URN, Resource.from_contents(converted, default_specification=DRAFT202012)
        )
        ops = [
            *self._load(converted["paths"], "paths", True),
            *self._load(converted["x-supplement"], "x-supplement", False),
        ]
        # Literal segments win over parameters: /issues/comments/{id} before /issues/{n}/...
        ops.sort(key=lambda op: -len(re.sub(r"\{[^}]+\}", "", op.template)))
        self.operations: tuple[Operation, ...] = tuple(ops)
        self._validators: dict[str, jsonschema.protocols.Validator] = {}

    # -- loading ----------------------------------------------------------------------------
    def _resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in node:
            ref = str(node["$ref"]).removeprefix("#/").split("/")
            target: Any = self._doc
            for part in ref:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _load(self, paths: Mapping[str, Any], root: str, in_subset: bool) -> list[Operation]:
        ops: list[Operation] = []
        for template, item in paths.items():
            for method in _METHODS:
                spec = item.get(method)
                if spec is None:
                    continue
                params = tuple(
                    self._params(item.get("parameters", []) + spec.get("parameters", []))
                )
                body_pointer = None
                body_required = False
                if "requestBody" in spec:
                    body = self._resolve(spec["requestBody"])
                    body_required = bool(body.get("required", False))
                    body_pointer = _pointer(
                        root,
                        template,
                        method,
                        "requestBody",
                        "content",
                        "application/json",
                        "schema",
                    )
                responses: dict[int, str | None] = {}
                for code, response in spec.get("responses", {}).items():
                    content = self._resolve(response).get("content", {})
                    media = "application/json" if "application/json" in content else None
                    media = media or next(iter(content), None)
                    where = (root, template, method, "responses", code, "content")
                    responses[int(code)] = (
                        None if media is None else _pointer(*where, media, "schema")
                    )
                ops.append(
                    Operation(
                        operation_id=spec["operationId"],
                        method=method.upper(),
                        template=template,
                        params=params,
                        body_pointer=body_pointer,
                        body_required=body_required,
                        responses=responses,
                        docs_url=spec.get("externalDocs", {}).get(
                            "url", "https://docs.github.com/rest"
                        ),
                        in_subset=in_subset,
                        pattern=_template_regex(template, params),
                    )
                )
        return ops

    def _params(self, raw: Sequence[Mapping[str, Any]]) -> list[Param]:
        out = []
        for item in raw:
            p = self._resolve(item)
            out.append(
                Param(
                    name=p["name"],
                    location=p["in"],
                    required=bool(p.get("required", False)),
                    schema=p.get("schema", {}),
                    multi_segment=bool(p.get("x-multi-segment", False)),
                )
            )
        return out

    # -- lookup -----------------------------------------------------------------------------
    def match(self, method: str, raw_path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation serving ``method raw_path`` (path still percent-encoded) and its
        decoded path parameters, or None (GitHub answers 404)."""
        for op in self.operations:
            if op.method != method.upper():
                continue
            found = op.pattern.fullmatch(raw_path)
            if found is not None:
                return op, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    def operation(self, operation_id: str) -> Operation:
        for op in self.operations:
            if op.operation_id == operation_id:
                return op
        raise KeyError(operation_id)

    # -- validation -------------------------------------------------------------------------
    def _validator(self, pointer: str) -> jsonschema.protocols.Validator:
        validator = self._validators.get(pointer)
        if validator is None:
            validator = jsonschema.Draft202012Validator(
                {"$ref": f"{_URN}#{pointer}"}, registry=self._registry, format_checker=_FORMATS
            )
            self._validators[pointer] = validator
        return validator

    def check_request(
        self,
        op: Operation,
        path_params: Mapping[str, str],
        query: Sequence[tuple[str, str]],
        body: Any,
        *,
        has_body: bool,
        body_is_json: bool = True,
    ) -> list[Problem]:
        problems: list[Problem] = []
        for param in op.params:
            if param.location == "path":
                value = path_params.get(param.name, "")
                if _coerce(value, param.schema) is _INVALID:
                    problems.append(Problem("path", f"{param.name}={value!r} is not valid", 404))
        problems.extend(self._check_query(op, query))
        if has_body and not body_is_json:
            problems.append(Problem("body", "Problems parsing JSON", 400))
        elif op.body_pointer is not None and (has_body or op.body_required):
            problems.extend(self._check_body(op, body if has_body else {}))
        elif has_body and op.method in ("GET", "DELETE") and body not in (None, {}):
            problems.append(Problem("body", "this operation takes no request body", 0))
        return problems

    def _check_query(self, op: Operation, query: Sequence[tuple[str, str]]) -> list[Problem]:
        problems = []
        seen: set[str] = set()
        for name, value in query:
            param = op.param(name)
            if param is None or param.location != "query":
                problems.append(Problem("query", f"unknown query parameter {name!r}", 0))
                continue
            if name in seen:
                problems.append(Problem("query", f"query parameter {name!r} repeated", 422))
            seen.add(name)
            schema = {**param.schema, **_QUERY_LIMITS.get(name, {})}
            coerced = _coerce(value, schema)
            if coerced is _INVALID:
                problems.append(Problem("query", f"{name}={value!r} is not a {_type(schema)}", 422))
                continue
            checker = jsonschema.Draft202012Validator(schema, format_checker=_FORMATS)
            for error in checker.iter_errors(coerced):
                problems.append(Problem("query", f"{name}: {error.message}", 422))
        for param in op.params:
            if param.location == "query" and param.required and param.name not in seen:
                problems.append(Problem("query", f"{param.name} is required", 422))
        return problems

    def _check_body(self, op: Operation, body: Any) -> list[Problem]:
        assert op.body_pointer is not None
        problems = [
            Problem("body", _github_message(error), 422)
            for error in self._validator(op.body_pointer).iter_errors(body)
        ]
        schema = self._resolve(self._at(op.body_pointer))
        known = schema.get("properties")
        open_ended = "additionalProperties" in schema
        if not problems and isinstance(body, dict) and isinstance(known, dict) and not open_ended:
            # GitHub ignores unknown keys; a client sending one almost always has a typo.
            problems.extend(
                Problem("body", f"unknown field {key!r} (GitHub ignores it)", 0)
                for key in body
                if key not in known
            )
        return problems

    def _at(self, pointer: str) -> Mapping[str, Any]:
        node: Any = self._doc
        for part in pointer.lstrip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        result: Mapping[str, Any] = node
        return result

    def response_schema(self, op: Operation, status: int) -> Mapping[str, Any] | None:
        pointer = op.responses.get(status)
        return None if pointer is None else self._at(pointer)

    def check_response(self, op: Operation, status: int, body: Any) -> list[str]:
        """Why ``body`` is not what the description promises for ``status`` (empty: it is)."""
        if status not in op.responses:
            return [f"{op.operation_id}: status {status} is not described"]
        pointer = op.responses[status]
        if pointer is None:
            return [] if body is None else [f"{op.operation_id}: {status} has no body"]
        return [
            f"{op.operation_id} {status} at {'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in self._validator(pointer).iter_errors(body)
        ]


_INVALID = object()


def _type(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type", "string")
    return str(kind[0] if isinstance(kind, list) else kind)


def _coerce(value: str, schema: Mapping[str, Any]) -> Any:
    kind = _type(schema)
    if kind == "integer":
        return int(value) if re.fullmatch(r"-?\d{1,18}", value) else _INVALID
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, _INVALID)
    return value


def _github_message(error: jsonschema.ValidationError) -> str:
    """A schema failure worded the way GitHub words it after ``Invalid request.``"""
    where = "/".join(f"properties/{p}" if isinstance(p, str) else str(p) for p in error.path)
    value = json.dumps(error.instance)[:200]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [k for k in error.validator_value if k not in error.instance]
        return " ".join(f'"{k}" wasn\'t supplied.' for k in missing)
    if error.validator == "type":
        kind = error.validator_value
        kind = kind[0] if isinstance(kind, list) else kind
        article = "an" if str(kind)[0] in "aeiou" else "a"
        return f"For '{where or 'links/0/schema'}', {value} is not {article} {kind}."
    return f"For '{where or 'links/0/schema'}', {error.message}"


def _template_regex(template: str, params: Sequence[Param]) -> re.Pattern[str]:
    multi = {p.name for p in params if p.multi_segment}
    out = []
    for piece in re.split(r"(\{[^}]+\})", template):
        if piece.startswith("{") and piece.endswith("}"):
            name = piece[1:-1]
            out.append(f"(?P<{name}>.*)" if name in multi else f"(?P<{name}>[^/]+)")
        else:
            out.append(re.escape(piece))
    return re.compile("".join(out))


@functools.lru_cache(maxsize=1)
def load_description() -> ApiDescription:
    """The shared subset (parsed once per process: validators are cached on it)."""
    return ApiDescription(json.loads(SPEC_PATH.read_text(encoding="utf-8")))
