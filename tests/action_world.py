"""A repository, its origin and GitHub's view of it, for driving ``ci-gate action`` end to end.

The event payloads are GitHub's real webhook payloads from shared/data, with the commit SHAs
(and branch names) pointed at the commits of a real git repository made by the test: the
runner's ``GITHUB_SHA`` always names a commit of the checkout, and so must the payload.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ci_gate.commands.action import cmd_action
from tests.fakes.github_server import WRITE_TOKEN, GitHubServer

ROOT = Path(__file__).resolve().parents[1]
WEBHOOKS = ROOT.parent / "shared" / "data" / "webhooks"
EXAMPLE = ROOT / "examples" / "support-bot"
SUITE = "evals/suite.yaml"
FORK_OWNER = "leodido"


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=dev", "-c", "user.email=dev@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((WEBHOOKS / name).read_text("utf-8"))
    return data


@dataclass
class StepResult:
    code: int
    log: str
    outputs: dict[str, str]
    summary: str


@dataclass
class World:
    """``origin.git`` (bare), ``work`` (the checkout the runner made), a fake GitHub."""

    root: Path
    gh: GitHubServer
    owner: str = "Codertocat"
    name: str = "Hello-World"
    default_branch: str = "master"
    shas: dict[str, str] = field(default_factory=dict)
    runs: int = 0

    @property
    def repo(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def origin(self) -> Path:
        return self.root / "origin.git"

    def create(self) -> None:
        git(self.root, "init", "--quiet", "--bare", "-b", self.default_branch, str(self.origin))
        git(self.root, "clone", "--quiet", str(self.origin), str(self.work))
        shutil.copytree(EXAMPLE, self.work / "evals")
        (self.work / ".gitignore").write_text("ci-gate-out/\n.ci-gate/\n__pycache__/\n")
        self.commit("main", "the support bot and its eval suite")
        git(self.work, "push", "--quiet", "origin", self.default_branch)
        self.gh.add_repo(self.owner, self.name, self.default_branch)

    def commit(self, label: str, message: str) -> str:
        git(self.work, "add", "-A")
        git(self.work, "commit", "--quiet", "--allow-empty", "-m", message)
        self.shas[label] = git(self.work, "rev-parse", "HEAD")
        return self.shas[label]

    def branch(self, name: str, start: str) -> None:
        git(self.work, "checkout", "--quiet", "-B", name, start)

    def checkout(self, sha: str) -> None:
        git(self.work, "checkout", "--quiet", "--detach", sha)

    def degrade(self) -> None:
        """The change under test: the bot answers in one sentence (the suite's app-terse)."""
        suite = self.work / SUITE
        text = suite.read_text("utf-8")
        text = text.replace(
            "    model: support-bot-v1\n  - id: app-terse",
            "    model: support-bot-v1\n    params: {max_sentences: 1}\n  - id: app-terse",
            1,
        )
        suite.write_text(text, "utf-8")

    # -- events ------------------------------------------------------------------------------
    def pull_event(
        self, name: str, number: int, head: str, base: str, *, fork: bool = False
    ) -> dict[str, Any]:
        event = copy.deepcopy(payload(name))
        pr = event["pull_request"]
        event["number"] = pr["number"] = number
        pr["head"]["sha"], pr["base"]["sha"] = head, base
        pr["base"]["ref"] = self.default_branch
        if not fork:
            pr["head"]["repo"] = copy.deepcopy(event["repository"])
        event["repository"]["default_branch"] = self.default_branch
        return event

    def push_event(self, name: str, ref: str, after: str) -> dict[str, Any]:
        event = copy.deepcopy(payload(name))
        event["ref"], event["after"] = ref, after
        event["repository"]["default_branch"] = self.default_branch
        return event

    def refresh(self, **inputs: str) -> StepResult:
        """The push to the default branch that stores the baseline of its tip."""
        sha = git(self.work, "rev-parse", self.default_branch)
        self.checkout(sha)
        ref = f"refs/heads/{self.default_branch}"
        event = self.push_event("push/with-new-branch.payload.json", ref, sha)
        result = self.step(self.env("push", event, sha, ref, **inputs))
        assert result.code == 0, result.log
        return result

    def open_pull(
        self, number: int, message: str, *, degrade: bool = False, fork: bool = False
    ) -> tuple[str, dict[str, Any]]:
        """A pull request from a new commit on ``feature`` (a fork's, with ``fork``), known to
        GitHub and checked out; its head sha and its ``opened`` event."""
        main = self.shas["main"]
        self.branch("feature", main)
        if degrade:
            self.degrade()
        else:
            (self.work / "NOTES.md").write_text(f"{message}\n")
        head = self.commit(f"pr{number}", message)
        if fork:
            name = "pull_request/actions-event-path/opened.from-fork.listendev-lstn-217.json"
            event = self.pull_event(name, number, head, main, fork=True)
            event["repository"]["full_name"] = self.repo
            self.gh.add_pull(
                self.owner,
                self.name,
                number,
                head,
                main,
                head_ref="feature",
                base_ref=self.default_branch,
                user=FORK_OWNER,
                from_fork=True,
            )
        else:
            event = self.pull_event("pull_request/opened.payload.json", number, head, main)
            self.gh.seed_from_event(event)
        self.checkout(head)
        return head, event

    # -- running the step --------------------------------------------------------------------
    def env(
        self,
        event_name: str,
        event: Mapping[str, Any],
        sha: str,
        ref: str,
        **inputs: str,
    ) -> dict[str, str]:
        self.runs += 1
        files = self.root / f"step-{self.runs}"
        files.mkdir()
        event_path = files / "event.json"
        event_path.write_text(json.dumps(event), "utf-8")
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.root / "home"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": self.repo,
            "GITHUB_SHA": sha,
            "GITHUB_REF": ref,
            "GITHUB_WORKSPACE": str(self.work),
            "GITHUB_API_URL": self.gh.url,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": str(1000 + self.runs),
            "GITHUB_OUTPUT": str(files / "output"),
            "GITHUB_STEP_SUMMARY": str(files / "summary"),
            "CI_GATE_GITHUB_PACE": "0",
            "CI_GATE_CACHE_DIR": str(self.root / "cache"),
            "INPUT_SUITE": SUITE,
            "INPUT_GITHUB-TOKEN": WRITE_TOKEN,
        }
        for key, value in inputs.items():
            env[f"INPUT_{key.upper().replace('_', '-')}"] = value
        return env

    def step(self, env: Mapping[str, str]) -> StepResult:
        out = io.StringIO()
        code = cmd_action(env, out)
        files = Path(env["GITHUB_OUTPUT"]).parent
        return StepResult(
            code=code,
            log=out.getvalue(),
            outputs=read_outputs(files / "output"),
            summary=_text(files / "summary"),
        )


@contextlib.contextmanager
def open_world(root: Path) -> Iterator[World]:
    """A fresh world under ``root``, checked at the end for requests GitHub would refuse."""
    (root / "home").mkdir()
    with GitHubServer() as gh:
        world = World(root, gh)
        world.create()
        yield world
        assert gh.violations == []
        assert gh.response_errors == []


def _text(path: Path) -> str:
    return path.read_text("utf-8") if path.exists() else ""


def read_outputs(path: Path) -> dict[str, str]:
    """The GITHUB_OUTPUT file parsed the way the runner reads it."""
    values: dict[str, str] = {}
    lines = _text(path).split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            values[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
            i += 1
        else:
            i += 1
    return values
