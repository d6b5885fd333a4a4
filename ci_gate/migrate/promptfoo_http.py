"""promptfoo's HTTP provider as a ci-gate ``http`` target.

The response path must be a plain ``json.a.b[0]`` (or ``(json) => json.a.b``): ci-gate's target
takes its output from a dotted path, and runs no JavaScript. Body and header templates see
``{{ prompt }}``, ``{{ env.NAME }}`` and the vars by name in promptfoo; in ci-gate the vars are
``{{ vars.NAME }}``. The URL is used as written in ci-gate, so a templated URL is not converted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ci_gate.migrate import promptfoo_nunjucks as nunjucks
from ci_gate.migrate.promptfoo_source import At, Log, is_credential, shown

_JS_PATH = r"((?:\.[A-Za-z_$][\w$]*|\[\d+\]|\[['\"][\w-]+['\"]\])*)"
_TRANSFORM = re.compile(rf"^\s*json{_JS_PATH}\s*;?\s*$")
_ARROW = re.compile(rf"^\s*\(?\s*(\w+)\s*(?:,\s*\w+\s*)*\)?\s*=>\s*\1{_JS_PATH}\s*;?\s*$")
_STEP = re.compile(r"\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\[(['\"])([\w-]+)\3\]")


@dataclass(frozen=True)
class Converted:
    """A target without its id, and the id it would like."""

    wanted: str
    entry: dict[str, Any]
    prices: dict[str, dict[str, float]]


def convert_http(pid: str, config: Mapping[str, Any], at: At, log: Log) -> Converted | None:
    where = at.at("config")
    url = config.get("url") if pid in ("http", "https") else pid
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        log.skip(at.where(), f"provider {shown(pid)}", "no url to call")
        return None
    parts = urlsplit(url)
    if (
        parts.username
        or parts.password
        or any(is_credential(k, v) for k, v in parse_qsl(parts.query))
    ):
        log.skip(
            where.at("url").where(),
            "a url with a credential in it",
            "ci-gate never keeps credentials in the suite: send it in a header set to "
            '"{{ env.NAME }}" and export NAME (rotate it if the config was committed)',
        )
        return None
    if nunjucks.has_template(url):
        log.skip(
            where.at("url").where(),
            f"templated url {shown(url)}",
            "ci-gate uses an http target's url as written, so that no var can carry a "
            "host or a secret into it; put the varying part in the body",
        )
        return None
    path = _output_path(config.get("transformResponse", config.get("responseParser")))
    if path is None:
        log.skip(
            where.at("transformResponse").where(),
            f"http provider {shown(url)} without a plain response path",
            "ci-gate's http target takes the output from a dotted path in the response JSON "
            "(output_path); write it by hand, or answer with a python target",
        )
        return None
    entry: dict[str, Any] = {"provider": "http", "url": url}
    method = str(config.get("method", "POST")).upper()
    if method not in ("GET", "POST", "PUT", "PATCH"):
        log.skip(where.at("method").where(), f"method {method}", "use GET, POST, PUT or PATCH")
    else:
        entry["method"] = method
    for key, value in config.items():
        if key in ("url", "method", "transformResponse", "responseParser"):
            continue
        if key == "headers" and isinstance(value, Mapping):
            entry["headers"] = {
                str(k): _http_template(str(v), where.at(key, str(k)), log)
                for k, v in value.items()
                if not _credential(str(k), v, where.at(key, str(k)), log)
            }
        elif key == "body" and not isinstance(value, str):
            entry["body"] = _http_json(value, where.at(key), log)
        elif key == "queryParams" and isinstance(value, Mapping):
            query = _query(value, where.at(key), log)
            if query:
                entry["url"] = entry["url"] + ("&" if "?" in url else "?") + urlencode(query)
        else:
            log.skip(
                where.at(key).where(),
                f"http option {key!r}",
                "ci-gate's http target sends a JSON body built from a template, with "
                "headers; see docs/suite.md",
            )
    entry["output_path"] = path
    return Converted("http", entry, {})


def _output_path(transform: Any) -> str | None:
    """``json.a.b[0]`` or ``(json) => json.a.b[0]`` as the dotted path ``a.b.0``."""
    if not isinstance(transform, str):
        return None
    match = _TRANSFORM.match(transform) or _ARROW.match(transform)
    if match is None:
        return None
    steps = match.group(1) if match.re is _TRANSFORM else match.group(2)
    parts = [s.group(1) or s.group(2) or s.group(4) for s in _STEP.finditer(steps)]
    return ".".join(parts) or None


def _http_template(text: str, at: At, log: Log) -> str:
    """promptfoo's http templates see the prompt, env and the vars by name; ci-gate's see
    ``prompt``, ``env`` and ``vars.NAME``."""

    def rename(path: str) -> str:
        root = path.split(".")[0]
        return path if root in ("prompt", "env") else f"vars.{path}"

    converted = nunjucks.convert(text, rename, reserved=frozenset({"_conversation"}))
    for tag in converted.unsupported:
        log.skip(
            at.where(),
            f"Nunjucks {shown(tag)}",
            "http templates in ci-gate are plain {{ vars.name }}, {{ prompt }} or "
            "{{ env.NAME }}; the text is sent as written",
        )
    return converted.text


def _query(params: Mapping[str, Any], at: At, log: Log) -> dict[str, str]:
    """Static query parameters, appended to the url; templated ones cannot be (the url is used
    as written)."""
    out: dict[str, str] = {}
    for name, value in params.items():
        if _credential(str(name), value, at.at(str(name)), log):
            continue
        if nunjucks.has_template(str(value)):
            log.skip(
                at.at(str(name)).where(),
                f"templated query parameter {shown(str(name))}",
                "ci-gate uses an http target's url as written; send the value in the body",
            )
            continue
        out[str(name)] = str(value)
    return out


def _credential(name: str, value: Any, at: At, log: Log, *, by_name: bool = True) -> bool:
    """Whether ``value`` is a credential, which is listed (never its value) and left out."""
    if not is_credential(name, value, by_name=by_name):
        return False
    log.skip(
        at.where(),
        f"a credential written in the config ({shown(name)})",
        'ci-gate never keeps credentials in the suite: write "{{ env.NAME }}" in its place '
        "and export NAME (rotate it if the config was committed)",
    )
    return True


def _http_json(value: Any, at: At, log: Log) -> Any:
    if isinstance(value, str):
        return _http_template(value, at, log)
    if isinstance(value, Mapping):
        # Body field names are the service's own ("author"...): only key-shaped values count.
        return {
            str(k): _http_json(v, at.at(str(k)), log)
            for k, v in value.items()
            if not _credential(str(k), v, at.at(str(k)), log, by_name=False)
        }
    if isinstance(value, list):
        return [_http_json(v, at.at(i), log) for i, v in enumerate(value)]
    return value
