"""The run journal: finished records appended as they finish, so an interrupted run resumes.

The journal sits beside the results file (``results.json.journal``). Its first line names the
suite fingerprint and target; a journal from another suite or target is ignored. Each later line
is one finished record. A line cut short by a kill is ignored, and so are records that ended in an
error: resuming makes those calls again. The journal is removed once the complete results file has
been written.

It is also where a run keeps its records: each is written here as it finishes and then let go, and
the results file is streamed from these lines in the suite's order, so a run's memory does not
grow with its outputs. The journal knows where each item's line is (16 bytes an item).
"""

from __future__ import annotations

import contextlib
import json
import os
from array import array
from collections.abc import Mapping
from pathlib import Path

from ci_gate.atomic import write_text_atomic
from ci_gate.errors import ResultsFileError
from ci_gate.results.codec import record_from_dict, record_to_dict
from ci_gate.results.encode import compact_json
from ci_gate.results.fast_read import decode_record
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
        with path.open("rb") as f:
            header = json.loads(f.readline() or b"null")
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
    except (OSError, ValueError):  # json.JSONDecodeError and bad UTF-8 are ValueErrors
        return {}


def _parse_line(line: bytes, source: str) -> Record | None:
    record = decode_record(line)  # the quick path: a line as ci-gate writes it
    if record is not None:
        return record
    try:
        return record_from_dict(json.loads(line.decode("utf-8", "replace")), source)
    except (json.JSONDecodeError, ResultsFileError, RecursionError):
        return None


class Journal:
    """Appends records; each line reaches the OS at once (one write) so that kill -9 keeps it.

    ``items`` is how many items the run has; ``kept`` are the records of an earlier journal that
    this run keeps, by item index: the new journal starts with them and replaces the old one
    atomically, so a kill while it is being started never loses a finished call. Where there is
    no journal yet, it is written in place.
    """

    def __init__(
        self,
        path: Path,
        suite_fingerprint: str,
        target_id: str,
        items: int,
        kept: Mapping[int, Record] | None = None,
    ) -> None:
        self.path = path
        self._starts = array("q", [-1]) * items
        self._lengths = array("q", [0]) * items
        header = {"format": JOURNAL_FORMAT, "suite": suite_fingerprint, "target": target_id}
        parts = [(json.dumps(header) + "\n").encode("utf-8")]
        position = len(parts[0])
        for index, record in (kept or {}).items():
            data = _line(record)
            self._starts[index], self._lengths[index] = position, len(data) - 1
            parts.append(data)
            position += len(data)
        # Read and written through one descriptor, so the lines stay readable even if the file
        # is moved or deleted while the run goes on.
        flags = os.O_RDWR | os.O_APPEND | getattr(os, "O_BINARY", 0)  # no newline translation
        self._fd: int | None = None if kept else _create(path, flags, parts[0])
        if self._fd is None:
            write_text_atomic(path, b"".join(parts).decode("utf-8"))
            self._fd = os.open(path, flags)
        self._end = position

    def has(self, index: int) -> bool:
        return self._starts[index] >= 0

    def append(self, index: int, record: Record) -> None:
        assert self._fd is not None, "the journal is open for the whole run"
        data = _line(record)
        _write_all(self._fd, data)
        self._starts[index], self._lengths[index] = self._end, len(data) - 1
        self._end += len(data)

    def line(self, index: int) -> str | None:
        """The record's JSON text, as the results file holds it; None when it has none."""
        start = self._starts[index]
        if start < 0 or self._fd is None:
            return None
        # Appends always go to the end (O_APPEND), wherever a read left the position.
        os.lseek(self._fd, start, os.SEEK_SET)
        length, chunks = self._lengths[index], []
        while length:  # one read, unless the OS hands a long line back in pieces
            chunk = os.read(self._fd, length)
            if not chunk:
                raise OSError(f"{self.path}: the journal ends early")
            chunks.append(chunk)
            length -= len(chunk)
        return b"".join(chunks).decode("utf-8")

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def remove(self) -> None:
        self.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


def _create(path: Path, flags: int, header: bytes) -> int | None:
    """A new journal written in place, when there is none to replace: a kill while it is being
    made leaves no record to lose, and no temporary file behind. None when one exists."""
    path.parent.mkdir(parents=True, exist_ok=True)  # as the atomic write makes it
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)  # as mkstemp makes it
    except FileExistsError:
        return None
    try:
        _write_all(fd, header)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:  # one write, unless the OS takes a long line in pieces
        view = view[os.write(fd, view) :]


def _line(record: Record) -> bytes:
    return (compact_json(record_to_dict(record)) + "\n").encode("utf-8")
