"""The federation service's gRPC servicer: validate, record, fan out, record, answer.

The query is normalised here with this agency's rules (phone numbers to E.164 with its
region, card numbers to fingerprints with the shared card key) so every partner receives the
same identifiers, and no raw card number ever leaves. What is sent is durably recorded in the
audit log before anything is sent; what came back is recorded before the officer sees it.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError

from cets.common import tracing
from cets.common.audit import AuditLog
from cets.common.grpc_server import add_methods
from cets.common.membership import Member, Membership, Role
from cets.common.signing import MAX_AUDIENCES
from cets.core.convert import (
    query_from_proto,
    query_to_proto,
    selector_to_proto,
    selectors_from_proto,
)
from cets.core.errors import InvalidQuery
from cets.core.selectors import is_card_fingerprint
from cets.federation.fanout import FanOut, Outcome, Status, Tail, Who
from cets.v1 import federation_pb2, federation_pb2_grpc, records_pb2, search_pb2

__all__ = [
    "STATUS_CODES",
    "FederationService",
    "QueryRules",
    "Servicing",
    "client_allowed",
    "response_bytes",
    "who_of",
]

_log = logging.getLogger(__name__)
_SERVICE = federation_pb2.DESCRIPTOR.services_by_name["Federation"].full_name
_Context = grpc.aio.ServicerContext[Any, federation_pb2.FederatedSearchResponse]
STATUS_CODES = {
    Status.OK: search_pb2.AgencyStatus.CODE_OK,
    Status.PARTIAL: search_pb2.AgencyStatus.CODE_PARTIAL,
    Status.TIMEOUT: search_pb2.AgencyStatus.CODE_TIMEOUT,
    Status.UNAVAILABLE: search_pb2.AgencyStatus.CODE_UNAVAILABLE,
    Status.REJECTED: search_pb2.AgencyStatus.CODE_REJECTED,
    Status.ERROR: search_pb2.AgencyStatus.CODE_ERROR,
}
MAX_TARGETS = MAX_AUDIENCES  # one signature names every target
_NO_CARD_KEY = bytes(32)  # never used: card numbers are refused without the shared key
_FIELD_LIMITS = (
    ("officer_id", "officer", 128),
    ("purpose", "purpose", 512),
    ("case_reference", "case reference", 128),
)


@dataclass(frozen=True, slots=True)
class QueryRules:
    """How this agency normalises the identifiers officers type."""

    default_region: str | None
    card_key: bytes | None


class Servicing:
    """What every request this service takes shares: the client check, the officer and
    targets, the deadline, normalising identifiers, and the audit record."""

    def __init__(
        self,
        *,
        fanout: FanOut,
        membership: Callable[[], Membership],
        audit: AuditLog,
        rules: QueryRules,
        default_timeout_s: float,
        max_timeout_s: float,
        allowed_clients: frozenset[str] = frozenset(),
    ) -> None:
        self._allowed = allowed_clients
        self._fanout = fanout
        self._membership = membership
        self._audit = audit
        self._rules = rules
        self._default_timeout = default_timeout_s
        self._max_timeout = max_timeout_s

    async def _check_client(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        if self._allowed and not client_allowed(context.auth_context(), self._allowed):
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED, "this client may not search for the agency"
            )

    def _selectors(
        self, selectors: Sequence[records_pb2.Selector]
    ) -> tuple[records_pb2.Selector, ...]:
        """Selectors normalised with this agency's rules; card numbers become fingerprints."""
        self._check_cards(selectors)
        normalised = selectors_from_proto(
            selectors,
            default_region=self._rules.default_region,
            card_key=self._rules.card_key or _NO_CARD_KEY,
        )
        return tuple(selector_to_proto(s) for s in normalised)

    def _check_cards(self, selectors: Sequence[records_pb2.Selector]) -> None:
        numbers = [
            s
            for s in selectors
            if s.kind == records_pb2.SELECTOR_KIND_CARD and not is_card_fingerprint(s.value)
        ]
        if numbers and self._rules.card_key is None:
            raise InvalidQuery("card numbers cannot be searched: no shared card key is configured")

    def _targets(self, wanted: Sequence[str]) -> list[Member]:
        membership = self._membership()
        if not wanted:  # every member holding records; coordinator-only entries hold none
            return [m for m in membership.active_members() if Role.MEMBER in m.roles]
        if len(wanted) > MAX_TARGETS:
            raise InvalidQuery(f"more than {MAX_TARGETS} targets")
        targets: list[Member] = []
        for agency in dict.fromkeys(wanted):
            member = membership.get(agency)
            if member is None:
                raise InvalidQuery(f"unknown agency {agency[:64]!r}")
            if not member.active:
                raise InvalidQuery(f"agency {agency!r} is no longer a member")
            targets.append(member)
        return targets

    def _timeout(self, context: grpc.aio.ServicerContext[Any, Any]) -> float:
        remaining = context.time_remaining()
        budget = self._default_timeout if remaining is None else min(remaining, self._max_timeout)
        # keep a little back to assemble the answer and write the audit entry
        return max(0.0, budget - min(0.1, budget * 0.1))

    async def _record(
        self, entry: dict[str, Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        """Write ``entry`` durably, or end the call: no audit, no request."""
        try:
            await self._audit.append_async(entry)
        except Exception as exc:  # noqa: BLE001 - any failure to record ends the call
            _log.error("audit log write failed", extra={"error": type(exc).__name__})
            await context.abort(grpc.StatusCode.INTERNAL, "the audit log cannot be written")


class FederationService(Servicing, federation_pb2_grpc.FederationServicer):  # type: ignore[misc]
    def __init__(self, *, tail: Tail | None = None, **parts: Any) -> None:
        """``tail``: when a search of many agencies stops waiting for the last few (none:
        every search waits for every agency until its deadline)."""
        super().__init__(**parts)
        self._tail = tail

    async def search_bytes(self, data: bytes, context: _Context) -> bytes:
        """:meth:`Search` for a request still in its wire form, refusing bytes that do not
        parse with ``INVALID_ARGUMENT`` (grpc itself would answer ``UNKNOWN``)."""
        await self._check_client(context)
        try:
            request = federation_pb2.FederatedSearchRequest.FromString(data)
        except DecodeError:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "the request is not a cets.v1.FederatedSearchRequest: its bytes do not parse",
            )
            raise  # not reached: abort() raises
        return await self.Search(request, context)

    async def Search(
        self, request: federation_pb2.FederatedSearchRequest, context: _Context
    ) -> bytes:
        """The ``FederatedSearchResponse``, serialised (see :func:`response_bytes`)."""
        started = time.monotonic()
        await self._check_client(context)
        try:
            who = who_of(request)
            query = self._normalised(request.query)
            targets = self._targets(request.targets)
        except InvalidQuery as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise  # not reached: abort() raises
        timeout = self._timeout(context)
        deadline = started + timeout
        prepared = self._fanout.prepare(query, who, targets, timeout_s=timeout)
        await self._record(_sent_entry(who, query, prepared), context)
        with tracing.span(
            "cets.federation.fanout",
            agency=self._fanout.agency_id,
            attributes={"cets.targets": len(targets)},
        ) as current:
            tail = None if request.wait_for_all else self._tail
            outcomes = await self._fanout.send(prepared, deadline=deadline, tail=tail)
            answered = sum(o.status in (Status.OK, Status.PARTIAL) for o in outcomes)
            current.set_attribute("cets.answered", answered)
            tracing.outcome(current, "ok")
        await self._record(_answered_entry(who, outcomes), context)
        took = int((time.monotonic() - started) * 1000)
        _log.info(
            "federated search",
            extra={
                "officer": who.officer_id,
                "targets": len(targets),
                "ok": sum(o.status is Status.OK for o in outcomes),
                "partial": sum(o.status is Status.PARTIAL for o in outcomes),
                "ms": took,
            },
        )
        return response_bytes(outcomes, took_ms=took)

    def _normalised(self, query: search_pb2.Query) -> search_pb2.Query:
        self._check_cards(query.selectors)
        parsed = query_from_proto(
            query,
            default_region=self._rules.default_region,
            card_key=self._rules.card_key or _NO_CARD_KEY,
        )
        return query_to_proto(parsed)


def client_allowed(auth: Mapping[str, Iterable[bytes]], allowed: frozenset[str]) -> bool:
    """Whether the TLS client certificate's common name is one of ``allowed``."""
    names = {n.decode("utf-8", "replace") for n in auth.get("x509_common_name", [])}
    return bool(names & allowed)


def add_to_server(service: FederationService, server: grpc.aio.Server) -> None:
    """Serve ``service`` on ``server``, parsing each request's bytes itself (see
    :meth:`FederationService.search_bytes`) and answering with bytes it assembled."""
    handlers = {"Search": grpc.unary_unary_rpc_method_handler(service.search_bytes)}
    add_methods(server, _SERVICE, handlers)


def who_of(request: Any) -> Who:
    """The officer, purpose and case of a request to this service, each checked."""
    for field, label, limit in _FIELD_LIMITS:
        value = getattr(request, field)
        if not value.strip():
            raise InvalidQuery(f"{label} is required")
        if len(value) > limit:
            raise InvalidQuery(f"{label} is longer than {limit} characters")
    return Who(request.officer_id, request.purpose, request.case_reference)


_ANSWERS = federation_pb2.FederatedSearchResponse.DESCRIPTOR.fields_by_name["answers"].number
_RESPONSE = federation_pb2.AgencyAnswer.DESCRIPTOR.fields_by_name["response"].number


def response_bytes(
    outcomes: Sequence[Outcome[search_pb2.SearchResponse]], *, took_ms: int
) -> bytes:
    """The serialised ``FederatedSearchResponse`` for ``outcomes``, each agency's answer
    embedded as the bytes its node signed.

    Protobuf's wire format makes a message the concatenation of its fields, and a
    submessage one length-delimited field holding its bytes, so the verified answers go out
    as they came in: neither copied into a new message nor serialised again (for a broad
    query, most of the bytes and of the work). The officer's side parses them as usual.
    """
    parts = [_delimited(_ANSWERS, _agency_answer(o)) for o in outcomes]
    parts.append(federation_pb2.FederatedSearchResponse(took_ms=took_ms).SerializeToString())
    return b"".join(parts)


def _agency_answer(outcome: Outcome[search_pb2.SearchResponse]) -> bytes:
    response = outcome.response
    status = search_pb2.AgencyStatus(
        agency=outcome.agency,
        code=STATUS_CODES[outcome.status],
        reason=outcome.reason,
        latency_ms=outcome.latency_ms,
    )
    if response is None:
        return federation_pb2.AgencyAnswer(status=status).SerializeToString()
    status.total_hits = response.total_hits
    status.disclosure = response.disclosure
    answer = outcome.answer or response.SerializeToString()
    head = federation_pb2.AgencyAnswer(status=status).SerializeToString()
    return head + _delimited(_RESPONSE, answer)


def _delimited(number: int, payload: bytes) -> bytes:
    """Field ``number`` of wire type 2 (length-delimited) holding ``payload``."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _sent_entry(
    who: Who, query: search_pb2.Query, prepared: Sequence[tuple[Member, search_pb2.SearchRequest]]
) -> dict[str, Any]:
    return {
        "kind": "federation.sent",
        "officer": who.officer_id,
        "purpose": who.purpose,
        "case": who.case_reference,
        "query": json_format.MessageToDict(query, preserving_proto_field_name=True),
        "targets": [
            {"agency": m.id, "nonce": base64.b64encode(r.context.nonce).decode("ascii")}
            for m, r in prepared
        ],
    }


def _answered_entry(
    who: Who, outcomes: Sequence[Outcome[search_pb2.SearchResponse]]
) -> dict[str, Any]:
    return {
        "kind": "federation.answered",
        "officer": who.officer_id,
        "case": who.case_reference,
        "answers": [
            {
                "agency": o.agency,
                "nonce": base64.b64encode(o.nonce).decode("ascii"),
                "status": o.status.value,
                "reason": o.reason,
                "ms": o.latency_ms,
                "hits": len(o.response.hits) if o.response else 0,
                "total": o.response.total_hits if o.response else 0,
                "records": [h.record_id for h in o.response.hits] if o.response else [],
                **({"answer_sha256": o.answer_sha256} if o.answer_sha256 else {}),
            }
            for o in outcomes
        ],
    }
