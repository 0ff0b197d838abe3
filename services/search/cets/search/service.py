"""The search node's gRPC servicer: unwrap, call the domain, map errors to status codes.

Each call is bounded by the caller's deadline (or the node's default when none is set); the
OpenSearch request gets what remains. Ordinary logs record who asked and how it went — never
the query or the records.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

import grpc

from cets.search.convert import query_from_proto, result_to_proto
from cets.search.errors import InvalidQuery, NodeError, StoreError, StoreTimeout, StoreUnavailable
from cets.search.query import SearchQuery, SearchResult, build_body, parse_response
from cets.search.store import RecordStore
from cets.v1 import search_pb2, search_pb2_grpc

__all__ = ["OpenSearchSearcher", "SearchNodeService", "Searcher"]

_log = logging.getLogger(__name__)
_Context = grpc.aio.ServicerContext[search_pb2.SearchRequest, search_pb2.SearchResponse]

MIN_BUDGET_S = 0.02
"""Below this much remaining time a search is not started."""
_STATUS: dict[type[NodeError], grpc.StatusCode] = {
    InvalidQuery: grpc.StatusCode.INVALID_ARGUMENT,
    StoreUnavailable: grpc.StatusCode.UNAVAILABLE,
    StoreTimeout: grpc.StatusCode.DEADLINE_EXCEEDED,
    StoreError: grpc.StatusCode.INTERNAL,
}


class Searcher(Protocol):
    """Runs one query on one agency's records within ``timeout_s``."""

    async def search(self, query: SearchQuery, *, timeout_s: float) -> SearchResult: ...


class OpenSearchSearcher:
    """A :class:`Searcher` over the agency's OpenSearch."""

    def __init__(self, store: RecordStore) -> None:
        self._store = store

    async def search(self, query: SearchQuery, *, timeout_s: float) -> SearchResult:
        # OpenSearch stops collecting a little before the transport gives up, so a slow query
        # returns partial hits rather than nothing.
        body = build_body(query, timeout_ms=int(timeout_s * 800))
        raw = await self._store.search(body, timeout_s=timeout_s)
        return parse_response(query, raw)


class SearchNodeService(search_pb2_grpc.SearchNodeServicer):  # type: ignore[misc]
    def __init__(
        self,
        *,
        agency_id: str,
        searcher: Searcher,
        card_key: bytes,
        default_region: str | None,
        default_timeout_s: float,
    ) -> None:
        self._agency = agency_id
        self._searcher = searcher
        self._card_key = card_key
        self._region = default_region
        self._default_timeout = default_timeout_s

    async def Search(
        self, request: search_pb2.SearchRequest, context: _Context
    ) -> search_pb2.SearchResponse:
        started = time.monotonic()
        requester = request.context.requester_agency or "-"
        budget = self._budget(context)
        try:
            if budget < MIN_BUDGET_S:
                raise StoreTimeout("the deadline leaves no time to search")
            query = query_from_proto(
                request.query, default_region=self._region, card_key=self._card_key
            )
            async with asyncio.timeout(budget):
                result = await self._searcher.search(query, timeout_s=budget)
        except TimeoutError:
            timeout = StoreTimeout("the search did not finish in time")
            await self._fail(context, timeout, requester, started)
            raise  # not reached: abort() raises
        except NodeError as exc:
            await self._fail(context, exc, requester, started)
            raise
        response = result_to_proto(self._agency, result)
        response.request_nonce = request.context.nonce
        _log.info(
            "search answered",
            extra={
                "requester": requester,
                "outcome": "ok",
                "hits": len(result.hits),
                "ms": _ms(started),
            },
        )
        return response

    def _budget(self, context: _Context) -> float:
        remaining = context.time_remaining()
        if remaining is None:
            return self._default_timeout
        return min(float(remaining), self._default_timeout)

    async def _fail(
        self,
        context: _Context,
        error: NodeError,
        requester: str,
        started: float,
    ) -> None:
        code = _STATUS.get(type(error), grpc.StatusCode.INTERNAL)
        level = logging.WARNING if code is not grpc.StatusCode.INTERNAL else logging.ERROR
        _log.log(
            level,
            "search failed",
            extra={
                "requester": requester,
                "outcome": code.name.lower(),
                "reason": str(error),
                "ms": _ms(started),
            },
        )
        await context.abort(code, str(error))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
