"""The http, command, python and fake providers, and the registry that builds them."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
import threading
import time
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ci_gate.errors import ProviderConfigError
from ci_gate.providers.base import ProviderError, ProviderRequest, ProviderResponse
from ci_gate.providers.command import CommandProvider
from ci_gate.providers.fake import FakeProvider
from ci_gate.providers.http_target import HttpTargetProvider
from ci_gate.providers.python_fn import PythonProvider
from ci_gate.providers.registry import PROVIDERS, build_provider
from ci_gate.suite.model import Message, ProviderKind, Target
from tests.hostile_corpus import HOSTILE, SECRETS_IN_TEXT

TOKEN = "svc-token-0123456789-SECRET"


def target(provider: str, options: dict[str, Any], **changes: Any) -> Target:
    fields: dict[str, Any] = {
        "id": provider[:3],
        "provider": provider,
        "model": None,
        "params": {},
        "options": options,
        "timeout_s": 10.0,
    }
    fields.update(changes)
    return Target(**fields)


def request(text: str | None = "Can I get a refund?", **changes: Any) -> ProviderRequest:
    messages = () if text is None else (Message("system", "Be nice."), Message("user", text))
    fields: dict[str, Any] = {
        "case_id": "refund-01",
        "sample": 0,
        "vars": {"question": text or "none"},
        "messages": messages,
        "params": {"temperature": 0},
    }
    fields.update(changes)
    return ProviderRequest(**fields)


def run(coro: typing.Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


async def outcome(provider: Any, req: ProviderRequest) -> ProviderResponse | ProviderError:
    try:
        resp: ProviderResponse = await provider.call(req)
    except ProviderError as err:
        return err
    return resp


def error_of(provider: Any, req: ProviderRequest | None = None) -> ProviderError:
    result = run(outcome(provider, req or request()))
    assert isinstance(result, ProviderError), result
    return result


# -- http ---------------------------------------------------------------------------------------
HTTP_OPTIONS: dict[str, Any] = {
    "url": "http://svc.internal/answer?k=1",
    "headers": {"Authorization": "Bearer {{ env.SVC_TOKEN }}", "X-Case": "{{ case_id }}"},
    "body": {"question": "{{ vars.question }}", "history": "{{ messages }}", "n": "{{ sample }}"},
    "output_path": "answer.items.1.text",
    "usage_paths": {"input_tokens": "usage.in", "output_tokens": "usage.out"},
    "context_path": "sources",
}


def http_call(
    handler: Callable[[httpx.Request], httpx.Response],
    options: dict[str, Any] | None = None,
    req: ProviderRequest | None = None,
) -> ProviderResponse | ProviderError:
    async def go() -> ProviderResponse | ProviderError:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            provider = HttpTargetProvider(
                target("http", options or HTTP_OPTIONS), client, {"SVC_TOKEN": TOKEN, "HOME": "/x"}
            )
            return await outcome(provider, req or request())

    result: ProviderResponse | ProviderError = run(go())
    return result


def test_http_renders_headers_and_body_and_reads_paths() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(
            200,
            json={
                "answer": {"items": [{"text": "no"}, {"text": "30 days"}]},
                "usage": {"in": 12, "out": 3},
                "sources": ["policy.md"],
            },
        )

    resp = http_call(handler)
    assert isinstance(resp, ProviderResponse)
    assert resp.output == "30 days"
    assert (resp.input_tokens, resp.output_tokens) == (12, 3)
    assert resp.extra == {"context": ["policy.md"]}
    sent = seen[0]
    assert sent.method == "POST"
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["x-case"] == "refund-01"
    assert json.loads(sent.content) == {
        "question": "Can I get a refund?",
        "history": [
            {"role": "system", "content": "Be nice."},
            {"role": "user", "content": "Can I get a refund?"},
        ],
        "n": 0,
    }


def test_http_missing_output_path_names_path_and_keys() -> None:
    resp = http_call(lambda r: httpx.Response(200, json={"reply": "hi", "meta": {}}))
    assert isinstance(resp, ProviderError)
    assert resp.kind == "bad_response"
    assert "output_path answer.items.1.text not found" in resp.message
    assert "top-level keys: reply, meta" in resp.message


def test_http_non_string_output_and_null_output() -> None:
    options = {**HTTP_OPTIONS, "output_path": "answer"}
    ok = http_call(lambda r: httpx.Response(200, json={"answer": {"a": 1}}), options)
    assert isinstance(ok, ProviderResponse)
    assert ok.output == '{"a": 1}'
    assert (ok.input_tokens, ok.output_tokens) == (None, None)
    null = http_call(lambda r: httpx.Response(200, json={"answer": None}), options)
    assert isinstance(null, ProviderError)
    assert null.kind == "bad_response"


def test_http_default_body_is_the_request_and_get_has_none() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json={"answer": "ok"})

    base = {"url": "http://svc.internal/a", "output_path": "answer"}
    http_call(handler, base)
    http_call(handler, {**base, "method": "get"})
    assert json.loads(seen[0].content) == request().to_json()
    assert seen[1].method == "GET"
    assert seen[1].content == b""


def test_http_secret_echoed_in_error_body_is_scrubbed() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": f"bad token {req.headers['authorization']}"})

    err = http_call(handler)
    assert isinstance(err, ProviderError)
    assert err.kind == "client_error"
    assert TOKEN not in err.message
    assert "bad token" in err.message


def test_http_missing_env_var_fails_at_build() -> None:
    with pytest.raises(ProviderConfigError) as info:
        HttpTargetProvider(target("http", HTTP_OPTIONS), _unused(), {})
    assert "SVC_TOKEN is not set" in str(info.value)
    assert "targets[htt]" in str(info.value)


def test_http_render_failure_is_a_config_error_without_secrets() -> None:
    options = {**HTTP_OPTIONS, "body": {"q": "{{ vars.nope }}"}}
    err = http_call(lambda r: httpx.Response(200, json={}), options)
    assert isinstance(err, ProviderError)
    assert err.kind == "config"
    assert "vars.nope" in err.message


def test_http_cache_identity_leaves_out_headers_and_env() -> None:
    provider = HttpTargetProvider(target("http", HTTP_OPTIONS), _unused(), {"SVC_TOKEN": TOKEN})
    identity = provider.cache_identity()
    assert identity == {
        "provider": "http",
        "url": HTTP_OPTIONS["url"],
        "method": "POST",
        "body": HTTP_OPTIONS["body"],
        "output_path": "answer.items.1.text",
    }
    assert TOKEN not in json.dumps(identity)


def test_http_header_rendered_from_case_data_cannot_inject_headers() -> None:
    options = {**HTTP_OPTIONS, "headers": {"X-Q": "{{ vars.question }}"}}
    req = request("hi\r\nX-Evil: 1")
    err = http_call(lambda r: httpx.Response(200, json={}), options, req)
    assert isinstance(err, ProviderError)
    assert err.kind == "config"
    assert "header 'X-Q' cannot be sent" in err.message
    assert "X-Evil" not in err.message


def test_http_invalid_url_fails_at_build() -> None:
    with pytest.raises(ProviderConfigError, match="url must be an absolute http"):
        HttpTargetProvider(target("http", {**HTTP_OPTIONS, "url": "svc/answer"}), _unused(), {})


def test_http_requires_url_and_output_path() -> None:
    with pytest.raises(ProviderConfigError, match="output_path is required"):
        HttpTargetProvider(target("http", {"url": "http://x"}), _unused(), {})
    with pytest.raises(ProviderConfigError, match="url is required"):
        HttpTargetProvider(target("http", {"output_path": "a"}), _unused(), {})


def _unused() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))


# -- command ------------------------------------------------------------------------------------
def script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), "utf-8")
    return path


def command_target(tmp_path: Path, name: str, **options: Any) -> CommandProvider:
    tgt = target("command", {"command": [sys.executable, name], **options}, timeout_s=5.0)
    return CommandProvider(tgt, dict(os.environ), tmp_path)


def test_command_text_output(tmp_path: Path) -> None:
    script(
        tmp_path,
        "bot.py",
        """
        import json, sys
        req = json.load(sys.stdin)
        print("echo:", req["prompt"], req["case_id"], req["params"]["temperature"])
        """,
    )
    resp = run(command_target(tmp_path, "bot.py").call(request()))
    assert resp.output == "echo: Can I get a refund? refund-01 0"
    assert resp.latency_ms > 0


def test_command_json_output_and_cwd(tmp_path: Path) -> None:
    sub = tmp_path / "app"
    sub.mkdir()
    script(
        sub,
        "bot.py",
        """
        import json, os, sys
        json.load(sys.stdin)
        print(json.dumps({"output": os.path.basename(os.getcwd()),
                          "usage": {"input_tokens": 7, "output_tokens": 2},
                          "context": ["doc-1"]}))
        """,
    )
    provider = command_target(tmp_path, "bot.py", cwd="app", output="json")
    resp = run(provider.call(request()))
    assert resp.output == "app"
    assert (resp.input_tokens, resp.output_tokens) == (7, 2)
    assert resp.extra == {"context": ["doc-1"]}
    assert provider.cache_identity() == {
        "provider": "command",
        "command": [sys.executable, "bot.py"],
        "cwd": "app",
    }


def test_command_invalid_json_output(tmp_path: Path) -> None:
    script(tmp_path, "bot.py", "print('not json')\n")
    err = error_of(command_target(tmp_path, "bot.py", output="json"))
    assert err.kind == "bad_response"
    assert "invalid JSON" in err.message


def test_command_failure_reports_scrubbed_tail_of_stderr(tmp_path: Path) -> None:
    script(
        tmp_path,
        "bot.py",
        """
        import sys
        for i in range(200):
            print("noise line", i, "x" * 50, file=sys.stderr)
        print("Traceback: auth failed with key sk-live-ABCDEFGH12345678", file=sys.stderr)
        sys.exit(3)
        """,
    )
    err = error_of(command_target(tmp_path, "bot.py"))
    assert err.kind == "app_error"
    assert "exited 3" in err.message
    assert "auth failed with key ***" in err.message
    assert "sk-live" not in err.message
    assert len(err.message) < 600
    assert "\n" not in err.message


def test_command_timeout_kills_the_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script(
        tmp_path,
        "bot.py",
        f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(60)
        """,
    )
    provider = CommandProvider(
        target("command", {"command": [sys.executable, "bot.py"]}, timeout_s=1.0),
        dict(os.environ),
        tmp_path,
    )
    started = time.perf_counter()
    err = error_of(provider)
    assert err.kind == "timeout"
    assert time.perf_counter() - started < 5
    child = int(pid_file.read_text())
    assert _gone(child)


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie counts: it is dead, just not yet reaped)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.01)  # polling the kernel for a condition, bounded by the deadline
    return False


def test_command_missing_program_is_a_config_error(tmp_path: Path) -> None:
    tgt = target("command", {"command": ["no-such-program-xyz", "a"]})
    with pytest.raises(ProviderConfigError, match="no-such-program-xyz"):
        CommandProvider(tgt, dict(os.environ), tmp_path)
    with pytest.raises(ProviderConfigError, match="list of strings"):
        CommandProvider(target("command", {"command": "python3 bot.py"}), {}, tmp_path)


# -- python -------------------------------------------------------------------------------------
@pytest.fixture
def app_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(sys, "path", list(sys.path))
    directory = tmp_path / "src"
    directory.mkdir()
    name = f"app_{abs(hash(str(tmp_path)))}"
    (directory / f"{name}.py").write_text(
        textwrap.dedent(
            """
            import asyncio, threading

            def answer(req):
                return "sync:" + req["prompt"] + ":" + threading.current_thread().name

            async def rich(req):
                return {"output": {"answer": req["vars"]["question"]},
                        "usage": {"input_tokens": 3, "output_tokens": 4},
                        "context": ["kb-1"], "tool_calls": [{"name": "lookup"}], "model": "mine"}

            def broken(req):
                raise ValueError("cannot reach db with key sk-test-ABCDEFGH123456")

            def times_out(req):
                raise TimeoutError("my own timeout")

            async def slow(req):
                await asyncio.sleep(30)

            def wrong(req):
                return 42

            NOT_CALLABLE = 1
            """
        ),
        "utf-8",
    )
    (tmp_path / "module_name").write_text(name)
    return tmp_path


def py_target(app_dir: Path, fn: str, **changes: Any) -> PythonProvider:
    name = (app_dir / "module_name").read_text()
    tgt = target("python", {"function": f"{name}:{fn}", "path": "src"}, **changes)
    return PythonProvider(tgt, {}, app_dir)


def test_python_sync_function_runs_in_a_worker_thread(app_dir: Path) -> None:
    resp = run(py_target(app_dir, "answer").call(request()))
    assert resp.output.startswith("sync:Can I get a refund?:")
    assert not resp.output.endswith(threading.main_thread().name)


def test_python_async_function_returning_a_dict(app_dir: Path) -> None:
    resp = run(py_target(app_dir, "rich").call(request()))
    assert resp.output == '{"answer": "Can I get a refund?"}'
    assert (resp.input_tokens, resp.output_tokens) == (3, 4)
    assert resp.extra == {"context": ["kb-1"], "tool_calls": [{"name": "lookup"}]}
    assert resp.model == "mine"


def test_python_exception_is_an_app_error_without_traceback_or_key(app_dir: Path) -> None:
    err = error_of(py_target(app_dir, "broken"))
    assert err.kind == "app_error"
    assert err.message.endswith("broken raised ValueError: cannot reach db with key ***")
    assert "Traceback" not in err.message
    own = error_of(py_target(app_dir, "times_out"))
    assert own.kind == "app_error"  # the function's own TimeoutError is not our timeout


def test_python_timeout_and_bad_return(app_dir: Path) -> None:
    err = error_of(py_target(app_dir, "slow", timeout_s=0.2))
    assert err.kind == "timeout"
    wrong = error_of(py_target(app_dir, "wrong"))
    assert wrong.kind == "bad_response"
    assert "not int" in wrong.message


def test_python_import_failures_are_config_errors(app_dir: Path) -> None:
    with pytest.raises(ProviderConfigError) as info:
        PythonProvider(target("python", {"function": "nowhere_xyz.app:answer"}), {}, app_dir)
    assert "cannot import nowhere_xyz.app (ModuleNotFoundError" in str(info.value)
    assert "set path: in targets[pyt] to the directory that contains it" in str(info.value)
    (app_dir / "src" / "crashy_mod.py").write_text("raise RuntimeError('boom at import')\n")
    with pytest.raises(ProviderConfigError) as crash:
        PythonProvider(target("python", {"function": "crashy_mod:f", "path": "src"}), {}, app_dir)
    assert "RuntimeError: boom at import" in str(crash.value)
    assert "failed while being imported" in str(crash.value)
    with pytest.raises(ProviderConfigError, match="no attribute missing"):
        py_target(app_dir, "missing")
    with pytest.raises(ProviderConfigError, match="not callable"):
        py_target(app_dir, "NOT_CALLABLE")
    with pytest.raises(ProviderConfigError, match="module:function"):
        PythonProvider(target("python", {"function": "just_a_module"}), {}, app_dir)


def test_python_cache_identity(app_dir: Path) -> None:
    provider = py_target(app_dir, "answer")
    assert provider.cache_identity()["path"] == "src"
    assert str(provider.cache_identity()["function"]).endswith(":answer")


# -- fake ---------------------------------------------------------------------------------------
def fake(timeout_s: float = 10.0, **options: Any) -> FakeProvider:
    return FakeProvider(target("fake", options, timeout_s=timeout_s))


def test_fake_outputs_rules_and_echo() -> None:
    provider = fake(
        outputs={"refund-01": "We refund within 30 days."},
        rules=[{"match": "(?i)shipping", "output": "Ships in 2 days."}],
    )
    assert run(provider.call(request())).output == "We refund within 30 days."
    ruled = run(provider.call(request("What about SHIPPING?", case_id="c2")))
    assert ruled.output == "Ships in 2 days."
    echoed = run(provider.call(request("Hello there", case_id="c3")))
    assert echoed.output == "Hello there"
    assert echoed.model == "fake-model"
    assert echoed.input_tokens == 5  # ceil(len("Be nice." + "Hello there") / 4)
    assert echoed.output_tokens == 3


def test_fake_without_prompt_uses_vars_json_and_literal_default() -> None:
    req = request(None, case_id="v1", vars={"b": 1, "a": "refund"})
    assert run(fake().call(req)).output == '{"a": "refund", "b": 1}'
    assert run(fake(rules=[{"match": "refund", "output": "R"}]).call(req)).output == "R"
    assert run(fake(default_output="I don't know").call(req)).output == "I don't know"


def test_fake_errors_are_deterministic_and_retries_can_succeed() -> None:
    def attempts(provider: FakeProvider, case: str) -> list[str]:
        kinds: list[str] = []
        for _ in range(6):
            result = run(outcome(provider, request(case_id=case)))
            kinds.append(result.kind if isinstance(result, ProviderError) else "ok")
        return kinds

    cases = [f"c{i}" for i in range(20)]
    first = {c: attempts(fake(error_rate=0.5, seed=7), c) for c in cases}
    again = {c: attempts(fake(error_rate=0.5, seed=7), c) for c in cases}
    other_seed = {c: attempts(fake(error_rate=0.5, seed=8), c) for c in cases}
    assert first == again
    assert first != other_seed
    flat = [k for kinds in first.values() for k in kinds]
    assert set(flat) == {"ok", "server_error"}
    # Some case failed first and then succeeded on a later attempt.
    assert any(k[0] == "server_error" and "ok" in k for k in first.values())


def test_fake_always_failing_kind_and_status() -> None:
    err = error_of(fake(error_rate=1.0, error_kind="rate_limited"))
    assert err.kind == "rate_limited"
    assert err.status == 429
    assert err.retryable


def test_fake_latency_is_deterministic_and_bounded() -> None:
    options: dict[str, Any] = {"latency_ms": {"mean": 20, "jitter": 10}, "seed": 3}
    reqs = [request(case_id=f"c{i}") for i in range(5)]
    first = [run(fake(**options).call(r)).latency_ms for r in reqs]
    again = [run(fake(**options).call(r)).latency_ms for r in reqs]
    assert first == again
    assert all(10 <= x <= 30 for x in first)
    assert len(set(first)) > 1


def test_fake_latency_beyond_timeout_is_a_timeout() -> None:
    started = time.perf_counter()
    err = error_of(fake(latency_ms=5000, timeout_s=0.05))
    assert err.kind == "timeout"
    assert time.perf_counter() - started < 1


def test_fake_config_errors_and_identity() -> None:
    with pytest.raises(ProviderConfigError, match=r"rules\[0\].match is not a valid regex"):
        fake(rules=[{"match": "(", "output": "x"}])
    with pytest.raises(ProviderConfigError, match="error_kind"):
        fake(error_kind="budget")
    with pytest.raises(ProviderConfigError, match="latency_ms"):
        fake(latency_ms="fast")
    identity = fake(outputs={"a": "b"}, seed=1).cache_identity()
    assert identity == {
        "provider": "fake",
        "model": "fake-model",
        "options": {"outputs": {"a": "b"}, "seed": 1},
    }


# -- registry -----------------------------------------------------------------------------------
def test_registry_covers_every_provider_kind() -> None:
    assert set(PROVIDERS) == set(typing.get_args(ProviderKind))


def test_build_provider_for_each_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    (tmp_path / "regbot.py").write_text("def answer(req):\n    return 'hi'\n")
    env = {"OPENAI_API_KEY": "k1", "ANTHROPIC_API_KEY": "k2", "PATH": os.environ["PATH"]}
    targets = {
        "openai": target("openai", {}, model="gpt-4o-mini"),
        "anthropic": target("anthropic", {}, model="claude-3-5-haiku-latest"),
        "http": target("http", {"url": "http://x/", "output_path": "a"}),
        "command": target("command", {"command": [sys.executable, "-c", "print(1)"]}),
        "python": target("python", {"function": "regbot:answer", "path": "."}),
        "fake": target("fake", {}),
    }
    client = _unused()
    for kind, tgt in targets.items():
        provider = build_provider(tgt, client, env, tmp_path)
        assert provider.target is tgt
        assert provider.cache_identity()["provider"] == kind
    assert run(build_provider(targets["python"], client, env, tmp_path).call(request())).output == (
        "hi"
    )


def test_build_provider_unknown_and_missing_key(tmp_path: Path) -> None:
    with pytest.raises(ProviderConfigError, match="unknown provider 'bard'"):
        build_provider(target("bard", {}), _unused(), {}, tmp_path)
    with pytest.raises(ProviderConfigError, match="export OPENAI_API_KEY="):
        build_provider(target("openai", {}, model="m"), _unused(), {}, tmp_path)


# -- conftest -----------------------------------------------------------------------------------
def test_environment_is_isolated_from_real_credentials(tmp_path: Path) -> None:
    leaked = [
        name
        for name in os.environ
        if name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GITHUB_TOKEN", "GH_TOKEN")
        or name.startswith(("GITHUB_", "INPUT_"))
    ]
    assert leaked == []
    assert Path(os.environ["CI_GATE_CACHE_DIR"]).parent == tmp_path


# -- hostile text -------------------------------------------------------------------------------
def test_hostile_case_text_never_breaks_a_provider(tmp_path: Path) -> None:
    """Every piece of hostile text as a prompt: a response or a ProviderError, nothing else."""
    script(
        tmp_path,
        "echo.py",
        """
        import json, sys
        print(json.dumps({"output": json.load(sys.stdin)["prompt"]}))
        """,
    )
    options = {
        "url": "http://svc.internal/a",
        "headers": {"X-Q": "{{ prompt }}"},
        "body": {"q": "{{ prompt }}", "vars": "{{ vars }}"},
        "output_path": "echo.q",
    }

    def echo(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"echo": json.loads(req.content)})

    async def go() -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        async with httpx.AsyncClient(transport=httpx.MockTransport(echo)) as client:
            http = HttpTargetProvider(target("http", options), client, {})
            echo_fake = fake()
            command = command_target(tmp_path, "echo.py", output="json")
            for i, text in enumerate(HOSTILE):
                req = request(text, case_id=f"h{i}", vars={"question": text})
                for provider in (http, echo_fake):
                    out.append((text, await outcome(provider, req)))
                if i % 10 == 0:  # a process per call: a sample keeps the test fast
                    out.append((text, await outcome(command, req)))
        return out

    results = run(go())
    assert len(results) > 2 * len(HOSTILE)
    for text, result in results:
        assert isinstance(result, ProviderResponse | ProviderError), (text, result)
        if isinstance(result, ProviderError):
            # Only a header that cannot carry the text is refused, and it says so.
            assert result.kind == "config" and "header 'X-Q'" in result.message, text
        else:
            assert result.output == text, text


def test_secrets_in_text_are_scrubbed_from_app_errors(tmp_path: Path) -> None:
    script(
        tmp_path,
        "leak.py",
        """
        import json, sys
        print(json.load(sys.stdin)["prompt"], file=sys.stderr)
        sys.exit(1)
        """,
    )
    provider = command_target(tmp_path, "leak.py")
    for secret in SECRETS_IN_TEXT:
        err = error_of(provider, request(secret))
        assert err.kind == "app_error"
        payload = secret.split()[-1].split("_", 1)[-1][6:]
        assert payload not in err.message, (secret, err.message)
