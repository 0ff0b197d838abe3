"""Helpers for tests: a real node in a thread, and servers that misbehave."""

from __future__ import annotations

import asyncio
import socket
import threading
from concurrent.futures import Future
from typing import Any

from cets.search.config import NodeConfig
from cets.search.server import NodeServer
from cets.search.store import RecordStore, connect_async


def node_config(agency: str, url: str, key: bytes, **extra: Any) -> NodeConfig:
    values: dict[str, Any] = {
        "agency_id": agency,
        "opensearch_url": url,
        "card_key": key,
        "listen": "127.0.0.1:0",
        "default_region": "CA",
        "grace_s": 0.5,
    }
    values.update(extra)
    return NodeConfig(**values)


class RunningNode:
    """A real search node served from its own thread and event loop."""

    def __init__(self, config: NodeConfig, *, store_url: str | None = None) -> None:
        """``store_url``: search this cluster instead (the index is still prepared on the
        configured one), to put a node in front of a cluster that hangs or is gone."""
        self.config = config
        self._store_url = store_url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: NodeServer | None = None
        self.port = 0

    def _call(self, coro: Any, timeout: float = 60.0) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    def __enter__(self) -> RunningNode:
        self._thread.start()

        async def start() -> int:
            store = None
            if self._store_url:
                client = connect_async(self._store_url)
                store = RecordStore(client, self.config.index.alias)
            self._server = NodeServer(self.config, store=store)
            return await self._server.start()

        self.port = self._call(start())
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._call(self._server.stop(0.5))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


class SilentServer:
    """Accepts TCP connections and never answers: an OpenSearch that hangs."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def _accept(self) -> None:
        self._socket.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(connection)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for connection in self._held:
            connection.close()
        self._socket.close()


def closed_port_url() -> str:
    """An address where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
