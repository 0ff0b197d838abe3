"""gRPC channels to the members' search nodes, one per member, reused across searches.

An answer larger than this service accepts is that agency's error, named as such: grpc reports
it as ``RESOURCE_EXHAUSTED``, which from a node means the node refused the request.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import grpc

from cets.common.channels import RECONNECT_OPTIONS
from cets.common.membership import Member
from cets.common.signing import SignedRequest
from cets.common.tls import ClientTls, channel_credentials, channel_options, is_loopback
from cets.federation.fanout import CallRefused
from cets.v1 import (
    releases_pb2_grpc,
    search_pb2,
    search_pb2_grpc,
    watches_pb2_grpc,
)

__all__ = ["AnswerTooLarge", "GrpcCaller"]

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
"""Largest answer accepted from one peer (a node's default largest answer)."""
_METHODS: dict[str, tuple[Any, str]] = {
    "cets.v1.SearchRequest": (search_pb2_grpc.SearchNodeStub, "Search"),
    "cets.v1.WatchRequest": (watches_pb2_grpc.WatchNodeStub, "SetWatch"),
    "cets.v1.AlertPullRequest": (watches_pb2_grpc.WatchNodeStub, "PullAlerts"),
    "cets.v1.ReleaseRequest": (releases_pb2_grpc.ReleaseNodeStub, "RequestRelease"),
    "cets.v1.DecisionPullRequest": (releases_pb2_grpc.ReleaseNodeStub, "PullDecisions"),
}
"""The node method each kind of signed request goes to."""
_TOO_LARGE = re.compile(r"Received message larger than max \((\d+) vs\. (\d+)\)")


class AnswerTooLarge(CallRefused):
    """A peer's answer was larger than this service accepts; the message says by how much."""


class GrpcCaller:
    """Calls members' nodes over gRPC (TLS when ``tls`` is given). Implements ``Caller``."""

    def __init__(
        self, tls: ClientTls | None = None, *, max_message_bytes: int = MAX_MESSAGE_BYTES
    ) -> None:
        """``max_message_bytes``: the largest answer accepted from a peer."""
        self._tls = tls
        self._max_message = max_message_bytes
        self._channels: dict[str, tuple[str, grpc.aio.Channel]] = {}
        self._calls: dict[tuple[str, str], Any] = {}
        self._lock = asyncio.Lock()

    async def __call__(
        self, member: Member, request: SignedRequest, timeout_s: float
    ) -> search_pb2.SignedAnswer:
        channel = await self._channel(member)
        kind = request.DESCRIPTOR.full_name
        call = self._calls.get((member.id, kind))
        if call is None:  # one multicallable per member and method, built once
            stub, method = _METHODS[kind]
            call = getattr(stub(channel), method)
            self._calls[(member.id, kind)] = call
        try:
            answer: search_pb2.SignedAnswer = await call(request, timeout=timeout_s)
        except grpc.aio.AioRpcError as exc:
            too_large = self._too_large(exc)
            if too_large is None:
                raise
            raise too_large from None
        return answer

    def _too_large(self, error: grpc.aio.AioRpcError) -> AnswerTooLarge | None:
        """The answer exceeded this side's receive limit (not the node refusing the request)."""
        details = error.details() or ""
        found = _TOO_LARGE.search(details)
        if (
            error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED
            or found is None
            or details.startswith("SERVER:")
            or int(found.group(2)) != self._max_message
        ):
            return None
        return AnswerTooLarge(
            f"the answer is larger than this service accepts: {found.group(1)} bytes, "
            f"at most {self._max_message} bytes"
        )

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
            for kind in _METHODS:
                self._calls.pop((member.id, kind), None)
            return channel

    def _open(self, endpoint: str) -> grpc.aio.Channel:
        options: list[tuple[str, str | int]] = [
            ("grpc.max_receive_message_length", self._max_message),
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
        self._calls.clear()
