"""Pausing Python's cycle collector around work that makes millions of acyclic objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collection_paused(*, keep: bool = False) -> Iterator[None]:
    """No cycle collection inside; none of the objects made there is in a reference cycle, and
    collecting while they are made would walk them again and again. ``keep``: the objects made
    are kept for the rest of the process, so they are moved out of the collector's generations
    (``gc.freeze``) and later collections do not walk them either."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if keep:
                gc.freeze()
            gc.enable()
