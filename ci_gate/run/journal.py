"""The run journal: finished records appended as they finish, so an interrupted run resumes.

The journal sits beside the results file (``results.json.journal``). Its first line names the
suite fingerprint and target; a journal from another suite or target is ignored. Each later line
is one finished record. A line cut short by a kill is ignored. The journal is removed once the
complete results file has been written.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from ci_gate.atomic import write_text_atomic
from ci_gate.errors import ResultsFileError
from ci_gate.results.codec import record_from_dict, record_to_dict
from ci_gate.results.encode import compact_json
from ci_gate.results.model import Record

JOURNAL_FORMAT = "ci-gate-journal-1"


def journal_path(results_path: str | os.PathLike[str]) -> Path:
    p = Path(results_path)
    return p.with_name(p.name + ".journal")


def load_journal(
    path: Path, suite_fingerprint: str, target_id: str
) -> dict[tuple[str, int], Record]:
    """Finished records of an earlier interrupted run of the same suite and target."""
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            header = json.loads(f.readline() or "null")
            if not (
                isinstance(header, dict)
                and header.get("format") == JOURNAL_FORMAT
                and header.get("suite") == suite_fingerprint
                and header.get("target") == target_id
            ):
                return {}
            found: dict[tuple[str, int], Record] = {}
            for line in f:
                record = _parse_line(line, str(path))
                if record is not None and record.error is None:
                    found[(record.case_id, record.sample)] = record
            return found
    except (OSError, json.JSONDecodeError):
        return {}


def _parse_line(line: str, source: str) -> Record | None:
    try:
        return record_from_dict(json.loads(line), source)
    except (json.JSONDecodeError, ResultsFileError, RecursionError):
        return None


class Journal:
    """Appends records; each line is flushed to the OS at once so that kill -9 keeps it.

    ``kept`` are the records of an earlier journal that this run keeps: the new journal starts
    with them and replaces the old one atomically, so a kill while it is being started never
    loses a finished call.
    """

    def __init__(
        self, path: Path, suite_fingerprint: str, target_id: str, kept: Iterable[Record] = ()
    ) -> None:
        self.path = path
        header = {"format": JOURNAL_FORMAT, "suite": suite_fingerprint, "target": target_id}
        lines = [json.dumps(header), *(_line(r) for r in kept)]
        write_text_atomic(path, "\n".join(lines) + "\n")
        self._file: IO[str] = path.open("a", encoding="utf-8")

    def append(self, record: Record) -> None:
        self._file.write(_line(record) + "\n")
        self._file.flush()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()

    def remove(self) -> None:
        self.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


def _line(record: Record) -> str:
    return compact_json(record_to_dict(record))
