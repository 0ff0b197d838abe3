"""The node's release servicer: partners ask for records released to them below ``full``, and
collect the decisions this agency's administrators made (``cets releases``).

Same gate, replay cache, rate limit and audit as a search. A request for a record the owner
does not hold and one for a record its policy denies the requester get the same NOT_FOUND.
Decisions are signed by this node when they are handed out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import grpc

from cets.common.audit import AuditLog
from cets.common.grpc_server import add_methods
from cets.common.signing import sign_answer
from cets.core.convert import disclosure_to_proto
from cets.core.disclosure import Disclosure
from cets.core.errors import InvalidQuery
from cets.core.releases import release_from_proto
from cets.search.answering import PartnerRequests, received
from cets.search.guard import RequestGuard
from cets.search.identity import NodeIdentity
from cets.search.policy import SharingPolicy
from cets.search.ratelimit import PeerRateLimit
from cets.search.releases import ReleaseStore
from cets.v1 import releases_pb2, search_pb2

__all__ = ["ReleaseNodeService", "add_releases_to_server"]

_Context = grpc.aio.ServicerContext[Any, search_pb2.SignedAnswer]
_SERVICE = releases_pb2.DESCRIPTOR.services_by_name["ReleaseNode"].full_name
MAX_PULL = 500
DEFAULT_PULL = 100


class ReleaseNodeService(PartnerRequests):
    what = "release request"

    def __init__(
        self,
        *,
        identity: NodeIdentity,
        store: ReleaseStore,
        guard: RequestGuard,
        policy: SharingPolicy,
        audit: AuditLog,
        max_pending: int = 100,
        rate_limit: PeerRateLimit | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(
            audit=audit, identity=identity, guard=guard, policy=policy, rate_limit=rate_limit
        )
        self._store = store
        self._max_pending = max_pending
        self._clock = clock

    async def request_release(self, data: bytes, context: _Context) -> search_pb2.SignedAnswer:
        request = await self._parse(data, releases_pb2.ReleaseRequest, "node.release", context)
        entry = received("node.release", request)

        async def work() -> search_pb2.SignedAnswer:
            requester = await self._admit(request)
            entry["verified"] = True
            spec = release_from_proto(
                request.release, default_region=self._me.default_region, card_key=self._me.card_key
            )
            entry.update(
                record=spec.record_id,
                selectors=[s.key for s in spec.selectors],
                message=spec.message,
            )
            release_id, records = await self._store.file(
                requester=requester.member.id,
                officer=requester.officer_id,
                purpose=requester.purpose,
                case_reference=requester.case_reference,
                spec=spec,
                plan=self._policy.plan_for(requester.member),
                max_pending=self._max_pending,
                now=self._clock(),
            )
            receipt = releases_pb2.ReleaseReceipt(
                agency=self._me.agency_id, release_id=release_id, request_nonce=requester.nonce
            )
            signed = sign_answer(receipt, self._me.signing_key)
            entry.update(
                outcome="ok",
                release_id=release_id,
                records=records,
                answer_sha256=hashlib.sha256(signed.answer).hexdigest(),
            )
            await self._record(entry)
            return signed

        return await self._guarded(context, entry, work)

    async def pull_decisions(self, data: bytes, context: _Context) -> search_pb2.SignedAnswer:
        request = await self._parse(
            data, releases_pb2.DecisionPullRequest, "node.decisions", context
        )
        entry = received("node.decisions", request)

        async def work() -> search_pb2.SignedAnswer:
            requester = await self._admit(request)
            entry.update(verified=True, cursor=request.pull.cursor[:128])
            limit = request.pull.limit or DEFAULT_PULL
            if not 1 <= limit <= MAX_PULL:
                raise InvalidQuery(f"limit must be between 1 and {MAX_PULL}")
            page, next_cursor, more = await self._store.pull(
                requester=requester.member.id,
                cursor=request.pull.cursor,
                limit=limit,
                now=self._clock(),
            )
            batch = releases_pb2.DecisionBatch(
                agency=self._me.agency_id,
                decisions=[_decision(self._me.agency_id, d) for d in page],
                next_cursor=next_cursor,
                more=more,
                request_nonce=requester.nonce,
            )
            signed = sign_answer(batch, self._me.signing_key)
            entry.update(
                outcome="ok",
                decisions=[
                    {"release": d["release_id"], "status": d["status"], "records": d["record_ids"]}
                    for d in page
                ],
                next_cursor=next_cursor[:128],
                answer_sha256=hashlib.sha256(signed.answer).hexdigest(),
            )
            await self._record(entry)
            return signed

        return await self._guarded(context, entry, work)


def _decision(agency: str, doc: dict[str, Any]) -> releases_pb2.Decision:
    decision = releases_pb2.Decision(
        release_id=doc["release_id"], agency=agency, case_reference=doc["case_reference"]
    )
    decision.decided.FromJsonString(doc["decided"])
    if doc["status"] == "approved":
        decision.outcome = releases_pb2.Decision.OUTCOME_APPROVED
        decision.level = disclosure_to_proto(Disclosure(doc["level"]))
        decision.record_ids.extend(doc["record_ids"])
        decision.expires.FromJsonString(doc["expires"])
    else:
        decision.outcome = releases_pb2.Decision.OUTCOME_DENIED
        decision.reason = doc.get("reason", "")
    return decision


def add_releases_to_server(service: ReleaseNodeService, server: grpc.aio.Server) -> None:
    serialize = search_pb2.SignedAnswer.SerializeToString
    handlers = {
        "RequestRelease": grpc.unary_unary_rpc_method_handler(
            service.request_release, response_serializer=serialize
        ),
        "PullDecisions": grpc.unary_unary_rpc_method_handler(
            service.pull_decisions, response_serializer=serialize
        ),
    }
    add_methods(server, _SERVICE, handlers)
