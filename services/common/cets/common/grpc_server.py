"""What every cets gRPC server does the same way: health and reflection, and binding with
the transport rules (plaintext only on loopback; mutual TLS where the caller must be known)."""

from __future__ import annotations

from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from cets.common.settings import ConfigError
from cets.common.tls import ServerTls, is_loopback, server_credentials

__all__ = ["LIVENESS", "HealthListener", "add_health_and_reflection", "add_methods", "bind"]

HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name


LIVENESS = "liveness"
"""The health service name that is SERVING while the process runs (until it shuts down),
whatever its dependencies: for liveness probes, which must not restart a node whose
OpenSearch is away (the readiness probe, on service "", takes it out of the Service)."""


class HealthListener:
    """A second gRPC server, plaintext, that answers only the health protocol.

    Kubernetes' gRPC probes (like TCP probes) come from the kubelet without a client
    certificate, so they cannot reach a port that requires mutual TLS. This listener shares
    the main server's :class:`HealthServicer` (the same SERVING / NOT_SERVING) and serves
    nothing else: no records, no reflection, requests of at most 1 KiB. Bind it to loopback,
    or to the pod's own address for the kubelet (a NetworkPolicy keeps others out); it is
    plaintext on purpose, and says only whether the service is up.
    """

    def __init__(self, health: HealthServicer, listen: str) -> None:
        self.listen = listen
        self._health = health
        self._server = grpc.aio.server(
            options=[("grpc.max_receive_message_length", 1024), ("grpc.max_concurrent_streams", 16)]
        )
        health_pb2_grpc.add_HealthServicer_to_server(health, self._server)

    async def start(self) -> int:
        """Bind and serve; the bound port."""
        port = self._server.add_insecure_port(self.listen)
        if port == 0:
            raise OSError(f"cannot listen on {self.listen}")
        await self._server.start()
        await self._health.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
        return port

    async def stop(self, grace_s: float | None = None) -> None:
        await self._server.stop(grace_s)


def add_methods(
    server: grpc.aio.Server, service_name: str, handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
) -> None:
    """Serve ``handlers`` (method name to handler) as the service ``service_name``.

    Registered methods, as the generated ``add_*Servicer_to_server`` functions add them:
    gRPC matches each call to its handler in its core, not through a generic handler's
    lookup in Python for every call."""
    server.add_registered_method_handlers(service_name, handlers)  # type: ignore[attr-defined]


def add_health_and_reflection(server: grpc.aio.Server, service_name: str) -> HealthServicer:
    """Serve the gRPC health protocol and reflection next to ``service_name``."""
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        (service_name, HEALTH_SERVICE, reflection.SERVICE_NAME), server
    )
    return health


def bind(
    server: grpc.aio.Server,
    listen: str,
    tls: ServerTls | None,
    *,
    prefix: str,
    mutual: bool = False,
) -> int:
    """Bind ``listen``; off loopback only with TLS (and a client CA when ``mutual``).

    ``prefix`` names the settings in the error, e.g. ``CETS_NODE`` → ``CETS_NODE_TLS_CERT``.
    Returns the bound port.
    """
    if not is_loopback(listen) and (tls is None or (mutual and tls.client_ca is None)):
        needed = f"{prefix}_TLS_CERT, {prefix}_TLS_KEY" + (
            f" and {prefix}_TLS_CLIENT_CA" if mutual else ""
        )
        kind = "mutual TLS" if mutual else "TLS"
        raise ConfigError(f"refusing to serve on {listen} without {kind}: set {needed}")
    if tls is None:
        port = server.add_insecure_port(listen)
    else:
        port = server.add_secure_port(listen, server_credentials(tls))
    if port == 0:
        raise OSError(f"cannot listen on {listen}")
    return port
