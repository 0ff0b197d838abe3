"""The federation service's watch servicer: register a case's watch at every partner, and
collect the alerts partners raised.

Both go through the same fan-out as a search (one signed, audience-bound request per target,
one deadline, a status per agency) and are recorded in the audit log before they are sent and
when they are answered. The watcher's side keeps nothing between pulls: the caller (the
agency's gateway) holds each partner's cursor durably and de-duplicates alerts by id, so a
restart of this service between pulls loses and repeats nothing.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from cets.common.grpc_server import add_methods
from cets.common.membership import Member
from cets.core.errors import InvalidQuery
from cets.core.watches import MAX_WATCH_DAYS, check_watch_size
from cets.federation.fanout import Outcome, Status, Who
from cets.federation.service import STATUS_CODES, Servicing, who_of
from cets.v1 import releases_pb2, search_pb2, watches_pb2

__all__ = [
    "ALERT_COLLECTOR",
    "MAX_CURSOR_CHARS",
    "FederationWatchService",
    "add_watches_to_server",
    "answered_entry",
    "deadline_in",
    "parse_request",
    "sent_entry",
    "status_of",
]

_log = logging.getLogger(__name__)
_SERVICE = watches_pb2.DESCRIPTOR.services_by_name["FederationWatches"].full_name
_Context = grpc.aio.ServicerContext[Any, Any]
MAX_CURSOR_CHARS = 128

ALERT_COLLECTOR = Who(
    officer_id="alert-collector",
    purpose="collect alerts raised by this agency's watches",
    case_reference="watches",
)
"""Who a pull is from: not an officer, the agency's own alert collection (every alert it
returns names the case it belongs to)."""


class FederationWatchService(Servicing):
    async def set_watch(self, data: bytes, context: _Context) -> watches_pb2.FederatedWatchResponse:
        request = await parse_request(self, data, watches_pb2.FederatedWatchRequest, context)
        try:
            who = who_of(request)
            check_watch_size(request.watch)
            if request.watch.days > MAX_WATCH_DAYS:
                raise InvalidQuery(f"a watch stands at most {MAX_WATCH_DAYS} days")
            watch = watches_pb2.Watch(
                selectors=self._selectors(request.watch.selectors), days=request.watch.days
            )
            targets = self._targets(request.targets)
        except InvalidQuery as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise  # not reached: abort() raises
        outcomes = await self._exchange(watch, who, targets, context)
        return watches_pb2.FederatedWatchResponse(
            outcomes=[
                watches_pb2.WatchOutcome(status=status_of(o), receipt=o.response)
                if o.response is not None
                else watches_pb2.WatchOutcome(status=status_of(o))
                for o in outcomes
            ]
        )

    async def pull_alerts(self, data: bytes, context: _Context) -> watches_pb2.FederatedAlerts:
        request = await parse_request(self, data, watches_pb2.FederatedAlertPull, context)
        try:
            targets = self._targets(request.targets)
            if any(len(c) > MAX_CURSOR_CHARS for c in request.cursors.values()):
                raise InvalidQuery(f"a cursor is longer than {MAX_CURSOR_CHARS} characters")
        except InvalidQuery as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise
        # one body per target (each has its own cursor); each still signed by the one path
        timeout = self._timeout(context)
        prepared = [
            self._fanout.prepare(
                watches_pb2.AlertPull(
                    cursor=request.cursors.get(member.id, ""), limit=request.limit
                ),
                ALERT_COLLECTOR,
                [member],
                timeout_s=timeout,
            )[0]
            for member in targets
        ]
        await self._record(
            sent_entry(
                "federation.alerts", ALERT_COLLECTOR, prepared, {"cursors": dict(request.cursors)}
            ),
            context,
        )
        outcomes = await self._fanout.send(prepared, deadline=deadline_in(timeout))
        await self._record(answered_entry("federation.alerts", ALERT_COLLECTOR, outcomes), context)
        return watches_pb2.FederatedAlerts(
            answers=[
                watches_pb2.AlertsFrom(status=status_of(o), batch=o.response)
                if o.response is not None
                else watches_pb2.AlertsFrom(status=status_of(o))
                for o in outcomes
            ]
        )

    async def _exchange(
        self, watch: watches_pb2.Watch, who: Who, targets: Sequence[Member], context: _Context
    ) -> list[Outcome[Any]]:
        timeout = self._timeout(context)
        prepared = self._fanout.prepare(watch, who, targets, timeout_s=timeout)
        await self._record(
            sent_entry("federation.watch", who, prepared, {"watch": _json(watch)}), context
        )
        outcomes = await self._fanout.send(prepared, deadline=deadline_in(timeout))
        await self._record(answered_entry("federation.watch", who, outcomes), context)
        _log.info(
            "watch registered",
            extra={
                "officer": who.officer_id,
                "targets": len(targets),
                "ok": sum(o.status is Status.OK for o in outcomes),
            },
        )
        return outcomes


async def parse_request(service: Servicing, data: bytes, kind: type[Any], context: _Context) -> Any:
    """The request in ``data`` from an allowed client, or the call ends: INVALID_ARGUMENT for
    bytes that are no ``kind``."""
    await service._check_client(context)
    message: Message = kind()
    try:
        message.ParseFromString(data)
    except DecodeError:
        await context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"the request is not a {kind.DESCRIPTOR.full_name}: its bytes do not parse",
        )
    return message


def deadline_in(timeout: float) -> float:
    return time.monotonic() + timeout


def _json(message: Message) -> dict[str, Any]:
    value: dict[str, Any] = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return value


def status_of(outcome: Outcome[Any]) -> search_pb2.AgencyStatus:
    return search_pb2.AgencyStatus(
        agency=outcome.agency,
        code=STATUS_CODES[outcome.status],
        reason=outcome.reason,
        latency_ms=outcome.latency_ms,
    )


def sent_entry(
    kind: str, who: Who, prepared: Sequence[tuple[Member, Any]], extra: dict[str, Any]
) -> dict[str, Any]:
    return {
        "kind": f"{kind}.sent",
        "officer": who.officer_id,
        "purpose": who.purpose,
        "case": who.case_reference,
        **extra,
        "targets": [
            {"agency": m.id, "nonce": base64.b64encode(r.context.nonce).decode("ascii")}
            for m, r in prepared
        ],
    }


def answered_entry(kind: str, who: Who, outcomes: Sequence[Outcome[Any]]) -> dict[str, Any]:
    answers = []
    for o in outcomes:
        answer: dict[str, Any] = {
            "agency": o.agency,
            "nonce": base64.b64encode(o.nonce).decode("ascii"),
            "status": o.status.value,
            "reason": o.reason,
            "ms": o.latency_ms,
        }
        if o.answer_sha256:
            answer["answer_sha256"] = o.answer_sha256
        if isinstance(o.response, watches_pb2.AlertBatch):
            answer["alerts"] = [
                {"alert": a.alert_id, "case": a.case_reference, "record": a.hit.record_id}
                for a in o.response.alerts
            ]
            answer["next_cursor"] = o.response.next_cursor
        elif isinstance(o.response, watches_pb2.WatchReceipt):
            answer["selectors"] = o.response.selectors
        elif isinstance(o.response, releases_pb2.ReleaseReceipt):
            answer["release_id"] = o.response.release_id
        elif isinstance(o.response, releases_pb2.DecisionBatch):
            answer["decisions"] = [
                {"release": d.release_id, "outcome": d.outcome, "records": list(d.record_ids)}
                for d in o.response.decisions
            ]
            answer["next_cursor"] = o.response.next_cursor
        answers.append(answer)
    return {
        "kind": f"{kind}.answered",
        "officer": who.officer_id,
        "case": who.case_reference,
        "answers": answers,
    }


def add_watches_to_server(service: FederationWatchService, server: grpc.aio.Server) -> None:
    """Serve ``service`` on ``server``, parsing each request's bytes itself."""
    handlers = {
        "SetWatch": grpc.unary_unary_rpc_method_handler(
            service.set_watch,
            response_serializer=watches_pb2.FederatedWatchResponse.SerializeToString,
        ),
        "PullAlerts": grpc.unary_unary_rpc_method_handler(
            service.pull_alerts,
            response_serializer=watches_pb2.FederatedAlerts.SerializeToString,
        ),
    }
    add_methods(server, _SERVICE, handlers)
