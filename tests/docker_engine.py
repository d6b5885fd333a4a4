"""A real Docker engine for tests that run ci-gate's action container as the GitHub runner does.

``.ci/docker-setup`` starts a private dockerd and makes an offline base image (no registry is
reachable here); this module finds that engine, builds the action's image from the repository's
Dockerfile on it (again only when the build inputs change), and runs containers with the runner's
``docker run`` conventions. Use the ``docker_image`` fixture from a test file with
``from tests.docker_engine import docker_image_fixture  # noqa: F401`` and ask for
``docker_image`` by name.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[1]
STATE_DIR = Path(os.environ.get("CI_GATE_DOCKER_DIR", "/var/tmp/ci-gate-docker"))
HOST_FILE = STATE_DIR / "host"  # written by .ci/docker-setup when the engine is ready
REASON_FILE = STATE_DIR / "unavailable"  # written by .ci/docker-setup when it is not
BASE_IMAGE = "ci-gate-test-base:local"
IMAGE_REPOSITORY = "ci-gate-test"
INPUTS_LABEL = "ci-gate.test-inputs"
WORKSPACE = "/github/workspace"
BUILD_TIMEOUT_S = 300.0


class EngineUnavailable(Exception):
    """No usable Docker engine or base image; the message says why (tests skip with it)."""


@dataclass(frozen=True)
class Engine:
    """A docker CLI bound to one engine address (``unix:///...``)."""

    docker: str
    host: str

    def command(
        self, args: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "DOCKER_HOST": self.host, **(env or {})}
        return subprocess.run(
            [self.docker, *args],
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def image_id(self, image: str) -> str | None:
        done = self.command(["image", "inspect", "--format", "{{.Id}}", image], timeout=30)
        return done.stdout.strip() if done.returncode == 0 else None


def locate_engine() -> Engine:
    """The engine named by CI_GATE_DOCKER_HOST or by .ci/docker-setup, checked to answer."""
    host = os.environ.get("CI_GATE_DOCKER_HOST", "").strip()
    if not host and HOST_FILE.is_file():
        host = HOST_FILE.read_text(encoding="utf-8").strip()
    if not host:
        if REASON_FILE.is_file():
            raise EngineUnavailable(REASON_FILE.read_text(encoding="utf-8").strip())
        raise EngineUnavailable(f"no {HOST_FILE}: run .ci/docker-setup (as root) first")
    docker = shutil.which("docker")
    if docker is None:
        raise EngineUnavailable("no docker command on PATH: run .ci/docker-setup")
    engine = Engine(docker=docker, host=host)
    try:
        done = engine.command(["version", "--format", "{{.Server.Version}}"], timeout=20)
    except subprocess.TimeoutExpired:
        raise EngineUnavailable(f"{host} did not answer in 20 s: run .ci/docker-setup") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise EngineUnavailable(f"{host} does not answer ({last}): run .ci/docker-setup")
    return engine


# --- what the image is built from --------------------------------------------------------------


@dataclass(frozen=True)
class _IgnoreRule:
    pattern: str
    regex: re.Pattern[str]
    keep: bool  # a `!pattern` exception


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker reads it: `*` within a segment, `**` across segments."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def _ignore_rules(root: Path) -> list[_IgnoreRule]:
    path = root / ".dockerignore"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    rules = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        keep = text.startswith("!")
        pattern = os.path.normpath(text.removeprefix("!").strip()).lstrip("/")
        rules.append(_IgnoreRule(pattern, _pattern_regex(pattern), keep))
    return rules


def _ignored(rules: Sequence[_IgnoreRule], relative: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for rule in rules:
        if any(rule.regex.fullmatch(c) for c in candidates):
            ignored = not rule.keep
    return ignored


def _may_keep_below(rules: Sequence[_IgnoreRule], directory: str) -> bool:
    """Whether an exception could re-include something inside an ignored directory."""
    return any(
        rule.keep and (rule.pattern.startswith(directory + "/") or rule.pattern[:1] in "*?[")
        for rule in rules
    )


def build_context_files(root: Path = ROOT) -> list[str]:
    """The files `docker build` sends from ROOT, sorted, relative, .dockerignore applied."""
    rules = _ignore_rules(root)
    found = []
    for directory, subdirs, files in os.walk(root):
        base = Path(directory).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        # Skipping ignored trees (.git, virtualenvs) keeps this fast; it never changes the answer.
        subdirs[:] = [
            d
            for d in subdirs
            if not _ignored(rules, prefix + d) or _may_keep_below(rules, prefix + d)
        ]
        found += [prefix + f for f in files if not _ignored(rules, prefix + f)]
    # Docker always sends these two, whatever .dockerignore says.
    always = [name for name in ("Dockerfile", ".dockerignore") if (root / name).is_file()]
    return sorted({*found, *always})


def build_inputs_digest(root: Path, base_image_id: str) -> str:
    """A digest of everything the image depends on: the base image and the build context."""
    digest = hashlib.sha256(f"base {base_image_id}\n".encode())
    for relative in build_context_files(root):
        path = root / relative
        digest.update(f"{relative}\0{os.access(path, os.X_OK)}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


# --- the image and its containers --------------------------------------------------------------


@dataclass(frozen=True)
class DockerImage:
    """ci-gate's action image on a local engine, run with the GitHub runner's conventions."""

    engine: Engine
    tag: str

    def inspect(self) -> dict[str, Any]:
        done = self.engine.command(["image", "inspect", self.tag], timeout=30)
        assert done.returncode == 0, done.stderr
        found = json.loads(done.stdout)
        assert isinstance(found, list) and isinstance(found[0], dict)
        return found[0]

    def run(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        mounts: Mapping[str | os.PathLike[str], str] | None = None,
        network_host: bool = True,
        timeout: float = 60.0,
        entrypoint: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """`docker run --rm` as the runner does it: working directory /github/workspace, the
        image's entrypoint (unless ENTRYPOINT is given, like `runs.entrypoint` in action.yml),
        ARGS as its arguments, ENV as `-e`, MOUNTS as host path -> container path binds.

        NETWORK_HOST lets the container reach servers the test started on 127.0.0.1; without it
        the container has no network at all. stdout and stderr are captured as text.
        """
        name = f"{IMAGE_REPOSITORY}-{uuid.uuid4().hex[:12]}"
        argv = ["run", "--rm", "--name", name, "--workdir", WORKSPACE]
        argv += ["--network", "host" if network_host else "none"]
        for key, value in (env or {}).items():
            argv += ["-e", f"{key}={value}"]
        for host_path, container_path in (mounts or {}).items():
            source = Path(host_path).resolve(strict=True)
            if "," in str(source) or "," in container_path:
                raise ValueError(f"mount paths with commas are not supported: {source}")
            argv += ["--mount", f"type=bind,source={source},target={container_path}"]
        if entrypoint is not None:
            argv += ["--entrypoint", entrypoint]
        try:
            return self.engine.command([*argv, self.tag, *args], timeout=timeout)
        except subprocess.TimeoutExpired:
            # Killing the CLI leaves the container running; remove it so nothing outlives the test.
            self.engine.command(["rm", "--force", name], timeout=30)
            raise


def build_image(engine: Engine, root: Path = ROOT, *, base_image: str = BASE_IMAGE) -> DockerImage:
    """The action image built from ROOT's Dockerfile over BASE_IMAGE; reused while its inputs
    are unchanged. Older test images are removed so they do not pile up."""
    base_id = engine.image_id(base_image)
    if base_id is None:
        raise EngineUnavailable(f"no {base_image} image on {engine.host}: run .ci/docker-setup")
    digest = build_inputs_digest(root, base_id)
    tag = f"{IMAGE_REPOSITORY}:{digest}"
    if engine.image_id(tag) is None:
        done = engine.command(
            [
                *("build", "--network", "host", "--build-arg", f"BASE_IMAGE={base_image}"),
                *("--label", f"{INPUTS_LABEL}={digest}", "--tag", tag),
                *("--file", str(root / "Dockerfile"), str(root)),
            ],
            timeout=BUILD_TIMEOUT_S,
            # The legacy builder: BuildKit would need the buildx plugin, which docker.io lacks.
            env={"DOCKER_BUILDKIT": "0"},
        )
        if done.returncode != 0:
            raise AssertionError(f"docker build of {tag} failed:\n{done.stdout}\n{done.stderr}")
        _remove_other_test_images(engine, keep=tag)
    return DockerImage(engine=engine, tag=tag)


def _remove_other_test_images(engine: Engine, *, keep: str) -> None:
    listed = engine.command(
        [
            "image",
            "ls",
            "--filter",
            f"label={INPUTS_LABEL}",
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ],
        timeout=30,
    )
    stale = [name for name in listed.stdout.split() if name != keep and "<none>" not in name]
    if stale:
        # An image still used by a running container stays; that is fine.
        engine.command(["image", "rm", *stale], timeout=60)


@pytest.fixture(scope="session", name="docker_image")
def docker_image_fixture() -> Iterator[DockerImage]:
    """The action image on the local engine; skips the test when there is no engine."""
    try:
        engine = locate_engine()
        image = build_image(engine)
    except EngineUnavailable as exc:
        pytest.skip(f"no Docker engine: {exc}")
    yield image


# --- the runner's side of a container action ---------------------------------------------------

# The runner's file commands (it appends a per-step id to each name; the action never cares).
FILE_COMMANDS = {
    "GITHUB_OUTPUT": "set_output",
    "GITHUB_STEP_SUMMARY": "step_summary",
    "GITHUB_ENV": "set_env",
    "GITHUB_PATH": "add_path",
    "GITHUB_STATE": "save_state",
}


def runner_like_env(
    workspace_in_container: str = WORKSPACE,
    *,
    event_name: str = "push",
    repository: str = "octo-org/octo-repo",
    sha: str = "0" * 40,
    ref: str = "refs/heads/main",
    head_ref: str = "",
    base_ref: str = "",
    api_url: str = "https://api.github.com",
    server_url: str = "https://github.com",
    run_id: str = "1",
) -> dict[str, str]:
    """The variables the runner gives a container action, with paths as the container sees them.

    The runner translates paths under its mounts (workspace, _github_home, _github_workflow,
    _runner_file_commands) to /github/...; RUNNER_TEMP and RUNNER_TOOL_CACHE are not under a
    mount, so they reach the container unchanged and do not exist there, as on GitHub.
    """
    owner, _, name = repository.partition("/")
    env = {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "HOME": "/github/home",
        "GITHUB_WORKSPACE": workspace_in_container,
        "GITHUB_EVENT_PATH": "/github/workflow/event.json",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_REPOSITORY": repository,
        "GITHUB_REPOSITORY_OWNER": owner,
        "GITHUB_SHA": sha,
        "GITHUB_REF": ref,
        # refs/heads/main -> main, refs/pull/7/merge -> 7/merge, as the runner shortens them.
        "GITHUB_REF_NAME": re.sub(r"^refs/(?:heads|tags|pull)/", "", ref),
        "GITHUB_REF_TYPE": "tag" if ref.startswith("refs/tags/") else "branch",
        "GITHUB_HEAD_REF": head_ref,
        "GITHUB_BASE_REF": base_ref,
        "GITHUB_API_URL": api_url,
        "GITHUB_SERVER_URL": server_url,
        "GITHUB_GRAPHQL_URL": f"{api_url}/graphql",
        "GITHUB_RUN_ID": run_id,
        "GITHUB_RUN_NUMBER": "1",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_JOB": "eval",
        "GITHUB_WORKFLOW": "ci-gate",
        "GITHUB_ACTION": "__ci-gate_ci-gate",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_RETENTION_DAYS": "90",
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "ARM64" if platform.machine() in ("aarch64", "arm64") else "X64",
        "RUNNER_NAME": "GitHub Actions 1",
        "RUNNER_ENVIRONMENT": "github-hosted",
        "RUNNER_TEMP": "/home/runner/work/_temp",
        "RUNNER_TOOL_CACHE": "/opt/hostedtoolcache",
        "RUNNER_WORKSPACE": f"/home/runner/work/{name}",
    }
    env.update({var: f"/github/file_commands/{file}" for var, file in FILE_COMMANDS.items()})
    return env


def input_env(inputs: Mapping[str, str]) -> dict[str, str]:
    """Action inputs as the runner passes them: INPUT_<NAME upper-cased, hyphens kept>."""
    return {f"INPUT_{key.replace(' ', '_').upper()}": value for key, value in inputs.items()}


@dataclass(frozen=True)
class RunnerDirs:
    """The host folders the runner binds into a container action, laid out as it does under
    RUNNER_TEMP. (It also binds /var/run/docker.sock, which ci-gate does not use.)"""

    workspace: Path
    home: Path
    workflow: Path
    file_commands: Path

    @classmethod
    def create(
        cls, temp: Path, workspace: Path, event: Mapping[str, Any] | None = None
    ) -> RunnerDirs:
        dirs = cls(
            workspace=workspace,
            home=temp / "_github_home",
            workflow=temp / "_github_workflow",
            file_commands=temp / "_runner_file_commands",
        )
        for folder in (workspace, dirs.home, dirs.workflow, dirs.file_commands):
            folder.mkdir(parents=True, exist_ok=True)
        (dirs.workflow / "event.json").write_text(json.dumps(event or {}), encoding="utf-8")
        # The runner creates the file-command files empty before the step starts.
        for file in FILE_COMMANDS.values():
            (dirs.file_commands / file).touch()
        return dirs

    def mounts(self) -> dict[str | os.PathLike[str], str]:
        return {
            self.home: "/github/home",
            self.workflow: "/github/workflow",
            self.file_commands: "/github/file_commands",
            self.workspace: WORKSPACE,
        }

    def file_command(self, variable: str) -> Path:
        """The host side of a file command, e.g. file_command("GITHUB_OUTPUT")."""
        return self.file_commands / FILE_COMMANDS[variable]
