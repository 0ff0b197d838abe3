"""The federation service's release servicer: ask one partner for a record, and collect the
decisions partners made on this agency's requests.

The same fan-out, signing and audit as a search; like alerts, the caller (the gateway) keeps
each partner's decision cursor and de-duplicates by release id.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc
from google.protobuf import json_format

from cets.common.grpc_server import add_methods
from cets.core.errors import InvalidQuery
from cets.core.releases import check_release_size
from cets.federation.fanout import Who
from cets.federation.service import Servicing, who_of
from cets.federation.watch_service import (
    ALERT_COLLECTOR,
    MAX_CURSOR_CHARS,
    answered_entry,
    deadline_in,
    parse_request,
    sent_entry,
    status_of,
)
from cets.v1 import releases_pb2

__all__ = ["FederationReleaseService", "add_releases_to_server"]

_log = logging.getLogger(__name__)
_SERVICE = releases_pb2.DESCRIPTOR.services_by_name["FederationReleases"].full_name
_Context = grpc.aio.ServicerContext[Any, Any]
DECISION_COLLECTOR = Who(
    officer_id=ALERT_COLLECTOR.officer_id,
    purpose="collect decisions on this agency's release requests",
    case_reference="releases",
)


class FederationReleaseService(Servicing):
    async def request_release(
        self, data: bytes, context: _Context
    ) -> releases_pb2.FederatedReleaseResponse:
        request = await parse_request(self, data, releases_pb2.FederatedReleaseRequest, context)
        try:
            who = who_of(request)
            check_release_size(request.release)
            if bool(request.release.record_id.strip()) == bool(request.release.selectors):
                raise InvalidQuery("ask for one record id, or for the selectors a count matched")
            release = releases_pb2.Release(
                record_id=request.release.record_id.strip(),
                selectors=self._selectors(request.release.selectors),
                message=request.release.message,
            )
            if not request.agency:
                raise InvalidQuery("agency (the record's owner) is required")
            targets = self._targets([request.agency])
        except InvalidQuery as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise  # not reached: abort() raises
        timeout = self._timeout(context)
        prepared = self._fanout.prepare(release, who, targets, timeout_s=timeout)
        sent = sent_entry("federation.release", who, prepared, {"release": _json(release)})
        await self._record(sent, context)
        [outcome] = await self._fanout.send(prepared, deadline=deadline_in(timeout))
        await self._record(answered_entry("federation.release", who, [outcome]), context)
        response = releases_pb2.FederatedReleaseResponse(status=status_of(outcome))
        if outcome.response is not None:
            response.receipt.CopyFrom(outcome.response)
        return response

    async def pull_decisions(
        self, data: bytes, context: _Context
    ) -> releases_pb2.FederatedDecisions:
        request = await parse_request(self, data, releases_pb2.FederatedDecisionPull, context)
        try:
            targets = self._targets(request.targets)
            if any(len(c) > MAX_CURSOR_CHARS for c in request.cursors.values()):
                raise InvalidQuery(f"a cursor is longer than {MAX_CURSOR_CHARS} characters")
        except InvalidQuery as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            raise
        timeout = self._timeout(context)
        prepared = [
            self._fanout.prepare(
                releases_pb2.DecisionPull(
                    cursor=request.cursors.get(member.id, ""), limit=request.limit
                ),
                DECISION_COLLECTOR,
                [member],
                timeout_s=timeout,
            )[0]
            for member in targets
        ]
        cursors = {"cursors": dict(request.cursors)}
        sent = sent_entry("federation.decisions", DECISION_COLLECTOR, prepared, cursors)
        await self._record(sent, context)
        outcomes = await self._fanout.send(prepared, deadline=deadline_in(timeout))
        await self._record(
            answered_entry("federation.decisions", DECISION_COLLECTOR, outcomes), context
        )
        answers = []
        for o in outcomes:
            part = releases_pb2.DecisionsFrom(status=status_of(o))
            if o.response is not None:
                part.batch.CopyFrom(o.response)
            answers.append(part)
        return releases_pb2.FederatedDecisions(answers=answers)


def _json(message: Any) -> dict[str, Any]:
    value: dict[str, Any] = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return value


def add_releases_to_server(service: FederationReleaseService, server: grpc.aio.Server) -> None:
    handlers = {
        "RequestRelease": grpc.unary_unary_rpc_method_handler(
            service.request_release,
            response_serializer=releases_pb2.FederatedReleaseResponse.SerializeToString,
        ),
        "PullDecisions": grpc.unary_unary_rpc_method_handler(
            service.pull_decisions,
            response_serializer=releases_pb2.FederatedDecisions.SerializeToString,
        ),
    }
    add_methods(server, _SERVICE, handlers)
