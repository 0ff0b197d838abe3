"""A search node served from a background thread, for synchronous callers (tests, benchmarks)."""

from __future__ import annotations

from cets.common.background import BackgroundService
from cets.search.config import NodeConfig
from cets.search.server import NodeServer
from cets.search.store import RecordStore, connect_async

__all__ = ["BackgroundNode"]


class BackgroundNode(BackgroundService):
    """A real :class:`NodeServer` on its own event loop. Use as a context manager."""

    def __init__(self, config: NodeConfig, *, store_url: str | None = None) -> None:
        """``store_url``: search this cluster instead (the index is still prepared on the
        configured one), to put a node in front of a cluster that hangs or is gone."""
        self.config = config

        def make() -> NodeServer:
            store = None
            if store_url:
                store = RecordStore(connect_async(store_url), config.index.alias)
            return NodeServer(config, store=store)

        super().__init__(make, grace_s=config.grace_s)
