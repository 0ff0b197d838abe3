"""Helpers for tests: node settings, and servers that misbehave."""

from __future__ import annotations

import socket
import threading
from typing import Any

from cets.search.config import NodeConfig


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
