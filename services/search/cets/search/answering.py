"""What every request the node answers shares: the audit record, and refusing with a status.

Whatever the request — a search, a watch, an alert pull — its audit entry is durably written
before anything is released (if it cannot be, nothing is), a refusal is audited too, and each
of the node's errors maps to one gRPC status, here.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message

from cets.common.audit import AuditLog
from cets.common.signing import SignedRequest
from cets.search.errors import (
    AnswerTooLarge,
    CetsError,
    InvalidQuery,
    NodeError,
    RateLimited,
    StoreError,
    StoreTimeout,
    StoreUnavailable,
)
from cets.search.guard import PermissionDenied, Requester, RequestGuard, Unauthenticated
from cets.search.identity import NodeIdentity
from cets.search.policy import SharingPolicy
from cets.search.ratelimit import PeerRateLimit
from cets.search.releases import ReleaseNotFound, TooManyPending
from cets.search.watches import TooManyWatches

__all__ = ["STATUS", "Answering", "AuditUnavailable", "PartnerRequests", "received"]

_log = logging.getLogger("cets.search.service")
_T = TypeVar("_T")

STATUS: dict[type[CetsError], grpc.StatusCode] = {
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    InvalidQuery: grpc.StatusCode.INVALID_ARGUMENT,
    RateLimited: grpc.StatusCode.RESOURCE_EXHAUSTED,
    AnswerTooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
    TooManyWatches: grpc.StatusCode.RESOURCE_EXHAUSTED,
    TooManyPending: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ReleaseNotFound: grpc.StatusCode.NOT_FOUND,
    StoreUnavailable: grpc.StatusCode.UNAVAILABLE,
    StoreTimeout: grpc.StatusCode.DEADLINE_EXCEEDED,
    StoreError: grpc.StatusCode.INTERNAL,
}


class AuditUnavailable(NodeError):
    """The audit log cannot be written, so nothing may be released."""


class Answering:
    """Recording and refusing, for a servicer with an audit log; ``what`` names its requests
    in the node's logs ("search", "watch", ...)."""

    what = "request"

    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit

    async def _record(self, entry: dict[str, Any]) -> None:
        try:
            await self._audit.append_async(entry)
        except Exception as exc:  # noqa: BLE001 - any failure to record means no release
            _log.error("audit log write failed", extra={"error": type(exc).__name__})
            raise AuditUnavailable(
                "the audit log cannot be written; nothing was released"
            ) from None

    async def _fail(
        self, context: grpc.aio.ServicerContext[Any, Any], error: CetsError, entry: dict[str, Any]
    ) -> None:
        code = STATUS.get(type(error), grpc.StatusCode.INTERNAL)
        entry.update(outcome=code.name.lower(), reason=str(error))
        if not isinstance(error, AuditUnavailable):
            try:
                await self._audit.append_async(entry)
            except Exception:  # noqa: BLE001 - already failing; reported as INTERNAL below
                code, error = (
                    grpc.StatusCode.INTERNAL,
                    AuditUnavailable("the audit log cannot be written"),
                )
        level = logging.ERROR if code is grpc.StatusCode.INTERNAL else logging.WARNING
        refused = code.name in ("UNAUTHENTICATED", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED")
        _log.log(
            level,
            f"{self.what} refused" if refused else f"{self.what} failed",
            extra={
                "requester": entry.get("requester", "-"),
                "outcome": code.name.lower(),
                "reason": str(error),
            },
        )
        await context.abort(code, str(error))


class PartnerRequests(Answering):
    """A servicer of signed requests from partners: their gate, rate limit and policy."""

    def __init__(
        self,
        *,
        audit: AuditLog,
        identity: NodeIdentity,
        guard: RequestGuard,
        policy: SharingPolicy,
        rate_limit: PeerRateLimit | None,
    ) -> None:
        super().__init__(audit)
        self._me = identity
        self._guard = guard
        self._policy = policy
        self._rate_limit = rate_limit

    async def _admit(self, request: SignedRequest) -> Requester:
        requester = self._guard.check(request)
        if self._rate_limit is not None:
            await self._rate_limit.admit(requester.member.id, kind=f"{self.what}s")
        if self._policy.plan_for(requester.member).releases_nothing():
            raise PermissionDenied(
                f"the sharing policy of {self._me.agency_id!r} releases nothing "
                f"to {requester.member.id!r}"
            )
        return requester

    async def _guarded(
        self,
        context: grpc.aio.ServicerContext[Any, Any],
        entry: dict[str, Any],
        work: Callable[[], Awaitable[_T]],
    ) -> _T:
        """``work()``'s answer; a refusal ends the call with its status, audited, and anything
        else is a defect: logged by type, audited, and INTERNAL to the caller."""
        try:
            return await work()
        except CetsError as exc:
            await self._fail(context, exc, entry)
            raise  # not reached: abort() raises
        except Exception as exc:
            _log.error(f"{self.what} failed unexpectedly", extra={"error": type(exc).__name__})
            await self._fail(
                context, StoreError(f"the {self.what} failed; see the node's log"), entry
            )
            raise

    async def _parse(
        self,
        data: bytes,
        kind: type[Any],
        audit_kind: str,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> Any:
        message: Message = kind()
        try:
            message.ParseFromString(data)
        except DecodeError:
            entry: dict[str, Any] = {
                "kind": audit_kind,
                "verified": False,
                "request_bytes": len(data),
                "request_sha256": hashlib.sha256(data).hexdigest(),
            }
            error = InvalidQuery(
                f"the request is not a {kind.DESCRIPTOR.full_name}: its bytes do not parse"
            )
            await self._fail(context, error, entry)
        return message


def received(kind: str, request: SignedRequest) -> dict[str, Any]:
    """The audit entry for a request as received (claims only until the signature is proven)."""
    context = request.context
    return {
        "kind": kind,
        "verified": False,
        "requester": context.requester_agency[:64] or "-",
        "officer": context.officer_id[:128],
        "purpose": context.purpose[:512],
        "case": context.case_reference[:128],
        "audience": context.audience[:64],
        "nonce": base64.b64encode(context.nonce[:64]).decode("ascii"),
        "received": round(time.time(), 3),
    }
