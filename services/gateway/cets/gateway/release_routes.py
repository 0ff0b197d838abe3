"""The release REST API: officers ask partners to release records, and follow the decisions;
the agency's administrators decide on the requests partners filed with its own node.

    POST /v1/releases                          ask a record's owner to release it
    GET  /v1/releases                          your requests and their decisions, newest first
    GET  /v1/releases/{agency}/{release_id}    one of them
    GET  /v1/records/{agency}/{id}?release_id= the record, under an approval (see api.py)

    GET  /v1/admin/releases                    (admin role) requests partners filed here
    GET  /v1/admin/releases/{release_id}
    POST /v1/admin/releases/{release_id}/approve   at summary or full, for 1 to 365 days
    POST /v1/admin/releases/{release_id}/deny      with the reason the requester reads

Requests travel signed through the federation service; decisions come back the same way, on
the collector's interval (:mod:`cets.gateway.releases`). The admin routes call the agency's
node (:class:`~cets.gateway.node_client.NodeAdminClient`) with the administrator's own token,
which the node checks again. Every step is in the gateway's audit log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cets.common.audit import AuditLog
from cets.core.display import build_query
from cets.core.releases import MAX_APPROVAL_DAYS, MAX_MESSAGE, MAX_REASON
from cets.gateway.alerts import Collected
from cets.gateway.cases.routes import CaseApiError
from cets.gateway.cases.store import CaseError, CaseNotFound, CaseStore, StoreUnavailable
from cets.gateway.federation_client import FederationClient, FederationError
from cets.gateway.models import ErrorOut
from cets.gateway.node_client import NodeAdminClient
from cets.gateway.present import STATUS_NAMES, level_name
from cets.gateway.releases import ReleaseBook
from cets.gateway.tokens import ADMIN, Officer
from cets.v1 import releases_pb2, search_pb2

__all__ = ["DecisionSink", "release_routes"]

_T = TypeVar("_T")
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (400, 401, 403, 404, 409, 422, 429, 502, 503, 504)
}
_OWNER_HTTP = {  # the owner's refusal (its gRPC status, as the federation reports it)
    "not_found": 404,
    "invalid_argument": 400,
    "resource_exhausted": 429,
    "permission_denied": 403,
    "unauthenticated": 403,
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReleaseIn(_In):
    """Ask a record's owner to release it: the record id of a summary hit, or, for an answer
    that only counted matches, the selectors that were searched."""

    agency: str = Field(min_length=1, max_length=64, description="The record's owner.")
    record_id: str | None = Field(default=None, max_length=128)
    selectors: list[Annotated[str, Field(max_length=600)]] = Field(
        default_factory=list,
        max_length=64,
        description="KIND:VALUE, as searched, when the answer gave no record id.",
    )
    purpose: str = Field(min_length=3, max_length=512, description="Why (audited everywhere).")
    case: str | None = Field(
        default=None,
        max_length=128,
        description="A case of this gateway's case store that you are a member of.",
    )
    case_reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Your case reference, when the case is not in the case store.",
    )
    message: str = Field(
        default="", max_length=MAX_MESSAGE, description="To the owner's administrators."
    )

    @model_validator(mode="after")
    def _one_of_each(self) -> ReleaseIn:
        if bool(self.record_id) == bool(self.selectors):
            raise ValueError("give record_id (a summary hit) or selectors (a counted answer)")
        if bool(self.case) == bool(self.case_reference):
            raise ValueError("give case (from the case store) or case_reference")
        return self


class ReleaseOut(BaseModel):
    release_id: str
    agency: str
    officer: str
    purpose: str
    case_reference: str
    case: str | None = Field(description="The case of the case store it was asked for.")
    record_id: str | None
    selectors: list[str]
    message: str
    requested: str | None
    status: str = Field(description="pending, approved or denied.")
    level: str | None = Field(description="Approved: summary or full.")
    record_ids: list[str] = Field(description="Approved: the records you may fetch.")
    expires: str | None = Field(description="Approved: fetches allowed until then.")
    expired: bool
    reason: str | None = Field(description="Denied: the owner's reason.")
    decided: str | None


class HeldReleaseOut(BaseModel):
    """A request a partner filed with this agency's node."""

    release_id: str
    requester: str = Field(description="The requesting agency.")
    officer: str = Field(description="The officer, as the requester's gateway asserts it.")
    purpose: str
    case_reference: str
    record_ids: list[str]
    message: str
    status: str
    level: str | None
    expires: str | None
    reason: str | None
    requested: str | None
    decided: str | None
    decided_by: str | None


class ApproveIn(_In):
    level: Literal["summary", "full"] = Field(default="summary")
    days: int = Field(default=30, ge=1, le=MAX_APPROVAL_DAYS)


class DenyIn(_In):
    reason: str = Field(min_length=1, max_length=MAX_REASON, description="Sent to the requester.")


class DecisionSink:
    """Where the collector stores decisions: the release book (which also puts each on its
    case's timeline), each applied decision audited."""

    def __init__(self, book: ReleaseBook, audit: AuditLog) -> None:
        self._book = book
        self._audit = audit

    async def cursors(self) -> dict[str, str]:
        return await self._book.cursors()

    async def save(
        self, agency: str, decisions: Sequence[releases_pb2.Decision], next_cursor: str
    ) -> int:
        applied = await self._book.save(agency, decisions, next_cursor)
        for r in applied:
            await self._audit.append_async(
                {
                    "kind": "gateway.release",
                    "action": "decision",
                    "officer": r["officer"],
                    "case": r["case_reference"],
                    "agency": agency,
                    "release": r["release_id"],
                    "outcome": r["status"],
                    "level": r["level"],
                    "records": r["record_ids"],
                    "expires": r["expires"],
                    "reason": r["reason"],
                }
            )
        return len(applied)

    async def collected(self, done: Collected) -> None:
        """A tick in which partners failed (a refused signature, a bad answer) is audited."""
        if done.failed:
            await self._audit.append_async(
                {"kind": "gateway.decisions", "new": done.new, "failed": dict(done.reasons)}
            )


def _held(held: releases_pb2.HeldRelease) -> HeldReleaseOut:
    return HeldReleaseOut(
        release_id=held.release_id,
        requester=held.requester,
        officer=held.officer,
        purpose=held.purpose,
        case_reference=held.case_reference,
        record_ids=list(held.record_ids),
        message=held.message,
        status=held.status,
        level=level_name(held.level) if held.level else None,
        expires=held.expires or None,
        reason=held.reason or None,
        requested=held.requested or None,
        decided=held.decided or None,
        decided_by=held.decided_by or None,
    )


def release_routes(
    *,
    book: ReleaseBook,
    cases: CaseStore,
    audit: AuditLog,
    officer: Callable[..., Awaitable[Officer]],
    federation: Callable[[], FederationClient],
    node: Callable[[], NodeAdminClient | None],
    timeout_s: float,
) -> APIRouter:
    router = APIRouter(tags=["releases"], responses=_ERRORS)
    as_officer = Depends(officer)

    async def run(call: Callable[[], _T]) -> _T:
        try:
            return await asyncio.to_thread(call)
        except CaseNotFound as exc:
            raise CaseApiError(404, str(exc)) from None
        except StoreUnavailable as exc:
            raise CaseApiError(503, str(exc)) from None
        except CaseError as exc:
            raise CaseApiError(400, str(exc)) from None

    async def audited(who: Officer, action: str, **detail: Any) -> None:
        await audit.append_async(
            {"kind": "gateway.release", "action": action, "officer": who.id, **detail}
        )

    @router.post("/v1/releases", status_code=201, response_model=ReleaseOut)
    async def ask(body: ReleaseIn, who: Officer = as_officer) -> dict[str, Any]:
        """Ask a partner to release a record it answered below full. The request travels
        signed to the owner, whose administrators decide; follow it with GET /v1/releases."""
        if body.case:
            case = body.case
            await run(lambda: cases.show(case, who.id))  # 404 unless you may see it
        reference = body.case or body.case_reference or ""
        try:
            query = build_query(selectors=body.selectors) if body.selectors else None
        except ValueError as exc:
            raise CaseApiError(400, str(exc)) from None
        release = releases_pb2.Release(
            record_id=body.record_id or "",
            selectors=list(query.selectors) if query is not None else [],
            message=body.message,
        )
        detail: dict[str, Any] = {
            "case": reference,
            "purpose": body.purpose,
            "agency": body.agency,
            "record": body.record_id,
            "selectors": body.selectors,
            "message": body.message,
        }
        try:
            answer = await federation().request_release(
                release,
                agency=body.agency,
                officer=who.id,
                purpose=body.purpose,
                case_reference=reference,
                timeout_s=timeout_s,
            )
        except FederationError as exc:
            await audited(who, "refused", **detail, status=exc.status, reason=str(exc))
            raise CaseApiError(exc.status, str(exc)) from None
        status = answer.status
        if status.code != search_pb2.AgencyStatus.CODE_OK:
            kind, _, why = status.reason.partition(":")
            http = _OWNER_HTTP.get(kind, 502)
            if status.code in (
                search_pb2.AgencyStatus.CODE_UNAVAILABLE,
                search_pb2.AgencyStatus.CODE_TIMEOUT,
            ):
                http = 503 if status.code == search_pb2.AgencyStatus.CODE_UNAVAILABLE else 504
            state = STATUS_NAMES.get(status.code, "error")
            await audited(who, "refused", **detail, status=http, reason=status.reason)
            raise CaseApiError(http, f"{body.agency}: {state}: {(why or status.reason).strip()}")
        receipt = answer.receipt
        filed = await run(
            lambda: book.filed(
                agency=body.agency,
                release_id=receipt.release_id,
                officer=who.id,
                purpose=body.purpose,
                case_reference=reference,
                case=body.case,
                record_id=body.record_id,
                selectors=body.selectors,
                message=body.message,
            )
        )
        await audited(who, "requested", **detail, release=receipt.release_id)
        if body.case:
            on_case = {"agency": body.agency, "release": receipt.release_id}
            await run(lambda: cases.happened(reference, who.id, "release requested", on_case))
        return filed

    @router.get("/v1/releases", response_model=list[ReleaseOut])
    async def mine(
        who: Officer = as_officer,
        status: Annotated[Literal["pending", "approved", "denied"] | None, Query()] = None,
    ) -> list[dict[str, Any]]:
        """Your release requests and the owners' decisions, newest first. Decisions arrive on
        the gateway's collection interval."""
        return await run(lambda: book.mine(who.id, status=status))

    @router.get("/v1/releases/{agency}/{release_id}", response_model=ReleaseOut)
    async def one(agency: str, release_id: str, who: Officer = as_officer) -> dict[str, Any]:
        return await run(lambda: book.get(who.id, agency, release_id))

    # --- the agency's administrators ----------------------------------------------------------

    async def administrator(
        authorization: Annotated[str | None, Header()] = None,
    ) -> tuple[Officer, str]:
        who = await officer(authorization)
        if ADMIN not in who.roles:
            raise CaseApiError(403, "only the agency's administrators (role admin) may do this")
        return who, (authorization or "").removeprefix("Bearer ").strip()

    as_admin = Depends(administrator)

    def own_node() -> NodeAdminClient:
        client = node()
        if client is None:
            raise CaseApiError(
                503, "this gateway is not connected to its agency's node (CETS_GATEWAY_NODE_TARGET)"
            )
        return client

    async def at_node(who: Officer, action: str, call: Awaitable[_T], **detail: Any) -> _T:
        try:
            result = await call
        except FederationError as exc:
            await audited(who, f"admin {action} refused", **detail, refusal=str(exc))
            raise CaseApiError(exc.status, str(exc)) from None
        return result

    @router.get("/v1/admin/releases", response_model=list[HeldReleaseOut])
    async def held(
        admin: tuple[Officer, str] = as_admin,
        status: Annotated[Literal["pending", "approved", "denied"] | None, Query()] = None,
    ) -> list[HeldReleaseOut]:
        """Release requests partners filed with this agency's node, newest first."""
        who, token = admin
        found = await at_node(who, "list", own_node().list(token, status=status or ""))
        await audited(who, "admin list", status=status, shown=len(found.releases))
        return [_held(r) for r in found.releases]

    @router.get("/v1/admin/releases/{release_id}", response_model=HeldReleaseOut)
    async def held_one(release_id: str, admin: tuple[Officer, str] = as_admin) -> HeldReleaseOut:
        who, token = admin
        found = await at_node(
            who, "show", own_node().show(token, release_id[:64]), release=release_id[:64]
        )
        await audited(who, "admin show", release=release_id)
        return _held(found)

    @router.post("/v1/admin/releases/{release_id}/approve", response_model=HeldReleaseOut)
    async def approve(
        release_id: str, body: ApproveIn, admin: tuple[Officer, str] = as_admin
    ) -> HeldReleaseOut:
        """Approve a pending request: its records, at ``level``, for ``days`` days. The node
        signs the decision; the requester collects it."""
        who, token = admin
        level = (
            search_pb2.DISCLOSURE_LEVEL_FULL
            if body.level == "full"
            else search_pb2.DISCLOSURE_LEVEL_SUMMARY
        )
        decision = releases_pb2.ReleaseDecision(
            release_id=release_id[:64], approve=True, level=level, days=body.days
        )
        detail = {"release": release_id[:64], "level": body.level, "days": body.days}
        done = await at_node(who, "approve", own_node().decide(token, decision), **detail)
        await audited(
            who, "admin approve", **detail, requester=done.requester, expires=done.expires
        )
        return _held(done)

    @router.post("/v1/admin/releases/{release_id}/deny", response_model=HeldReleaseOut)
    async def deny(
        release_id: str, body: DenyIn, admin: tuple[Officer, str] = as_admin
    ) -> HeldReleaseOut:
        """Deny a pending request, with the reason the requester will read."""
        who, token = admin
        decision = releases_pb2.ReleaseDecision(
            release_id=release_id[:64], approve=False, reason=body.reason
        )
        detail = {"release": release_id[:64], "reason": body.reason}
        done = await at_node(who, "deny", own_node().decide(token, decision), **detail)
        await audited(who, "admin deny", **detail, requester=done.requester)
        return _held(done)

    return router
