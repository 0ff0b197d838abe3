"""The node's access to its agency's OpenSearch, and the one place its errors are translated.

opensearch-py raises ``ConnectionError``/``ConnectionTimeout`` when the cluster is unreachable
or slow, and ``TransportError`` subclasses when it answers with an error. :func:`translate_errors`
turns them into :mod:`cets.search.errors` without copying OpenSearch's reason text, which can
quote the query.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from opensearchpy import (
    AsyncOpenSearch,
    ConnectionError,
    ConnectionTimeout,
    JSONSerializer,
    OpenSearch,
    SerializationError,
    TransportError,
)

from cets.search.errors import StoreError, StoreTimeout, StoreUnavailable

__all__ = ["RecordStore", "connect", "connect_async", "hosts_of", "translate_errors"]

_log = logging.getLogger(__name__)
_OVERLOADED = {429, 503}


@contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Translate opensearch-py errors raised inside the block; ``action`` says what failed."""
    try:
        yield
    except ConnectionTimeout:
        raise StoreTimeout(f"OpenSearch did not answer in time to {action}") from None
    except ConnectionError:
        raise StoreUnavailable(f"OpenSearch is unreachable; could not {action}") from None
    except TransportError as exc:
        status = exc.status_code if isinstance(exc.status_code, int) else 0
        if status in _OVERLOADED:
            raise StoreUnavailable(
                f"OpenSearch is overloaded ({status}); could not {action}"
            ) from None
        kind = exc.error if isinstance(exc.error, str) else "error"
        raise StoreError(f"OpenSearch refused to {action}: {kind} ({status})") from None


def hosts_of(url: str) -> list[str]:
    """The OpenSearch nodes named by ``OPENSEARCH_URL``: one URL, or several separated by
    commas (nodes of one cluster; a request that cannot reach one goes to the next)."""
    return [part.strip() for part in url.split(",") if part.strip()]


class FastJSONSerializer(JSONSerializer):
    """opensearch-py's JSON serializer on orjson: every search body out and every answer in
    passes through it (the client's own ``json`` is a measurable part of a search)."""

    def loads(self, s: str | bytes) -> Any:
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError as exc:
            raise SerializationError(s, exc) from None

    def dumps(self, data: Any) -> Any:
        if isinstance(data, str | bytes):
            return data
        try:
            return orjson.dumps(data, default=self.default).decode("utf-8")
        except TypeError as exc:
            raise SerializationError(data, exc) from None


def connect(url: str, *, timeout_s: float = 30.0, retries: int = 2) -> OpenSearch:
    """A synchronous client, for ingest and administration. With several nodes, a request
    whose node is unreachable is tried on each of the others."""
    hosts = hosts_of(url)
    return OpenSearch(
        hosts=hosts,
        timeout=timeout_s,
        max_retries=max(retries, len(hosts) - 1),
        retry_on_timeout=False,
        serializer=FastJSONSerializer(),
    )


def connect_async(url: str, *, timeout_s: float = 10.0) -> AsyncOpenSearch:
    """An asynchronous client, for the gRPC server. No retries on one node (the caller's
    deadline rules); with several, an unreachable node's request goes to the next one."""
    hosts = hosts_of(url)
    return AsyncOpenSearch(
        hosts=hosts,
        timeout=timeout_s,
        max_retries=len(hosts) - 1,
        retry_on_timeout=False,
        serializer=FastJSONSerializer(),
    )


class RecordStore:
    """Searches one agency's record alias."""

    def __init__(self, client: AsyncOpenSearch, alias: str) -> None:
        self._client = client
        self._alias = alias

    async def search(self, body: dict[str, Any], *, timeout_s: float) -> dict[str, Any]:
        """Run a search body; ``timeout_s`` bounds the whole round trip."""
        with translate_errors("search"):
            result: dict[str, Any] = await self._client.search(
                index=self._alias, body=body, request_timeout=timeout_s
            )
        return result

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping(request_timeout=2.0))
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False

    async def close(self) -> None:
        await self._client.close()
