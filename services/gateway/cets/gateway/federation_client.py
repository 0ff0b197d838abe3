"""The gateway's connection to its agency's federation service, and the one place its gRPC
errors are translated for the REST API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cets.common import tracing
from cets.common.channels import RECONNECT_OPTIONS
from cets.common.tls import ClientTls, channel_credentials, channel_options
from cets.v1 import (
    federation_pb2,
    federation_pb2_grpc,
    records_pb2,
    releases_pb2,
    releases_pb2_grpc,
    search_pb2,
    watches_pb2,
    watches_pb2_grpc,
)

__all__ = ["FederationClient", "FederationError", "http_status"]

MAX_ANSWER_BYTES = 64 * 1024 * 1024


class FederationError(Exception):
    """The federated search failed as a whole; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


_FAILED = "the federation service failed"
_BUSY = "the federation service is unavailable or too slow; try again"
# Every status the federation service (or gRPC on its behalf) can answer, and what it means to
# an officer. 4xx: the search as asked cannot run; 5xx: this agency's services failed.
_HTTP: dict[grpc.StatusCode, tuple[int, str | None]] = {
    # None: the federation service's own reason, which names the field at fault
    grpc.StatusCode.INVALID_ARGUMENT: (400, None),
    grpc.StatusCode.OUT_OF_RANGE: (400, None),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (
        413,
        "the request is larger than the federation service takes: "
        "use fewer or shorter selectors or targets",
    ),
    grpc.StatusCode.PERMISSION_DENIED: (
        403,
        "the federation service does not let this gateway search; ask an operator",
    ),
    grpc.StatusCode.UNAUTHENTICATED: (
        502,
        "the federation service did not accept this gateway's credentials; ask an operator",
    ),
    grpc.StatusCode.UNAVAILABLE: (503, _BUSY),
    grpc.StatusCode.CANCELLED: (503, _BUSY),
    grpc.StatusCode.ABORTED: (503, _BUSY),
    grpc.StatusCode.FAILED_PRECONDITION: (503, _BUSY),
    grpc.StatusCode.DEADLINE_EXCEEDED: (504, _BUSY),
    grpc.StatusCode.UNIMPLEMENTED: (
        502,
        "the federation service does not offer this call (a version mismatch?)",
    ),
    grpc.StatusCode.NOT_FOUND: (502, _FAILED),
    grpc.StatusCode.ALREADY_EXISTS: (502, _FAILED),
    grpc.StatusCode.INTERNAL: (502, _FAILED),
    grpc.StatusCode.UNKNOWN: (502, _FAILED),
    grpc.StatusCode.DATA_LOSS: (502, _FAILED),
}


def http_status(code: grpc.StatusCode, details: str | None) -> tuple[int, str]:
    """The HTTP status and message for a failed call to the federation service (a search,
    a watch or an alert pull: every call the gateway makes)."""
    status, message = _HTTP.get(code, (502, _FAILED))
    return status, message or details or "the federation service refused the request"


async def _call(method: Any, request: Any, *, timeout: float) -> Any:
    """One call to the federation service; its failure as the REST API's error."""
    try:
        return await method(request, timeout=timeout)
    except grpc.aio.AioRpcError as exc:
        raise FederationError(*http_status(exc.code(), exc.details())) from None


class FederationClient:
    def __init__(self, target: str, tls: ClientTls | None = None) -> None:
        options: list[tuple[str, str | int]] = [
            ("grpc.max_receive_message_length", MAX_ANSWER_BYTES),
            *RECONNECT_OPTIONS,  # a restarted federation service is reached within seconds
        ]
        # the federation service is this agency's own: the trace goes on there (not beyond)
        interceptors = tracing.client_interceptors()
        if tls is None:
            self._channel = grpc.aio.insecure_channel(
                target, options=options, interceptors=interceptors
            )
        else:
            options.extend(channel_options(tls))
            self._channel = grpc.aio.secure_channel(
                target, channel_credentials(tls), options=options, interceptors=interceptors
            )
        self._stub = federation_pb2_grpc.FederationStub(self._channel)
        self._watches = watches_pb2_grpc.FederationWatchesStub(self._channel)
        self._releases = releases_pb2_grpc.FederationReleasesStub(self._channel)

    async def search(
        self,
        query: search_pb2.Query,
        *,
        officer: str,
        purpose: str,
        case_reference: str,
        targets: Sequence[str],
        timeout_s: float,
        wait_for_all: bool = False,
    ) -> federation_pb2.FederatedSearchResponse:
        request = federation_pb2.FederatedSearchRequest(
            query=query,
            officer_id=officer,
            purpose=purpose,
            case_reference=case_reference,
            targets=list(targets),
            wait_for_all=wait_for_all,
        )
        response: federation_pb2.FederatedSearchResponse = await _call(
            self._stub.Search, request, timeout=timeout_s + 1.0
        )
        return response

    async def set_watch(
        self,
        selectors: Sequence[records_pb2.Selector],
        *,
        officer: str,
        purpose: str,
        case_reference: str,
        days: int = 0,
        timeout_s: float,
    ) -> watches_pb2.FederatedWatchResponse:
        """Register (no selectors: remove) the case's watch at every partner."""
        request = watches_pb2.FederatedWatchRequest(
            watch=watches_pb2.Watch(selectors=list(selectors), days=days),
            officer_id=officer,
            purpose=purpose,
            case_reference=case_reference,
        )
        response: watches_pb2.FederatedWatchResponse = await _call(
            self._watches.SetWatch, request, timeout=timeout_s + 1.0
        )
        return response

    async def pull_alerts(
        self, cursors: Mapping[str, str], *, timeout_s: float = 10.0
    ) -> watches_pb2.FederatedAlerts:
        """Every partner's alerts after its cursor (checked by the federation service)."""
        response: watches_pb2.FederatedAlerts = await _call(
            self._watches.PullAlerts,
            watches_pb2.FederatedAlertPull(cursors=dict(cursors)),
            timeout=timeout_s,
        )
        return response

    async def request_release(
        self,
        release: releases_pb2.Release,
        *,
        agency: str,
        officer: str,
        purpose: str,
        case_reference: str,
        timeout_s: float,
    ) -> releases_pb2.FederatedReleaseResponse:
        """Ask ``agency`` (the record's owner) to release a record; its answer's status."""
        request = releases_pb2.FederatedReleaseRequest(
            release=release,
            agency=agency,
            officer_id=officer,
            purpose=purpose,
            case_reference=case_reference,
        )
        response: releases_pb2.FederatedReleaseResponse = await _call(
            self._releases.RequestRelease, request, timeout=timeout_s + 1.0
        )
        return response

    async def pull_decisions(
        self, cursors: Mapping[str, str], *, timeout_s: float = 10.0
    ) -> releases_pb2.FederatedDecisions:
        """Every partner's decisions on this agency's release requests after its cursor
        (signatures checked by the federation service)."""
        response: releases_pb2.FederatedDecisions = await _call(
            self._releases.PullDecisions,
            releases_pb2.FederatedDecisionPull(cursors=dict(cursors)),
            timeout=timeout_s,
        )
        return response

    async def ready(self) -> bool:
        """Whether the federation service answers its health check as serving."""
        stub = health_pb2_grpc.HealthStub(self._channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
        except grpc.aio.AioRpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    async def close(self) -> None:
        await self._channel.close(grace=None)
