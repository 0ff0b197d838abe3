"""The node's watch servicer: partners register watches here and pull the alerts they raise.

Each request passes the same gate as a search (:class:`~cets.search.guard.RequestGuard`, the
same replay cache: a nonce used for one kind of request cannot be used for another), is
refused when the sharing policy releases nothing to the requester, is audited before anything
leaves, and is answered with a signed message bound to its nonce. Alerts are shaped by the
sharing policy when they are pulled (:mod:`cets.search.alerts`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import grpc
from opensearchpy import AsyncOpenSearch

from cets.common.audit import AuditLog
from cets.common.grpc_server import add_methods
from cets.common.signing import sign_answer
from cets.core.watches import watch_from_proto
from cets.search.alerts import released_alerts
from cets.search.answering import PartnerRequests, received
from cets.search.errors import InvalidQuery
from cets.search.guard import RequestGuard
from cets.search.identity import NodeIdentity
from cets.search.policy import SharingPolicy
from cets.search.ratelimit import PeerRateLimit
from cets.search.store import translate_errors
from cets.search.watches import DEFAULT_PULL, MAX_PULL, WatchStore
from cets.v1 import search_pb2, watches_pb2

__all__ = ["WatchLimits", "WatchNodeService", "add_watches_to_server"]

_Context = grpc.aio.ServicerContext[Any, search_pb2.SignedAnswer]
_SERVICE = watches_pb2.DESCRIPTOR.services_by_name["WatchNode"].full_name


class WatchLimits:
    """How much one partner may ask of this node's watches."""

    def __init__(self, *, max_watches: int = 1000, max_selectors: int = 64) -> None:
        self.max_watches = max_watches
        """Watches (cases) per watching agency."""
        self.max_selectors = max_selectors
        """Selectors per watch."""


class WatchNodeService(PartnerRequests):
    what = "watch request"

    def __init__(
        self,
        *,
        identity: NodeIdentity,
        store: WatchStore,
        records: AsyncOpenSearch,
        records_alias: str,
        guard: RequestGuard,
        policy: SharingPolicy,
        audit: AuditLog,
        limits: WatchLimits | None = None,
        rate_limit: PeerRateLimit | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(
            audit=audit, identity=identity, guard=guard, policy=policy, rate_limit=rate_limit
        )
        self._store = store
        self._records = records
        self._alias = records_alias
        self._limits = limits or WatchLimits()
        self._clock = clock

    async def set_watch(self, data: bytes, context: _Context) -> search_pb2.SignedAnswer:
        request = await self._parse(data, watches_pb2.WatchRequest, "node.watch", context)
        entry = received("node.watch", request)

        async def work() -> search_pb2.SignedAnswer:
            requester = await self._admit(request)
            entry["verified"] = True
            spec = watch_from_proto(
                request.watch,
                default_region=self._me.default_region,
                card_key=self._me.card_key,
                max_selectors=self._limits.max_selectors,
            )
            # the selectors are kept (and audited) only as keyed digests here
            entry.update(
                selectors=len(spec.selectors),
                digests=self._store.digests(spec),
                days=spec.days,
            )
            expires = await self._store.set(
                watcher=requester.member.id,
                case_reference=requester.case_reference,
                officer=requester.officer_id,
                purpose=requester.purpose,
                spec=spec,
                max_watches=self._limits.max_watches,
                now=self._clock(),
            )
            receipt = watches_pb2.WatchReceipt(
                agency=self._me.agency_id,
                case_reference=requester.case_reference,
                selectors=len(spec.selectors),
                request_nonce=requester.nonce,
            )
            if expires is not None:
                receipt.expires.FromDatetime(expires)
            signed = sign_answer(receipt, self._me.signing_key)
            entry.update(
                outcome="ok",
                action="removed" if spec.removes else "set",
                answer_sha256=hashlib.sha256(signed.answer).hexdigest(),
            )
            await self._record(entry)
            return signed

        return await self._guarded(context, entry, work)

    async def pull_alerts(self, data: bytes, context: _Context) -> search_pb2.SignedAnswer:
        request = await self._parse(data, watches_pb2.AlertPullRequest, "node.alerts", context)
        entry = received("node.alerts", request)

        async def work() -> search_pb2.SignedAnswer:
            requester = await self._admit(request)
            entry.update(verified=True, cursor=request.pull.cursor[:128])
            limit = request.pull.limit or DEFAULT_PULL
            if not 1 <= limit <= MAX_PULL:
                raise InvalidQuery(f"limit must be between 1 and {MAX_PULL}")
            plan = self._policy.plan_for(requester.member)
            page = await self._store.pull(
                watcher=requester.member.id,
                cursor=request.pull.cursor,
                limit=limit,
                now=self._clock(),
            )
            records = await self._documents([a["record_id"] for a in page.alerts])
            released = released_alerts(self._me.agency_id, page.alerts, records, plan)
            batch = watches_pb2.AlertBatch(
                agency=self._me.agency_id,
                alerts=[alert for alert, _ in released],
                next_cursor=page.next_cursor,
                more=page.more,
                contact=self._policy.contact,
                request_nonce=requester.nonce,
            )
            signed = sign_answer(batch, self._me.signing_key)
            by_id = {a["alert_id"]: a for a in page.alerts}
            entry.update(
                outcome="ok",
                pulled=len(page.alerts),
                released=[
                    {
                        "alert": alert.alert_id,
                        "record": by_id[alert.alert_id]["record_id"],
                        "case": alert.case_reference,
                        "level": level.value,
                    }
                    for alert, level in released
                ],
                next_cursor=page.next_cursor[:128],
                answer_sha256=hashlib.sha256(signed.answer).hexdigest(),
            )
            await self._record(entry)
            return signed

        return await self._guarded(context, entry, work)

    async def _documents(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        with translate_errors("read the alerted records"):
            raw = await self._records.mget(index=self._alias, body={"ids": sorted(set(ids))})
        return {d["_id"]: d["_source"] for d in raw.get("docs", []) if d.get("found")}


def add_watches_to_server(service: WatchNodeService, server: grpc.aio.Server) -> None:
    """Serve ``service`` on ``server``; the service parses the request bytes itself, so bytes
    that are no request are refused with INVALID_ARGUMENT and audited."""
    serialize = search_pb2.SignedAnswer.SerializeToString
    handlers = {
        "SetWatch": grpc.unary_unary_rpc_method_handler(
            service.set_watch, response_serializer=serialize
        ),
        "PullAlerts": grpc.unary_unary_rpc_method_handler(
            service.pull_alerts, response_serializer=serialize
        ),
    }
    add_methods(server, _SERVICE, handlers)
