"""The errors ci-gate reports to its users, and the exit codes they map to.

    GateError                      exit 3 unless a subclass says otherwise
    +-- UsageError                 exit 2: bad command line
    +-- ConfigError                exit 2: a suite, results or baseline file is wrong
    |   +-- SuiteError             one or more problems in a suite file (one line each)
    |   +-- ResultsFileError       a results file is unreadable, truncated or of another version
    +-- ProviderConfigError        exit 2: a target cannot be used as configured (e.g. no API key)
    +-- InternalError              exit 3: a bug in ci-gate

A failed gate is a normal result, never an exception. Provider failures during a run are
recorded per record (see ``ci_gate.providers.base.ProviderError``) and never raised to the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


@dataclass(frozen=True)
class Problem:
    """One located problem in an input file: ``file:line: key.path: message (hint)``."""

    file: str
    line: int | None
    path: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        key = f" {self.path}:" if self.path else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}:{key} {self.message}{hint}"


class GateError(Exception):
    """Root of every error ci-gate reports to a user as a one-line message."""

    exit_code = EXIT_INTERNAL

    def lines(self) -> list[str]:
        """The lines printed to stderr, each prefixed ``error: `` by the CLI."""
        return [str(self)]


class UsageError(GateError):
    exit_code = EXIT_USAGE


class ConfigError(GateError):
    exit_code = EXIT_USAGE


class SuiteError(ConfigError):
    """A suite file has problems; each is reported on its own line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class ResultsFileError(ConfigError):
    pass


class ProviderConfigError(GateError):
    exit_code = EXIT_USAGE


class InternalError(GateError):
    exit_code = EXIT_INTERNAL
