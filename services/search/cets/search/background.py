"""A search node served from a background thread, for synchronous callers (tests, benchmarks)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any

from cets.search.config import NodeConfig
from cets.search.server import NodeServer
from cets.search.store import RecordStore, connect_async

__all__ = ["BackgroundNode"]


class BackgroundNode:
    """A real :class:`NodeServer` on its own event loop. Use as a context manager."""

    def __init__(self, config: NodeConfig, *, store_url: str | None = None) -> None:
        """``store_url``: search this cluster instead (the index is still prepared on the
        configured one), to put a node in front of a cluster that hangs or is gone."""
        self.config = config
        self._store_url = store_url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: NodeServer | None = None
        self.port = 0

    def _call(self, coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    def __enter__(self) -> BackgroundNode:
        self._thread.start()
        self.port = self._call(self._start())
        return self

    async def _start(self) -> int:
        store = None
        if self._store_url:
            store = RecordStore(connect_async(self._store_url), self.config.index.alias)
        self._server = NodeServer(self.config, store=store)
        return await self._server.start()

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._call(self._server.stop(self.config.grace_s))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"
