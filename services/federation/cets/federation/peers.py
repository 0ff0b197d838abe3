"""gRPC channels to the members' search nodes, one per member, reused across searches.

Searches go over one long-lived ``SearchStream`` per member (:class:`_SearchStream`): a
message costs the coordinator much less than a call, and a fan-out sends one to each of up
to hundreds of nodes. Each message is signed, checked and answered as a ``Search`` call is,
and tells the node the time left, as a call's deadline would (the fan-out stops waiting for
it at its deadline); when the stream breaks (the node restarted, the network failed), the
searches waiting on it fail as their calls would have (``UNAVAILABLE``) and the next search
opens a new one. A node without ``SearchStream``
(``UNIMPLEMENTED``) is searched with ``Search`` from then on. Watches, alert pulls and
release requests are calls.

An answer larger than this service accepts is that agency's error, named as such: grpc reports
it as ``RESOURCE_EXHAUSTED``, which from a node means the node refused the request.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
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
        self._streams: dict[str, _SearchStream] = {}
        self._unary_only: set[str] = set()
        """Members whose node has no SearchStream."""
        self._lock = asyncio.Lock()

    async def __call__(
        self, member: Member, request: SignedRequest, timeout_s: float
    ) -> search_pb2.SignedAnswer:
        channel = await self._channel(member)
        if isinstance(request, search_pb2.SearchRequest) and member.id not in self._unary_only:
            began = time.monotonic()
            try:
                return await self._streamed(member, channel, request, timeout_s)
            except _NoStream:
                self._unary_only.add(member.id)
                timeout_s -= time.monotonic() - began
        return await self._unary(member, channel, request, timeout_s)

    async def _unary(
        self, member: Member, channel: grpc.aio.Channel, request: SignedRequest, timeout_s: float
    ) -> search_pb2.SignedAnswer:
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

    async def _streamed(
        self,
        member: Member,
        channel: grpc.aio.Channel,
        request: search_pb2.SearchRequest,
        timeout_s: float,
    ) -> search_pb2.SignedAnswer:
        stream = self._streams.get(member.id)
        if stream is None or stream.closed:
            stream = self._streams[member.id] = _SearchStream(channel)
        try:
            return await stream.search(request, timeout_s)
        except grpc.aio.AioRpcError as exc:
            too_large = self._too_large(exc)
            if too_large is None:
                raise
            raise too_large from None

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
            stream = self._streams.pop(member.id, None)
            if stream is not None:
                stream.close()
            self._unary_only.discard(member.id)
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
        for stream in self._streams.values():
            stream.close()
        self._streams.clear()
        for _, channel in self._channels.values():
            await channel.close(grace=None)
        self._channels.clear()
        self._calls.clear()


_EOF = grpc.aio.EOF  # type: ignore[attr-defined]
"""What a stream's read gives once the other side has ended it."""

_CORE_FAILURE = "Internal error from Core"
"""The status grpc gives a stream, in place of its own, when a write or read races the
stream's end (the node ended it, or refused it, as the operation went out): the stream has
ended, whatever the node had said."""


class _NoStream(Exception):
    """The member's node has no SearchStream: search it with calls."""


class _SearchStream:
    """One open ``SearchStream`` to a member's node: searches sent as messages, their answers
    matched to them by id as they come.

    Nothing is written before the node has answered the stream's opening (its initial
    metadata, which a node sends first): a node without SearchStream answers with
    ``UNIMPLEMENTED`` alone, and a write racing that answer would leave the stream with grpc's
    own ``INTERNAL`` instead, hiding why it ended.
    """

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._call = search_pb2_grpc.SearchNodeStub(channel).SearchStream()
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[search_pb2.StreamedAnswer]] = {}
        self._writing = asyncio.Lock()  # one message written at a time
        self._opened = False
        self.closed = False
        self._reader = asyncio.create_task(self._read())

    async def search(
        self, request: search_pb2.SearchRequest, timeout_s: float
    ) -> search_pb2.SignedAnswer:
        """The node's answer to ``request``, which it has ``timeout_s`` to give (the caller
        stops waiting by cancelling this); ``grpc.aio.AioRpcError`` for a refusal or a broken
        stream; :class:`_NoStream` when the node has no SearchStream."""
        request_id = next(self._ids)
        answer = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answer
        message = search_pb2.StreamedSearch(
            id=request_id,
            request=request.SerializeToString(),
            timeout_ms=max(1, int(timeout_s * 1000)),
        )
        try:
            async with self._writing:
                if not self._opened:
                    await self._open()
                try:
                    await self._call.write(message)
                except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
                    raise await self._ended() from None  # not sent: the end says why
            streamed = await answer
        finally:
            self._waiting.pop(request_id, None)
            if answer.done() and not answer.cancelled():
                answer.exception()  # seen: the outcome is this search's error or answer
        if streamed.HasField("error"):
            raise _refused(streamed.error)
        signed: search_pb2.SignedAnswer = streamed.answer
        return signed

    async def _open(self) -> None:
        """Wait for the node's answer to the stream's opening (called under the write lock)."""
        await self._call.initial_metadata()
        if self._call.done():  # refused outright: UNIMPLEMENTED, or the node's own refusal
            raise await self._ended()
        self._opened = True

    async def _read(self) -> None:
        error: BaseException
        try:
            while True:
                streamed = await self._call.read()
                if streamed is _EOF:
                    error = _broken("the node ended the stream")
                    break
                if streamed is None:  # grpc.aio's answer to bytes that do not parse
                    error = _rpc_error(grpc.StatusCode.INTERNAL, "unreadable answer")
                    self._call.cancel()
                    break
                waiting = self._waiting.get(streamed.id)
                if waiting is not None and not waiting.done():
                    waiting.set_result(streamed)
        except grpc.aio.AioRpcError as exc:
            error = _end_of(exc.code(), exc.details())
        except asyncio.CancelledError:
            error = _broken("the stream was closed")
        except Exception as exc:  # noqa: BLE001 - the stream is unusable; each search says so
            error = _broken(f"the stream failed: {type(exc).__name__}")
        self.closed = True
        for waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_exception(error)

    async def _ended(self) -> BaseException:
        """Why the stream ended, once it has, as a call's error (:class:`_NoStream` when the
        node has no SearchStream)."""
        self.closed = True
        return _end_of(await self._call.code(), await self._call.details())

    def close(self) -> None:
        self.closed = True
        self._call.cancel()


def _end_of(code: grpc.StatusCode, details: str | None) -> BaseException:
    """A stream's end as its searches' error."""
    if code is grpc.StatusCode.UNIMPLEMENTED:
        return _NoStream()
    if code in (grpc.StatusCode.OK, grpc.StatusCode.CANCELLED):
        return _broken("the stream to the node has ended")
    if code is grpc.StatusCode.INTERNAL and details == _CORE_FAILURE:
        return _broken("the stream to the node ended as a search was sent")
    return _rpc_error(code, details or "")


def _refused(error: search_pb2.CallError) -> grpc.aio.AioRpcError:
    """A streamed search's refusal, as its call would have raised it."""
    try:
        code = _STATUS_BY_NUMBER[error.code]
    except KeyError:
        code = grpc.StatusCode.UNKNOWN
    return _rpc_error(code, error.message)


def _broken(details: str) -> grpc.aio.AioRpcError:
    return _rpc_error(grpc.StatusCode.UNAVAILABLE, details)


def _rpc_error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    metadata = grpc.aio.Metadata()
    return grpc.aio.AioRpcError(code, metadata, metadata, details=details, debug_error_string="")


_STATUS_BY_NUMBER = {status.value[0]: status for status in grpc.StatusCode}
