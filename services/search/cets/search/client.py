"""A small client for one search node, for diagnosis: it sends requests signed elsewhere."""

from __future__ import annotations

import grpc

from cets.v1 import search_pb2, search_pb2_grpc

__all__ = ["NodeClient"]


class NodeClient:
    """Talks to one node at ``target`` (``host:port``). Use as an async context manager."""

    def __init__(self, target: str) -> None:
        self._channel = grpc.aio.insecure_channel(target)
        self._stub = search_pb2_grpc.SearchNodeStub(self._channel)

    async def __aenter__(self) -> NodeClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def send(
        self, request: search_pb2.SearchRequest, *, timeout_s: float = 10.0
    ) -> search_pb2.SignedAnswer:
        """Send a request as it is (already signed); the answer comes back still sealed:
        open it with :func:`cets.common.signing.open_answer`."""
        answer: search_pb2.SignedAnswer = await self._stub.Search(request, timeout=timeout_s)
        return answer

    async def close(self) -> None:
        await self._channel.close(grace=None)
