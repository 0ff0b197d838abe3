"""gRPC channels to the members' search nodes, one per member, reused across searches."""

from __future__ import annotations

import asyncio

import grpc

from cets.common.channels import RECONNECT_OPTIONS
from cets.common.membership import Member
from cets.common.tls import ClientTls, channel_credentials, channel_options, is_loopback
from cets.federation.fanout import CallRefused
from cets.v1 import search_pb2, search_pb2_grpc

__all__ = ["GrpcCaller"]

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
"""Largest answer accepted from one peer (a node's default largest answer)."""


class GrpcCaller:
    """Calls members' nodes over gRPC (TLS when ``tls`` is given). Implements ``Caller``."""

    def __init__(self, tls: ClientTls | None = None) -> None:
        self._tls = tls
        self._channels: dict[str, tuple[str, grpc.aio.Channel]] = {}
        self._lock = asyncio.Lock()

    async def __call__(
        self, member: Member, request: search_pb2.SearchRequest, timeout_s: float
    ) -> search_pb2.SignedAnswer:
        stub = search_pb2_grpc.SearchNodeStub(await self._channel(member))
        answer: search_pb2.SignedAnswer = await stub.Search(request, timeout=timeout_s)
        return answer

    async def _channel(self, member: Member) -> grpc.aio.Channel:
        known = self._channels.get(member.id)
        if known and known[0] == member.endpoint:
            return known[1]
        async with self._lock:
            known = self._channels.get(member.id)
            if known and known[0] == member.endpoint:
                return known[1]
            if known:  # the member moved: the membership was re-issued
                await known[1].close(grace=None)
            channel = self._open(member.endpoint)
            self._channels[member.id] = (member.endpoint, channel)
            return channel

    def _open(self, endpoint: str) -> grpc.aio.Channel:
        options: list[tuple[str, str | int]] = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            *RECONNECT_OPTIONS,  # a node back after an outage is reached within seconds
        ]
        if self._tls is None:
            if not is_loopback(endpoint):
                raise CallRefused(
                    "refusing plaintext to a peer off this machine: set CETS_PEER_TLS_CA"
                )
            return grpc.aio.insecure_channel(endpoint, options=options)
        options.extend(channel_options(self._tls))
        return grpc.aio.secure_channel(endpoint, channel_credentials(self._tls), options=options)

    async def close(self) -> None:
        for _, channel in self._channels.values():
            await channel.close(grace=None)
        self._channels.clear()
