"""Operations ci-gate uses that the OpenAPI subset in shared/data leaves out, described the way
GitHub's full description (api.github.com.json) describes them, with ``$ref``s into the
subset's components. ``github_openapi`` serves them with ``in_subset=False``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _param(ref: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{ref}"}


def _json_response(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"description": "Response", "content": {"application/json": {"schema": schema}}}


SUPPLEMENT: Mapping[str, Mapping[str, Any]] = {
    "/user": {
        "get": {
            "operationId": "users/get-authenticated",
            "externalDocs": {
                "url": "https://docs.github.com/rest/users/users#get-the-authenticated-user"
            },
            "responses": {"200": _json_response({"$ref": "#/components/schemas/simple-user"})},
        }
    },
    "/repos/{owner}/{repo}": {
        "get": {
            "operationId": "repos/get",
            "externalDocs": {"url": "https://docs.github.com/rest/repos/repos#get-a-repository"},
            "parameters": [_param("owner"), _param("repo")],
            "responses": {"200": _json_response({"$ref": "#/components/schemas/repository"})},
        }
    },
    "/repos/{owner}/{repo}/pulls": {
        "get": {
            "operationId": "pulls/list",
            "externalDocs": {"url": "https://docs.github.com/rest/pulls/pulls#list-pull-requests"},
            "parameters": [
                _param("owner"),
                _param("repo"),
                {
                    "name": "state",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["open", "closed", "all"]},
                },
                {"name": "head", "in": "query", "schema": {"type": "string"}},
                {"name": "base", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "sort",
                    "in": "query",
                    "schema": {
                        "type": "string",
                        "enum": ["created", "updated", "popularity", "long-running"],
                    },
                },
                _param("direction"),
                _param("per-page"),
                _param("page"),
            ],
            "responses": {
                "200": _json_response(
                    {"type": "array", "items": {"$ref": "#/components/schemas/pull-request"}}
                )
            },
        }
    },
}
