"""What every request the node answers shares: the audit record, and refusing with a status.

Whatever the request — a search, a watch, an alert pull — its audit entry is durably written
before anything is released (if it cannot be, nothing is), a refusal is audited too, and each
of the node's errors maps to one gRPC status, here.

Refusals of requests never verified (bytes that do not parse, a bad signature, an unknown
sender) cost no disk per request: the first of each second is recorded on its own, durably,
before its refusal is sent; the others of that second are counted, by outcome, and recorded as
one ``refused_unverified`` entry when the second ends (and when the node stops). Nothing is
released to such requests, and garbage sent as fast as it can be costs at most two durable
writes a second. A node killed outright loses the counts of its last second, never an entry
of a request it answered.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
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

__all__ = [
    "STATUS",
    "Answering",
    "AuditUnavailable",
    "PartnerRequests",
    "flush_refusals",
    "received",
]

REFUSAL_WINDOW_S = 1.0
"""Unverified refusals after the first of a window are counted and recorded as one entry."""

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


class _UnverifiedRefusals:
    """Counts the unverified refusals of one audit log (see the module docstring)."""

    def __init__(self, audit: AuditLog, window_s: float) -> None:
        self._audit = audit
        self._window = window_s
        self._until = 0.0
        self._outcomes: Counter[str] = Counter()
        self._bytes = 0
        self._since: str | None = None
        self._flush: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def record_alone(self, entry: dict[str, Any]) -> bool:
        """True when ``entry`` is the first of a window (record it, durably); otherwise it
        is counted, to be recorded with the others of its window."""
        now = time.monotonic()
        if now >= self._until and not self._outcomes:
            self._until = now + self._window
            return True
        if not self._outcomes:
            self._since = _now()
        self._outcomes[f"{entry.get('kind', '-')}:{entry.get('outcome', '-')}"] += 1
        self._bytes += int(entry.get("request_bytes", 0) or 0)
        if self._flush is None:
            loop = asyncio.get_running_loop()
            self._flush = loop.call_later(max(0.0, self._until - now), self._start_flush)
        return False

    def _start_flush(self) -> None:
        self._flush = None
        task = asyncio.ensure_future(self.flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Record the counted refusals (if any) as one entry."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if not self._outcomes:
            return
        entry = {
            "kind": "node.refused_unverified",
            "verified": False,
            "count": sum(self._outcomes.values()),
            "outcomes": dict(sorted(self._outcomes.items())),
            "request_bytes": self._bytes,
            "from": self._since,
            "to": _now(),
        }
        self._outcomes, self._bytes, self._since = Counter(), 0, None
        self._until = time.monotonic() + self._window
        try:
            await self._audit.append_async(entry)
        except Exception as exc:  # noqa: BLE001 - nothing was released to these requests
            _log.error("audit log write failed", extra={"error": type(exc).__name__})


_REFUSALS: weakref.WeakKeyDictionary[AuditLog, _UnverifiedRefusals] = weakref.WeakKeyDictionary()


def _refusals(audit: AuditLog) -> _UnverifiedRefusals:
    found = _REFUSALS.get(audit)
    if found is None:
        found = _REFUSALS[audit] = _UnverifiedRefusals(audit, REFUSAL_WINDOW_S)
    return found


async def flush_refusals(audit: AuditLog) -> None:
    """Record the unverified refusals counted for ``audit`` and not yet recorded."""
    found = _REFUSALS.get(audit)
    if found is not None:
        await found.flush()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


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
        counted = entry.get("verified") is False and not _refusals(self._audit).record_alone(entry)
        if not isinstance(error, AuditUnavailable) and not counted:
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
            self._rate_limit.admit(requester.member.id, kind=f"{self.what}s")
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
        "audiences": len(context.audience_commitments),  # a fan-out: how many were asked
        "nonce": base64.b64encode(context.nonce[:64]).decode("ascii"),
        "received": round(time.time(), 3),
    }
