"""`ci-gate init` on a terminal: a real pseudo-terminal drives `python -m ci_gate init`, answering
each question when its prompt appears; and the questions themselves with a scripted console."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ci_gate.init.answers import InvalidAnswer, check_spec_name
from ci_gate.init.flags import FlagAnswers
from ci_gate.init.questions import ask, ask_answers
from ci_gate.suite.load import load_suite
from ci_gate.suite.model import Behaviour

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 30.0


class Pty:
    """A child process on a pseudo-terminal, and everything it wrote so far."""

    def __init__(self, proc: subprocess.Popen[bytes], master: int) -> None:
        self.proc = proc
        self.master = master
        self.seen = ""
        self.pos = 0  # how far expectations have consumed ``seen``

    def _read(self, deadline: float) -> bool:
        """Read what is there, waiting until ``deadline``; False at the end of output."""
        ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not chunk:
            return False
        self.seen += chunk.decode("utf-8", "replace")
        return True

    def wait(self, until: float) -> None:
        """Read until some output comes, the output ends, or ``until``."""
        before = len(self.seen)
        while len(self.seen) == before and time.monotonic() < until and self._read(until):
            pass

    def expect(self, text: str) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while text not in self.seen[self.pos :]:
            if time.monotonic() > deadline or not self._read(deadline):
                raise AssertionError(f"never saw {text!r}; the terminal shows:\n{self.seen}")
        self.pos = self.seen.index(text, self.pos) + len(text)

    def answer(self, prompt: str, line: str) -> None:
        self.expect(prompt)
        os.write(self.master, line.encode() + b"\n")

    def finish(self) -> int:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline and self._read(deadline):
            pass
        return self.proc.wait(timeout=TIMEOUT_S)


# `python -m ci_gate`, with Ctrl-C's signal handled as in a shell: a test runner's worker may
# ignore or block SIGINT, and a child started from it would inherit both.
_CHILD = (
    "import runpy, signal, sys;"
    " signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT});"
    " signal.signal(signal.SIGINT, signal.default_int_handler);"
    " sys.argv[0] = 'ci-gate'; runpy.run_module('ci_gate', run_name='__main__')"
)


@contextmanager
def terminal(repo: Path, *argv: str) -> Iterator[Pty]:
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, "init", *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TERM": "dumb"},
        close_fds=True,
    )
    os.close(slave)
    try:
        yield Pty(proc, master)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "help-desk"
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def written(repo: Path) -> set[str]:
    return {
        p.relative_to(repo).as_posix()
        for p in repo.rglob("*")
        if p.is_file() and p.relative_to(repo).parts[0] != ".git"
    }


def test_a_newcomer_answers_the_questions_and_gets_a_suite_that_runs(repo: Path) -> None:
    with terminal(repo) as t:
        t.answer("Suite name [help-desk]: ", "help desk")  # a space: re-asked, the slug offered
        t.expect("try 'help-desk'")
        t.answer("Suite name [help-desk]: ", "")
        t.expect("6. fake")
        t.answer("Target (number or name) [fake]: ", "robot")
        t.expect("'robot' is not a target kind")
        t.answer("Target (number or name) [fake]: ", "6")
        t.answer("What is it for, in one sentence? (empty: skip): ", "Answer customers kindly.")
        t.answer("Example 1: ", "How long do I have to return an item?")
        t.answer("must contain (empty: just check that it answers): ", "30 days")
        t.answer("Example 2: ", "Do you ship to Canada?")
        t.answer("must contain (empty: just check that it answers): ", "")
        t.answer("Example 3: ", "")  # too few yet
        t.expect("at least 3 examples make a first suite: 1 more")
        t.answer("Example 3: ", "Where is my order?")
        t.answer("must contain (empty: just check that it answers): ", "")
        t.answer("Example 4: ", "")
        t.answer("Behaviour name: ", "Cites the article")
        t.expect("try 'cites-the-article'")
        t.answer("Behaviour name [cites-the-article]: ", "")
        t.answer("In one sentence: ", "Every answer names the article it used.")
        t.answer("Behaviour name: ", "")
        t.answer("Failure mode name: ", "invents-policy")
        t.answer("Severity (low, medium, high, critical) [medium]: ", "high")
        t.answer("In one sentence: ", "States a rule the help center does not have.")
        t.answer("Failure mode name: ", "")
        t.expect("2. invents-policy (failure mode)")
        t.answer("(empty: none): ", "1,2")
        t.answer("(empty: none): ", "3")
        t.expect("'3' is not in the list: give numbers from 1 to 2")
        t.answer("(empty: none): ", "cites-the-article")
        t.answer("(empty: none): ", "")
        code = t.finish()
        transcript = t.seen
    assert code == 0, transcript
    assert "wrote evals/suite.yaml" in transcript and "ok: evals/suite.yaml" in transcript
    assert "ci-gate run evals/suite.yaml" in transcript
    assert written(repo) == {
        "evals/suite.yaml",
        ".ci-gate/suite.schema.json",
        ".github/workflows/ci-gate-pr.yml",
        ".github/workflows/ci-gate-baseline.yml",
        ".gitignore",
    }
    suite = load_suite(repo / "evals" / "suite.yaml")
    assert suite.name == "help-desk" and suite.target().provider == "fake"
    assert suite.spec is not None and suite.spec.goal == "Answer customers kindly."
    assert [(f.name, f.severity) for f in suite.spec.failure_modes] == [("invents-policy", "high")]
    links = {c.id: c.links() for c in suite.cases}
    assert links == {
        "how-long-do-i-have-to-return-an-item": (("cites-the-article",), ("invents-policy",)),
        "do-you-ship-to-canada": (("cites-the-article",), ()),
        "where-is-my-order": ((), ()),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "ci_gate", "run", "evals/suite.yaml", "-o", "r.json", "-q"],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "3 passed" in proc.stdout


def test_ctrl_d_stops_with_exit_2_and_writes_nothing(repo: Path) -> None:
    with terminal(repo) as t:
        t.answer("Suite name [help-desk]: ", "")
        t.answer("Target (number or name) [fake]: ", "openai")
        t.answer("Model [gpt-4o-mini]: ", "")
        t.expect("Endpoint [https://api.openai.com/v1]: ")
        os.write(t.master, b"\x04")  # Ctrl-D on an empty line: the end of input
        code = t.finish()
        transcript = t.seen
    assert code == 2, transcript
    assert "nothing was written" in transcript and "Traceback" not in transcript
    assert written(repo) == set()


def test_ctrl_c_stops_with_exit_130_and_writes_nothing(repo: Path) -> None:
    with terminal(repo) as t:
        t.answer("Suite name [help-desk]: ", "")
        t.expect("Target (number or name) [fake]: ")
        deadline = time.monotonic() + TIMEOUT_S
        while "nothing was written" not in t.seen and time.monotonic() < deadline:
            # What the terminal sends when Ctrl-C is typed. One that lands after the prompt
            # but before the read starts is only acted on at the next, as a person pressing
            # Ctrl-C twice would find; so it is sent again when nothing happened for a second.
            t.proc.send_signal(signal.SIGINT)
            t.wait(time.monotonic() + 1.0)
        code = t.finish()
        transcript = t.seen
    assert code == 130, transcript
    assert "interrupted; nothing was written" in transcript and "Traceback" not in transcript
    assert written(repo) == set()


def test_flags_answer_their_questions_and_the_rest_is_asked(repo: Path) -> None:
    (repo / "evals").mkdir()
    (repo / "evals" / "suite.yaml").write_text("mine\n", encoding="utf-8")
    with terminal(repo, "--target", "fake") as t:
        # An existing file is refused before any question is asked.
        code = t.finish()
        assert code == 2 and "evals/suite.yaml already exists" in t.seen
        assert "Suite name" not in t.seen
    with terminal(repo, "--target", "fake", "--name", "desk", "--suite", "e/s.yaml") as t:
        t.answer("(empty: skip): ", "")
        for n, text in enumerate(["One?", "Two?", "Three?"], 1):
            t.answer(f"Example {n}: ", text)
            t.answer("(empty: just check that it answers): ", "")
        t.answer("Example 4: ", "")
        t.answer("Behaviour name: ", "")
        t.answer("Failure mode name: ", "")
        code = t.finish()
        transcript = t.seen
    assert code == 0, transcript
    assert "Suite name" not in transcript and "Target (" not in transcript
    assert "Which of these" not in transcript  # nothing to link to
    assert load_suite(repo / "e" / "s.yaml").name == "desk"


# --- the questions, with a scripted console ---------------------------------------------------


class Script:
    """A console that answers from a list and keeps what was said."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []
        self.said: list[str] = []

    def ask(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.answers:
            raise EOFError
        return self.answers.pop(0)

    def say(self, text: str = "") -> None:
        self.said.append(text)


def test_an_invalid_answer_is_asked_again_with_the_reason() -> None:
    console = Script("Refund Policy!", "", "x")
    assert ask(console, "Name", check_spec_name) == "refund-policy"
    assert console.prompts == ["Name: ", "Name [refund-policy]: "]
    assert "try 'refund-policy'" in console.said[0]
    with pytest.raises(InvalidAnswer, match="is empty"):
        check_spec_name("  ")


def test_the_openai_settings_are_asked_with_defaults() -> None:
    console = Script(
        *("", "1", "", "http://localhost:11434/v1", "", ""),  # name, target and its settings
        "",  # no goal
        *("Hi", "", "Yo", "", "Hey", "", ""),  # examples, none with a phrase
        *("", ""),  # no behaviours, no failure modes
    )
    answers = ask_answers(console, FlagAnswers(), "bot")
    target = answers.target
    assert (target.kind, target.model, target.base_url, target.api_key_env) == (
        "openai",
        "gpt-4o-mini",
        "http://localhost:11434/v1",
        "OPENAI_API_KEY",
    )
    assert target.system and answers.name == "bot" and answers.goal is None
    assert [e.text for e in answers.examples] == ["Hi", "Yo", "Hey"]
    assert "Model [gpt-4o-mini]: " in console.prompts


def test_http_settings_reject_a_body_that_is_not_an_object() -> None:
    flags = FlagAnswers(
        kind="http", behaviours=(Behaviour("polite", "Says please."),), name="svc", goal="g"
    )
    console = Script(
        *("http://127.0.0.1:9/answer", '["x"]', "", ""),  # a bad body, then the default
        *("A", "", "B", "", "C", "", ""),
        "",  # no failure modes
        *("1", "", ""),  # example 1 shows the behaviour
    )
    answers = ask_answers(console, flags, "ignored")
    assert answers.target.body == {"input": "{{ vars.input }}"}
    assert any("must be a JSON object" in s for s in console.said)
    assert [e.links for e in answers.examples] == [("polite",), (), ()]
    assert not any(p.startswith("Behaviour name") for p in console.prompts)  # given as a flag
