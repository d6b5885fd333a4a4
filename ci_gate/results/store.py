"""Reading and writing results files (atomically)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ci_gate.atomic import write_chunks_atomic
from ci_gate.bounded_read import read_at_most
from ci_gate.errors import ResultsFileError
from ci_gate.gc_pause import collection_paused
from ci_gate.results.codec import results_from_bytes, results_from_dict
from ci_gate.results.encode import results_json
from ci_gate.results.model import Results

MAX_RESULTS_BYTES = 2 * 1024**3


def write_results(results: Results, path: str | os.PathLike[str]) -> None:
    write_chunks_atomic(path, results_json(results))


def read_results(path: str | os.PathLike[str]) -> Results:
    p = Path(path)
    source = str(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise ResultsFileError(
            f"{source}: no such results file (write one with `ci-gate run SUITE -o {source}`)"
        ) from None
    except OSError as exc:
        raise ResultsFileError(f"{source}: cannot read: {exc.strerror}") from None
    if size > MAX_RESULTS_BYTES:
        raise ResultsFileError(
            f"{source}: {size} bytes is larger than any results file ci-gate writes"
        )
    try:
        raw = read_at_most(p, MAX_RESULTS_BYTES)
    except OSError as exc:
        raise ResultsFileError(f"{source}: cannot read: {exc.strerror}") from None
    if raw is None:  # a device or a pipe, whose size said nothing
        raise ResultsFileError(
            f"{source}: more than {MAX_RESULTS_BYTES} bytes to read, larger than any results "
            "file ci-gate writes (a device or a pipe?)"
        )
    # Collecting while a results file's objects are made tripled the time of a 52 MB file; they
    # are kept for the rest of the command, and frozen, the next collections skip them (0.2 s of
    # `ci-gate compare` on two 50,000-case files).
    with collection_paused(keep=True):
        results = results_from_bytes(raw, source)
        return results if results is not None else _read_precisely(raw, source)


def _read_precisely(raw: bytes, source: str) -> Results:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ResultsFileError(
            f"{source}: not UTF-8 text (bad byte at offset {exc.start}); results files are JSON"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # Only an error at the very end means a cut-off file; an HTML page or a YAML file fails
        # on its first character, and an empty file is its own mistake.
        end = len(text.rstrip())
        if end == 0:
            hint = "the file is empty"
        elif exc.pos >= end - 4 or exc.msg.startswith("Unterminated string"):  # "tru", '"ab'
            hint = "the file ends early: it may have been cut off"
        else:
            hint = "not valid JSON"
        raise ResultsFileError(
            f"{source}:{exc.lineno}:{exc.colno}: {exc.msg} "
            f"({hint}; rerun `ci-gate run` to write it again)"
        ) from None
    except RecursionError:
        raise ResultsFileError(f"{source}: JSON nested too deeply to be a results file") from None
    except ValueError:  # Python refuses to read an integer of over 4300 digits
        raise ResultsFileError(
            f"{source}: a number too large to be read (over 4300 digits); ci-gate never writes "
            "one: rerun `ci-gate run` to write the file again"
        ) from None
    return results_from_dict(data, source)
