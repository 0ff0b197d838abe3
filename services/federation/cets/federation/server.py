"""Runs a federation service: its gRPC server for the gateway, with health and reflection."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health_pb2

from cets.common import tracing
from cets.common.audit import AuditError, AuditLog
from cets.common.grpc_server import HealthListener, add_health_and_reflection, bind
from cets.common.keys import load_private_key, load_public_key
from cets.common.membership import Membership, load_membership
from cets.common.runtime import settle
from cets.core.errors import ConfigError
from cets.federation.config import FederationConfig
from cets.federation.fanout import Caller, FanOut
from cets.federation.peers import GrpcCaller
from cets.federation.release_service import FederationReleaseService, add_releases_to_server
from cets.federation.service import FederationService, QueryRules, add_to_server
from cets.federation.watch_service import FederationWatchService, add_watches_to_server
from cets.v1 import federation_pb2

__all__ = ["FederationServer", "serve"]

_log = logging.getLogger(__name__)
MAX_ANSWER_BYTES = 64 * 1024 * 1024
MAX_REQUEST_BYTES = 256 * 1024
"""Room for the largest request the query's limits allow (every field at its longest, in
four-byte characters), so a search is refused by its field limits, naming the field, never
by its size in bytes."""
"""Largest federated answer sent; callers must accept as much."""
SERVICE_NAME = federation_pb2.DESCRIPTOR.services_by_name["Federation"].full_name


@dataclass(frozen=True, slots=True)
class _Loaded:
    membership: Membership
    audit: AuditLog
    fanout: FanOut


class FederationServer:
    """One running federation service. ``start()`` returns the bound port."""

    def __init__(self, config: FederationConfig, *, caller: Caller | None = None) -> None:
        """``caller`` replaces the gRPC peer caller (to put fakes that crash or stall in tests)."""
        self.config = config
        self._caller = caller or GrpcCaller(
            config.peer_tls, max_message_bytes=config.max_answer_bytes
        )
        loaded = self._load(config)
        self._audit = loaded.audit
        self._server = grpc.aio.server(
            interceptors=tracing.server_interceptors(),  # its callers are the agency's own
            options=[
                ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
                ("grpc.max_send_message_length", MAX_ANSWER_BYTES),
            ],
        )
        self._health = add_health_and_reflection(self._server, SERVICE_NAME)
        self._health_listener = (
            HealthListener(self._health, config.health_listen) if config.health_listen else None
        )
        parts: dict[str, Any] = {
            "fanout": loaded.fanout,
            "membership": lambda: loaded.membership,
            "audit": loaded.audit,
            "rules": QueryRules(config.default_region, config.card_key),
            "default_timeout_s": config.default_timeout_s,
            "max_timeout_s": config.max_timeout_s,
            "allowed_clients": config.allowed_clients,
        }
        search = FederationService(**parts, tail=config.tail())
        add_to_server(search, self._server)
        add_watches_to_server(FederationWatchService(**parts), self._server)
        add_releases_to_server(FederationReleaseService(**parts), self._server)

    def _load(self, config: FederationConfig) -> _Loaded:
        try:
            key = load_private_key(config.agency_key_file)
            membership = load_membership(
                config.membership_file, load_public_key(config.admin_key_file)
            )
            audit = AuditLog(config.audit_log)
        except (ValueError, AuditError) as exc:
            raise ConfigError(str(exc)) from None
        fanout = FanOut(
            agency_id=config.agency_id,
            key=key,
            caller=self._caller,
            validity_s=config.request_validity_s,
        )
        return _Loaded(membership, audit, fanout)

    async def start(self) -> int:
        """Bind and serve. Off loopback, only over mutual TLS: whoever reaches this service
        can search with this agency's signature."""
        port = bind(
            self._server, self.config.listen, self.config.tls, prefix="CETS_FEDERATION", mutual=True
        )
        await self._server.start()
        if self._health_listener is not None:
            await self._health_listener.start()
        for name in ("", SERVICE_NAME):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        _log.info(
            "federation service started", extra={"agency": self.config.agency_id, "port": port}
        )
        return port

    async def stop(self, grace_s: float | None = None) -> None:
        await self._health.enter_graceful_shutdown()
        if self._health_listener is not None:
            await self._health_listener.stop(0)
        await self._server.stop(self.config.grace_s if grace_s is None else grace_s)
        if isinstance(self._caller, GrpcCaller):
            await self._caller.close()
        self._audit.close()


async def serve(config: FederationConfig) -> None:
    """Run until SIGTERM or SIGINT."""
    server = FederationServer(config)
    await server.start()
    settle()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()
