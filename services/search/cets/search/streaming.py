"""SearchStream: many signed searches over one stream, each answered as a Search call is.

A coordinator that searches 200 nodes at once pays grpc's cost of a call 200 times a query;
over one stream per node it pays the (much smaller) cost of a message. Nothing else changes:
each message holds the bytes of a ``SearchRequest`` and goes through the node's own
``search_bytes`` — signature, audience, replay, rate limit, policy, audit and signed answer —
with a context of its own (:class:`MessageContext`), so a refusal ends only that message
and comes back as its ``CallError``. Searches on one stream run side by side, at most
:data:`MAX_IN_FLIGHT` at once (the stream is not read further until one ends, so a caller
that sends more waits on the transport's flow control), and their answers go out as they
are ready.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn

import grpc
from google.protobuf.message import DecodeError

from cets.v1 import search_pb2

__all__ = ["MAX_IN_FLIGHT", "Aborted", "BadMessage", "MessageContext", "answer_stream"]

_log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 64
"""Searches of one stream answered at once."""


class Aborted(Exception):
    """A search's refusal: what its call would have ended with."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


class BadMessage(Exception):
    """A stream's message that is no ``StreamedSearch``: the stream ends (``data``: its bytes)."""

    def __init__(self, data: bytes) -> None:
        super().__init__("the message is not a cets.v1.StreamedSearch: its bytes do not parse")
        self.data = data


class MessageContext:
    """The part of a call's context a search uses, for one message of a stream: the time it
    may take, and ``abort``, which ends this message only (:class:`Aborted`)."""

    def __init__(self, timeout_s: float | None) -> None:
        self._deadline = None if timeout_s is None else time.monotonic() + timeout_s

    def time_remaining(self) -> float | None:
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - time.monotonic())

    async def abort(self, code: grpc.StatusCode, details: str = "", *_: Any) -> NoReturn:
        raise Aborted(code, details)


Answer = Callable[[bytes, MessageContext], Awaitable[search_pb2.SignedAnswer]]
"""How the node answers one request's bytes (its ``search_bytes``)."""


async def answer_stream(
    requests: AsyncIterator[bytes],
    answer: Answer,
    *,
    context: grpc.aio.ServicerContext[Any, Any],
    ending: asyncio.Event,
    limit: int = MAX_IN_FLIGHT,
) -> AsyncIterator[search_pb2.StreamedAnswer]:
    """Each message of ``requests`` answered by ``answer``, in the order the answers are ready.

    The stream's opening is answered first, at once (its initial metadata, through
    ``context``): callers write nothing before it, so that they can tell a node without
    SearchStream (``UNIMPLEMENTED`` alone) from a stream that broke.

    Once ``ending`` is set (the node is stopping), no more messages are read: the searches
    running are answered and the stream ends, so that the caller opens a new one (to the node
    once it is back) instead of holding the node's shutdown for its whole grace period.

    Raises :class:`BadMessage` (after the answers already made) for a message that does not
    parse; the searches still running are then cancelled.
    """
    await context.send_initial_metadata(())
    ready: asyncio.Queue[search_pb2.StreamedAnswer | BadMessage | None] = asyncio.Queue()
    slots = asyncio.Semaphore(limit)
    running: set[asyncio.Task[None]] = set()

    async def one(message: search_pb2.StreamedSearch) -> None:
        timeout = message.timeout_ms / 1000 if message.timeout_ms else None
        try:
            signed = await answer(message.request, MessageContext(timeout))
            out = search_pb2.StreamedAnswer(id=message.id, answer=signed)
        except Aborted as exc:
            out = _error(message.id, exc.code, exc.details)
        except Exception as exc:  # noqa: BLE001 - a defect: this message fails, not the stream
            _log.exception("streamed search failed", extra={"error": type(exc).__name__})
            out = _error(message.id, grpc.StatusCode.INTERNAL, "the search failed")
        finally:
            slots.release()
        ready.put_nowait(out)

    async def read() -> None:
        try:
            async for data in requests:
                try:
                    message = search_pb2.StreamedSearch.FromString(data)
                except DecodeError:
                    ready.put_nowait(BadMessage(data))
                    return
                await slots.acquire()
                task = asyncio.create_task(one(message))
                running.add(task)
                task.add_done_callback(running.discard)
            if running:
                await asyncio.wait(set(running))
        finally:
            ready.put_nowait(None)

    reader = asyncio.create_task(read())
    stopping = asyncio.ensure_future(ending.wait())
    try:
        while True:
            next_answer = asyncio.ensure_future(ready.get())
            await asyncio.wait({next_answer, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not next_answer.done():
                next_answer.cancel()
                break
            item = next_answer.result()
            if item is None:
                return
            if isinstance(item, BadMessage):
                raise item
            yield item
        reader.cancel()  # the node is stopping: answer what runs, read nothing more
        if running:
            await asyncio.wait(set(running))
        while not ready.empty():
            item = ready.get_nowait()
            if isinstance(item, search_pb2.StreamedAnswer):
                yield item
    finally:
        stopping.cancel()
        reader.cancel()
        for task in list(running):
            task.cancel()


def _error(request_id: int, code: grpc.StatusCode, details: str) -> search_pb2.StreamedAnswer:
    status = search_pb2.CallError(code=code.value[0], message=details)
    return search_pb2.StreamedAnswer(id=request_id, error=status)
