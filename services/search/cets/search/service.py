"""The search node's gRPC servicer: verify, apply the policy, search, sign, audit, answer.

Order matters. Nothing is parsed beyond the protobuf envelope until the request's signature,
freshness and audience are proven (:mod:`cets.search.guard`). The sharing policy then decides
what this requester may see, and that decision limits the OpenSearch query itself, so denied
records are never fetched. The answer is signed and bound to the request's nonce, and the audit
entry — who asked, why, what, and what was released — is durably written before the answer
leaves. If the audit log cannot be written, nothing is released.

Each partner agency may search only so often (:mod:`cets.search.ratelimit`), counted once its
request is proven. A request whose bytes are no ``SearchRequest`` at all is refused with
``INVALID_ARGUMENT`` and audited by size and digest (:func:`add_to_server`).

Each call is bounded by the caller's deadline (or the node's default when none is set).
Ordinary logs record who asked and how it went — never the query or the records.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.trace import SpanKind

from cets.common import tracing
from cets.common.audit import AuditLog
from cets.common.grpc_server import add_methods
from cets.common.signing import sign_answer
from cets.core.convert import query_from_proto, result_to_proto
from cets.core.disclosure import Disclosure
from cets.core.query import SearchQuery, SearchResult
from cets.search.answering import Answering
from cets.search.dsl import Scope, build_body, parse_response
from cets.search.errors import (
    AnswerTooLarge,
    CetsError,
    InvalidQuery,
    StoreError,
    StoreTimeout,
)
from cets.search.guard import PermissionDenied, Requester, RequestGuard
from cets.search.identity import NodeIdentity
from cets.search.policy import Plan, SharingPolicy
from cets.search.ratelimit import PeerRateLimit
from cets.search.releases import ReleaseStore
from cets.search.store import RecordStore
from cets.search.streaming import Answer, BadMessage, answer_stream
from cets.v1 import search_pb2, search_pb2_grpc

__all__ = ["NodeIdentity", "OpenSearchSearcher", "SearchNodeService", "Searcher", "add_to_server"]

_log = logging.getLogger(__name__)
_Context = grpc.aio.ServicerContext[Any, search_pb2.SignedAnswer]
_StreamContext = grpc.aio.ServicerContext[Any, search_pb2.StreamedAnswer]
_SERVICE = search_pb2.DESCRIPTOR.services_by_name["SearchNode"].full_name

MIN_BUDGET_S = 0.02
"""Below this much remaining time a search is not started."""


class Searcher(Protocol):
    """Runs one query on one agency's records within ``timeout_s``, limited to ``scope``."""

    async def search(
        self, query: SearchQuery, *, timeout_s: float, scope: Scope | None = None
    ) -> SearchResult: ...


class OpenSearchSearcher:
    """A :class:`Searcher` over the agency's OpenSearch."""

    def __init__(self, store: RecordStore) -> None:
        self._store = store

    async def search(
        self, query: SearchQuery, *, timeout_s: float, scope: Scope | None = None
    ) -> SearchResult:
        # OpenSearch stops collecting a little before the transport gives up, so a slow query
        # returns partial hits rather than nothing.
        body = build_body(query, timeout_ms=int(timeout_s * 800), scope=scope)
        raw = await self._store.search(body, timeout_s=timeout_s)
        return parse_response(query, raw)


class SearchNodeService(Answering, search_pb2_grpc.SearchNodeServicer):  # type: ignore[misc]
    what = "search"

    def __init__(
        self,
        *,
        identity: NodeIdentity,
        searcher: Searcher,
        guard: RequestGuard,
        policy: SharingPolicy,
        audit: AuditLog,
        default_timeout_s: float,
        rate_limit: PeerRateLimit | None = None,
        max_answer_bytes: int | None = None,
        releases: ReleaseStore | None = None,
    ) -> None:
        """``rate_limit``: how often each agency may search; none: as often as it likes.
        ``max_answer_bytes``: the largest answer sent (the server's send limit); a larger one
        is refused, and recorded as refused, before anything leaves."""
        super().__init__(audit)
        self._me = identity
        self._searcher = searcher
        self._guard = guard
        self._policy = policy
        self._default_timeout = default_timeout_s
        self._rate_limit = rate_limit
        self._max_answer = max_answer_bytes
        self._releases = releases
        self._ending = asyncio.Event()

    def end_streams(self) -> None:
        """Stop reading SearchStreams (the node is stopping): the searches running on them are
        answered, then each stream ends, and callers open new ones."""
        self._ending.set()

    async def Search(
        self, request: search_pb2.SearchRequest, context: _Context
    ) -> search_pb2.SignedAnswer:
        started = time.monotonic()
        entry: dict[str, Any] = {"kind": "node.search", "verified": False}
        try:
            entry = _received(request)
            requester = self._guard.check(request)
            entry.update(verified=True, query=_query_json(request.query))
            if self._rate_limit is not None:
                self._rate_limit.admit(requester.member.id)
            if request.query.release_id:  # the owner's approval, not the policy, governs
                entry["release"] = request.query.release_id[:64]  # refused or not
                plan = await self._approved(request, requester)
            else:
                plan = self._policy.plan_for(requester.member)
            if plan.releases_nothing():
                raise PermissionDenied(
                    f"the sharing policy of {self._me.agency_id!r} releases nothing "
                    f"to {requester.member.id!r}"
                )
            result = await self._run(request, plan, self._budget(context))
            response = self._answer(result, plan, requester)
            signed = sign_answer(response, self._me.signing_key)
            if self._max_answer is not None and signed.ByteSize() > self._max_answer:
                raise AnswerTooLarge(
                    f"the answer would be {signed.ByteSize()} bytes, more than this node sends "
                    f"({self._max_answer}); ask for fewer records (a lower limit) or narrow "
                    "the query"
                )
            entry.update(_released(response))
            entry["answer_sha256"] = hashlib.sha256(signed.answer).hexdigest()
            await self._record(entry)
        except TimeoutError:
            await self._fail(context, StoreTimeout("the search did not finish in time"), entry)
            raise  # not reached: abort() raises
        except CetsError as exc:
            await self._fail(context, exc, entry)
            raise  # not reached: abort() raises
        except Exception as exc:  # a defect: recorded, never shown to the caller
            _log.exception("search failed unexpectedly", extra={"error": type(exc).__name__})
            await self._fail(context, StoreError("the search failed; see the node's log"), entry)
            raise  # not reached: abort() raises
        _log.info(
            "search answered",
            extra={
                "requester": requester.member.id,
                "outcome": "ok",
                "level": plan.most.value,
                "hits": len(response.hits),
                "ms": _ms(started),
            },
        )
        return signed

    async def search_bytes(self, data: bytes, context: _Context) -> search_pb2.SignedAnswer:
        """:meth:`Search` for a request still in its wire form, refusing bytes that do not parse.

        With traces on, each search is a trace of its own (a new root): a caller's trace
        context is never continued, as partners' calls carry none (cets.common.tracing)."""
        with tracing.span(
            "cets.node.search", agency=self._me.agency_id, kind=SpanKind.SERVER
        ) as current:
            try:
                answer = await self._search_bytes(data, context)
            except BaseException:
                tracing.outcome(current, "refused")
                raise
            tracing.outcome(current, "ok")
            return answer

    async def _search_bytes(self, data: bytes, context: _Context) -> search_pb2.SignedAnswer:
        try:
            request = search_pb2.SearchRequest.FromString(data)
        except DecodeError:
            entry: dict[str, Any] = {
                "kind": "node.search",
                "verified": False,
                "request_bytes": len(data),
                "request_sha256": hashlib.sha256(data).hexdigest(),
            }
            error = InvalidQuery(
                "the request is not a cets.v1.SearchRequest: its bytes do not parse"
            )
            await self._fail(context, error, entry)
            raise  # not reached: abort() raises
        return await self.Search(request, context)

    async def search_stream(
        self, requests: AsyncIterator[bytes], context: _StreamContext
    ) -> AsyncIterator[search_pb2.StreamedAnswer]:
        """SearchStream: each message answered as :meth:`search_bytes` answers a call
        (cets.search.streaming). A message that does not parse is recorded, by its size and
        digest, and ends the stream with ``INVALID_ARGUMENT``."""
        answer = cast(Answer, self.search_bytes)  # a MessageContext is all it uses of a context
        try:
            stream = answer_stream(requests, answer, context=context, ending=self._ending)
            async for answered in stream:
                yield answered
        except BadMessage as exc:
            entry: dict[str, Any] = {
                "kind": "node.search",
                "verified": False,
                "stream": True,
                "request_bytes": len(exc.data),
                "request_sha256": hashlib.sha256(exc.data).hexdigest(),
            }
            await self._fail(context, InvalidQuery(str(exc)), entry)

    async def _approved(self, request: search_pb2.SearchRequest, requester: Requester) -> Plan:
        """Every record asked for at the level the owner approved under the release."""
        if self._releases is None:
            raise PermissionDenied(f"{self._me.agency_id!r} takes no release requests")
        level = await self._releases.approved_level(
            requester=requester.member.id,
            release_id=request.query.release_id,
            record_ids=request.query.record_ids,
            now=datetime.now(UTC),
        )
        return Plan(rules=(), default=level)

    async def _run(
        self, request: search_pb2.SearchRequest, plan: Plan, budget: float
    ) -> SearchResult:
        if budget < MIN_BUDGET_S:
            raise StoreTimeout("the deadline leaves no time to search")
        query = query_from_proto(
            request.query, default_region=self._me.default_region, card_key=self._me.card_key
        )
        # under a release, the records are the approved ones (checked): no policy scope
        # an image (by its hashes) is an identifier the requester holds, as a selector is
        by_identifier = bool(query.selectors) or query.image is not None
        scope = Scope() if query.release_id else _scope(plan, by_selector=by_identifier)
        async with asyncio.timeout(budget):
            return await self._searcher.search(query, timeout_s=budget, scope=scope)

    def _answer(
        self, result: SearchResult, plan: Plan, requester: Requester
    ) -> search_pb2.SearchResponse:
        response = result_to_proto(
            self._me.agency_id,
            result,
            level_for=plan.level_for,
            applied=plan.most,
            contact=self._policy.contact,
        )
        response.request_nonce = requester.nonce
        return response

    def _budget(self, context: _Context) -> float:
        """Time for the search: what the caller allows, less a little to sign and record."""
        remaining = context.time_remaining()
        budget = (
            self._default_timeout if remaining is None else min(remaining, self._default_timeout)
        )
        return float(budget) - min(0.05, budget * 0.1)


def add_to_server(service: SearchNodeService, server: grpc.aio.Server) -> None:
    """Serve ``service`` on ``server``.

    Like the generated ``add_SearchNodeServicer_to_server``, except that the request's bytes
    are parsed by the service: grpc would answer bytes that are no ``SearchRequest`` with
    ``UNKNOWN`` and the parser's exception, unaudited.
    """
    handlers = {
        "Search": grpc.unary_unary_rpc_method_handler(
            service.search_bytes,
            response_serializer=search_pb2.SignedAnswer.SerializeToString,
        ),
        "SearchStream": grpc.stream_stream_rpc_method_handler(
            service.search_stream,
            response_serializer=search_pb2.StreamedAnswer.SerializeToString,
        ),
    }
    add_methods(server, _SERVICE, handlers)


def _scope(plan: Plan, *, by_selector: bool) -> Scope:
    """The policy as OpenSearch filters for one query.

    Denied records are never read. Records released only in summary or as a count can be
    found only by an identifier the requester already holds: free text or a name must not
    let a partner probe what such records say.
    """
    hidden = [Disclosure.DENY]
    if not by_selector:
        hidden += [Disclosure.SUMMARY, Disclosure.HIT]
    counted = plan.os_filter_for(Disclosure.HIT) if by_selector else _NOTHING
    return Scope(
        exclude=_any(plan.os_filter_for(level) for level in hidden), count_only=_some(counted)
    )


_NOTHING: dict[str, Any] = {"match_none": {}}


def _some(clause: dict[str, Any]) -> dict[str, Any] | None:
    return None if "match_none" in clause else clause


def _any(clauses: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    kept = [c for c in clauses if _some(c) is not None]
    if len(kept) <= 1:
        return kept[0] if kept else None
    return {"bool": {"should": kept, "minimum_should_match": 1}}


def _received(request: search_pb2.SearchRequest) -> dict[str, Any]:
    """The audit entry for a request as received: its claims, and only the size and digest of
    its query until the signature proves who sent it (so strangers cannot fill the log)."""
    context = request.context
    query = request.query.SerializeToString(deterministic=True)
    return {
        "kind": "node.search",
        "verified": False,
        "requester": context.requester_agency[:64] or "-",
        "officer": context.officer_id[:128],
        "purpose": context.purpose[:512],
        "case": context.case_reference[:128],
        "audience": context.audience[:64],
        "audiences": len(context.audience_commitments),  # a fan-out: how many were asked
        "nonce": base64.b64encode(context.nonce[:64]).decode("ascii"),
        "query_bytes": len(query),
        "query_sha256": hashlib.sha256(query).hexdigest(),
    }


def _query_json(query: search_pb2.Query) -> dict[str, Any]:
    value: dict[str, Any] = json_format.MessageToDict(query, preserving_proto_field_name=True)
    return value


def _released(response: search_pb2.SearchResponse) -> dict[str, Any]:
    level = search_pb2.DisclosureLevel.Name(response.disclosure).removeprefix("DISCLOSURE_LEVEL_")
    return {
        "outcome": "ok",
        "level": level.lower(),
        "total": response.total_hits,
        "withheld": response.withheld_hits,
        "released": [
            {
                "record": hit.record_id,
                "level": search_pb2.DisclosureLevel.Name(hit.disclosure)
                .removeprefix("DISCLOSURE_LEVEL_")
                .lower(),
            }
            for hit in response.hits
        ],
    }


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
