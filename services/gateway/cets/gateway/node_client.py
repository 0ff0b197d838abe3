"""The gateway's connection to its own agency's node, for the agency's administrators: the
release requests partners filed there, and the decisions on them.

Each call carries the administrator's own officer token; the node checks it (issuer, ``admin``
role) with the agency's officer-token key and records the decision as that officer's. gRPC
errors are translated to HTTP statuses here and nowhere else.
"""

from __future__ import annotations

import grpc

from cets.common.channels import RECONNECT_OPTIONS
from cets.common.tls import ClientTls, channel_credentials, channel_options
from cets.gateway.federation_client import FederationError
from cets.v1 import releases_pb2, releases_pb2_grpc

__all__ = ["NodeAdminClient"]

_HTTP = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.UNIMPLEMENTED: 503,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


class NodeAdminClient:
    def __init__(self, target: str, tls: ClientTls | None = None) -> None:
        options: list[tuple[str, str | int]] = [*RECONNECT_OPTIONS]
        if tls is None:
            self._channel = grpc.aio.insecure_channel(target, options=options)
        else:
            options.extend(channel_options(tls))
            self._channel = grpc.aio.secure_channel(
                target, channel_credentials(tls), options=options
            )
        self._stub = releases_pb2_grpc.ReleaseAdminStub(self._channel)

    async def list(
        self, token: str, *, status: str = "", limit: int = 100, timeout_s: float = 10.0
    ) -> releases_pb2.HeldReleases:
        try:
            answer: releases_pb2.HeldReleases = await self._stub.ListReleases(
                releases_pb2.HeldReleasesQuery(status=status, limit=limit),
                metadata=_bearer(token),
                timeout=timeout_s,
            )
        except grpc.aio.AioRpcError as exc:
            raise _failed(exc) from None
        return answer

    async def show(
        self, token: str, release_id: str, *, timeout_s: float = 10.0
    ) -> releases_pb2.HeldRelease:
        try:
            answer: releases_pb2.HeldRelease = await self._stub.ShowRelease(
                releases_pb2.HeldReleaseId(release_id=release_id),
                metadata=_bearer(token),
                timeout=timeout_s,
            )
        except grpc.aio.AioRpcError as exc:
            raise _failed(exc) from None
        return answer

    async def decide(
        self, token: str, decision: releases_pb2.ReleaseDecision, *, timeout_s: float = 10.0
    ) -> releases_pb2.HeldRelease:
        try:
            answer: releases_pb2.HeldRelease = await self._stub.DecideRelease(
                decision, metadata=_bearer(token), timeout=timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            raise _failed(exc) from None
        return answer

    async def close(self) -> None:
        await self._channel.close(grace=None)


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def _failed(exc: grpc.aio.AioRpcError) -> FederationError:
    status = _HTTP.get(exc.code(), 502)
    if status in (503, 504) and exc.code() is not grpc.StatusCode.UNIMPLEMENTED:
        detail = "the agency's node is unavailable or too slow; try again"
    elif status == 502:
        detail = "the agency's node failed"
    else:
        detail = exc.details() or "refused"
    return FederationError(status, f"the agency's node: {detail}")
