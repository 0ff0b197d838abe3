"""A cap on request bodies: anything longer is refused with 413 before it is parsed.

Every body the API takes is a small JSON object (the longest valid search is well under
:data:`MAX_BODY_BYTES`), so the whole body is read, up to the cap, before the app sees it; a
``Content-Length`` above the cap is refused without reading anything. The only exceptions are
the paths named in ``own_limit`` (an image to hash), whose endpoints stream and cap the body
themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_BODY_BYTES", "BodyLimit"]

MAX_BODY_BYTES = 1024 * 1024


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413 ``{"error": ...}``."""

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, own_limit: Iterable[str] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.own_limit = frozenset(own_limit)
        """Exact paths whose endpoints cap their bodies themselves; every other path: this cap."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.own_limit:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)

    async def _refuse(self, send: Send) -> None:
        limit = f"{self.max_bytes // 1024} KiB"
        payload = json.dumps({"error": f"the request body is longer than {limit}"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Any:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
