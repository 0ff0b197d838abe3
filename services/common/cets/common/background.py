"""An asyncio gRPC service run from a background thread, for synchronous callers (tests,
benchmarks, the demo's helpers)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, Protocol

__all__ = ["BackgroundService", "Service"]


class Service(Protocol):
    async def start(self) -> int: ...

    async def stop(self, grace_s: float | None = None) -> None: ...


class BackgroundService:
    """Runs ``make()``'s service on its own event loop. Use as a context manager.

    ``make`` is called on that loop, so the service's asyncio objects belong to it.
    """

    def __init__(self, make: Callable[[], Service], *, grace_s: float = 1.0) -> None:
        self._make = make
        self._grace = grace_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._service: Service | None = None
        self.port = 0

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
        """Run ``coro`` on the service's loop and wait for its result."""
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    def __enter__(self) -> BackgroundService:
        self._thread.start()
        try:
            self.port = self.call(self._start())
        except BaseException:
            self._close_loop()
            raise
        return self

    async def _start(self) -> int:
        self._service = self._make()
        return await self._service.start()

    def __exit__(self, *_: object) -> None:
        if self._service is not None:
            self.call(self._service.stop(self._grace))
        self._close_loop()

    def _close_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"
