"""An aiohttp application served from a background thread with its own event loop.

The fakes (model API, GitHub API) are real HTTP servers on 127.0.0.1 that synchronous test code
starts and stops with ``with``; subclasses give the application and the runner's options.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web


class ThreadedServer:
    thread_name = "fake-server"

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- what a subclass serves ---------------------------------------------------------------
    def make_app(self) -> web.Application:
        raise NotImplementedError

    def runner_options(self) -> dict[str, Any]:
        # A short shutdown_timeout keeps stop() fast with slow replies in flight.
        return {"access_log": None, "shutdown_timeout": 0.1}

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> None:
        """Serve from a background thread with its own event loop; returns once bound."""
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.close())
            # Handlers still sleeping (a slow reply nobody waits for) must not outlive the loop.
            pending = asyncio.all_tasks(loop)
            if pending:
                loop.run_until_complete(_cancel(pending))
            loop.close()

    async def serve(self) -> None:
        """Bind and start serving on the running loop (``url`` is valid afterwards)."""
        self._runner = web.AppRunner(self.make_app(), **self.runner_options())
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self._port = self._runner.addresses[0][1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def _cancel(tasks: set[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
