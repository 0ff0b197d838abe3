"""What every request the node answers shares: the audit record, and refusing with a status.

Whatever the request — a search, a watch, an alert pull — its audit entry is durably written
before anything is released (if it cannot be, nothing is), a refusal is audited too, and each
of the node's errors maps to one gRPC status, here.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc

from cets.common.audit import AuditLog
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
from cets.search.guard import PermissionDenied, Unauthenticated
from cets.search.watches import TooManyWatches

__all__ = ["STATUS", "Answering", "AuditUnavailable"]

_log = logging.getLogger("cets.search.service")

STATUS: dict[type[CetsError], grpc.StatusCode] = {
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    InvalidQuery: grpc.StatusCode.INVALID_ARGUMENT,
    RateLimited: grpc.StatusCode.RESOURCE_EXHAUSTED,
    AnswerTooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
    TooManyWatches: grpc.StatusCode.RESOURCE_EXHAUSTED,
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
