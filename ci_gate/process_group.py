"""Ending a program started in its own session (``start_new_session=True``) with everything it
started: killing only the direct child would leave its children running after the run."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal


async def kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the process group led by ``proc`` (also after a normal exit: children it left
    behind would outlive the run) and reap ``proc``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        await proc.wait()
