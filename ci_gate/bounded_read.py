"""Reading a whole input file without trusting its size: a device, a pipe or a symlink to one
(``/dev/zero``) reports size 0 and may never end, so a plain ``read_bytes()`` would fill the
memory."""

from __future__ import annotations

import os
from pathlib import Path

_CHUNK = 1024 * 1024


def read_at_most(path: Path, limit: int) -> bytes | None:
    """The file's bytes, or None when it holds more than ``limit`` of them; at most ``limit``
    plus one chunk is ever read."""
    with path.open("rb") as handle:
        # A regular file says its size: one read, no copy. Anything else says 0: chunks.
        expected = os.fstat(handle.fileno()).st_size
        first = handle.read(min(expected, limit) + 1)
        chunks = [first]
        total = len(first)
        while total <= limit:
            chunk = handle.read(_CHUNK)
            if not chunk:
                return first if len(chunks) == 1 else b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
        return None
