"""The gateway's connection to its agency's federation service, and the one place its gRPC
errors are translated for the REST API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cets.common import tracing
from cets.common.channels import RECONNECT_OPTIONS
from cets.common.tls import ClientTls, channel_credentials, channel_options
from cets.v1 import (
    federation_pb2,
    federation_pb2_grpc,
    records_pb2,
    search_pb2,
    watches_pb2,
    watches_pb2_grpc,
)

__all__ = ["FederationClient", "FederationError"]

MAX_ANSWER_BYTES = 64 * 1024 * 1024


class FederationError(Exception):
    """The federated search failed as a whole; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


_HTTP = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


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

    async def search(
        self,
        query: search_pb2.Query,
        *,
        officer: str,
        purpose: str,
        case_reference: str,
        targets: Sequence[str],
        timeout_s: float,
    ) -> federation_pb2.FederatedSearchResponse:
        request = federation_pb2.FederatedSearchRequest(
            query=query,
            officer_id=officer,
            purpose=purpose,
            case_reference=case_reference,
            targets=list(targets),
        )
        try:
            response: federation_pb2.FederatedSearchResponse = await self._stub.Search(
                request, timeout=timeout_s + 1.0
            )
        except grpc.aio.AioRpcError as exc:
            status = _HTTP.get(exc.code(), 502)
            detail = exc.details() if status == 400 else "the federation service failed"
            if status in (503, 504):
                detail = "the federation service is unavailable or too slow; try again"
            raise FederationError(status, detail or "bad request") from None
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
        try:
            response: watches_pb2.FederatedWatchResponse = await self._watches.SetWatch(
                request, timeout=timeout_s + 1.0
            )
        except grpc.aio.AioRpcError as exc:
            raise _failed(exc) from None
        return response

    async def pull_alerts(
        self, cursors: Mapping[str, str], *, timeout_s: float = 10.0
    ) -> watches_pb2.FederatedAlerts:
        """Every partner's alerts after its cursor (checked by the federation service)."""
        try:
            response: watches_pb2.FederatedAlerts = await self._watches.PullAlerts(
                watches_pb2.FederatedAlertPull(cursors=dict(cursors)), timeout=timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            raise _failed(exc) from None
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


def _failed(exc: grpc.aio.AioRpcError) -> FederationError:
    status = _HTTP.get(exc.code(), 502)
    detail = exc.details() if status == 400 else "the federation service failed"
    if status in (503, 504):
        detail = "the federation service is unavailable or too slow; try again"
    return FederationError(status, detail or "bad request")
