"""The node's administration of release requests, for the agency's own administrators through
its gateway: list, show, approve, deny — the same functions ``cets releases`` calls on the
node's machine (:mod:`cets.search.releases`), behind a check of the administrator's own token.

No partner ever calls this: every call carries an officer token (``authorization: Bearer ...``
call metadata) that this agency issued with the ``admin`` role, checked here with the agency's
officer-token key, so a gateway cannot decide on anyone's behalf, and a decision is recorded as
the administrator's whose token it was. Every call, allowed or refused, is in the node's audit
log (``node.release-admin``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from opensearchpy import OpenSearch

from cets.common.audit import AuditLog
from cets.common.grpc_server import add_methods
from cets.common.tokens import ADMIN, Officer, TokenError, verify_token
from cets.core.convert import disclosure_from_proto, disclosure_to_proto
from cets.core.disclosure import Disclosure
from cets.core.errors import CetsError, InvalidQuery
from cets.core.releases import MAX_APPROVAL_DAYS
from cets.search.answering import STATUS, Answering
from cets.search.guard import PermissionDenied, Unauthenticated
from cets.search.releases import (
    AlreadyDecided,
    NoSuchRequest,
    ReleaseNames,
    decide,
    list_releases,
    show_release,
)
from cets.v1 import releases_pb2, search_pb2

__all__ = ["ReleaseAdminService", "add_release_admin_to_server", "held_release"]

_SERVICE = releases_pb2.DESCRIPTOR.services_by_name["ReleaseAdmin"].full_name
_Context = grpc.aio.ServicerContext[Any, Any]
_T = TypeVar("_T")
MAX_LIST = 500
_STATUSES = ("", "pending", "approved", "denied")
_CODES: dict[type[CetsError], grpc.StatusCode] = {
    **STATUS,
    NoSuchRequest: grpc.StatusCode.NOT_FOUND,
    AlreadyDecided: grpc.StatusCode.FAILED_PRECONDITION,
}


class _NotConfigured(CetsError):
    pass


class ReleaseAdminService(Answering):
    what = "release administration"

    def __init__(
        self,
        *,
        agency_id: str,
        client: OpenSearch,
        names: ReleaseNames,
        officer_key: Ed25519PublicKey | None,
        audit: AuditLog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(audit)
        self._agency = agency_id
        self._client = client
        self._names = names
        self._officer_key = officer_key
        self._clock = clock

    def _administrator(self, context: _Context) -> Officer:
        if self._officer_key is None:
            raise _NotConfigured(
                "this node checks no officer tokens (CETS_OFFICER_KEY_FILE is not set): decide "
                "release requests with cets releases"
            )
        metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        header = metadata.get("authorization", "")
        if not header.startswith("Bearer "):
            raise Unauthenticated("an administrator's officer token is required")
        try:
            who = verify_token(
                header.removeprefix("Bearer ").strip(), self._officer_key, agency=self._agency
            )
        except TokenError as exc:
            raise Unauthenticated(str(exc)) from None
        if ADMIN not in who.roles:
            raise PermissionDenied(f"officer {who.id!r} is not an administrator of {self._agency}")
        return who

    async def _run(
        self, context: _Context, entry: dict[str, Any], work: Callable[[Officer], _T]
    ) -> _T:
        try:
            who = self._administrator(context)
            entry["officer"] = who.id
            result = await asyncio.to_thread(work, who)
        except CetsError as exc:
            code = (
                grpc.StatusCode.UNIMPLEMENTED
                if isinstance(exc, _NotConfigured)
                else _CODES.get(type(exc), grpc.StatusCode.INTERNAL)
            )
            entry.update(outcome=code.name.lower(), reason=str(exc))
            await self._record(entry)
            await context.abort(code, str(exc))
            raise  # not reached: abort() raises
        entry["outcome"] = "ok"
        await self._record(entry)
        return result

    async def list_releases(
        self, request: releases_pb2.HeldReleasesQuery, context: _Context
    ) -> releases_pb2.HeldReleases:
        entry: dict[str, Any] = {"kind": "node.release-admin", "action": "list"}

        def work(_: Officer) -> releases_pb2.HeldReleases:
            if request.status not in _STATUSES:
                raise InvalidQuery("status must be pending, approved or denied")
            limit = request.limit or 100
            if not 1 <= limit <= MAX_LIST:
                raise InvalidQuery(f"limit must be between 1 and {MAX_LIST}")
            found = list_releases(
                self._client, self._names, status=request.status or None, limit=limit
            )
            entry["shown"] = [r["release_id"] for r in found]
            return releases_pb2.HeldReleases(releases=[held_release(r) for r in found])

        return await self._run(context, entry, work)

    async def show_release(
        self, request: releases_pb2.HeldReleaseId, context: _Context
    ) -> releases_pb2.HeldRelease:
        entry: dict[str, Any] = {
            "kind": "node.release-admin",
            "action": "show",
            "release": request.release_id[:64],
        }

        def work(_: Officer) -> releases_pb2.HeldRelease:
            return held_release(show_release(self._client, self._names, _id(request.release_id)))

        return await self._run(context, entry, work)

    async def decide_release(
        self, request: releases_pb2.ReleaseDecision, context: _Context
    ) -> releases_pb2.HeldRelease:
        entry: dict[str, Any] = {
            "kind": "node.release-admin",
            "action": "approve" if request.approve else "deny",
            "release": request.release_id[:64],
        }

        def work(who: Officer) -> releases_pb2.HeldRelease:
            release_id = _id(request.release_id)
            if request.approve:
                level = disclosure_from_proto(request.level)
                if not 1 <= request.days <= MAX_APPROVAL_DAYS:
                    raise InvalidQuery(f"an approval lasts 1 to {MAX_APPROVAL_DAYS} days")
                entry.update(level=level.value, days=request.days)
                done = decide(
                    self._client,
                    self._names,
                    release_id,
                    approve=True,
                    by=who.id,
                    level=level,
                    days=request.days,
                    now=self._clock(),
                )
                entry.update(records=done["record_ids"], expires=done["expires"])
            else:
                entry["reason"] = request.reason[:1000]
                done = decide(
                    self._client,
                    self._names,
                    release_id,
                    approve=False,
                    by=who.id,
                    reason=request.reason,
                    now=self._clock(),
                )
            entry["requester"] = done["requester"]
            return held_release(done)

        return await self._run(context, entry, work)


def _id(release_id: str) -> str:
    if not 1 <= len(release_id) <= 64:
        raise InvalidQuery("a release id is 1 to 64 characters")
    return release_id


def held_release(doc: dict[str, Any]) -> releases_pb2.HeldRelease:
    """A stored request (:mod:`cets.search.releases`'s document) as the contract's message."""
    level = doc.get("level")
    return releases_pb2.HeldRelease(
        release_id=doc["release_id"],
        requester=doc["requester"],
        officer=doc.get("officer", ""),
        purpose=doc.get("purpose", ""),
        case_reference=doc.get("case_reference", ""),
        record_ids=doc.get("record_ids", []),
        message=doc.get("message", ""),
        status=doc["status"],
        level=disclosure_to_proto(Disclosure(level))
        if level
        else search_pb2.DISCLOSURE_LEVEL_UNSPECIFIED,
        expires=doc.get("expires") or "",
        reason=doc.get("reason") or "",
        requested=doc.get("requested") or "",
        decided=doc.get("decided") or "",
        decided_by=doc.get("decided_by") or "",
    )


def add_release_admin_to_server(service: ReleaseAdminService, server: grpc.aio.Server) -> None:
    handlers = {
        "ListReleases": grpc.unary_unary_rpc_method_handler(
            service.list_releases,
            request_deserializer=releases_pb2.HeldReleasesQuery.FromString,
            response_serializer=releases_pb2.HeldReleases.SerializeToString,
        ),
        "ShowRelease": grpc.unary_unary_rpc_method_handler(
            service.show_release,
            request_deserializer=releases_pb2.HeldReleaseId.FromString,
            response_serializer=releases_pb2.HeldRelease.SerializeToString,
        ),
        "DecideRelease": grpc.unary_unary_rpc_method_handler(
            service.decide_release,
            request_deserializer=releases_pb2.ReleaseDecision.FromString,
            response_serializer=releases_pb2.HeldRelease.SerializeToString,
        ),
    }
    add_methods(server, _SERVICE, handlers)
