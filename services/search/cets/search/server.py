"""Runs an agency's search node: the gRPC server with health and reflection.

The health service reports ``SERVING`` while the agency's OpenSearch answers and
``NOT_SERVING`` while it does not, so load balancers and Kubernetes probes route around an
outage. On SIGTERM or SIGINT the server stops accepting calls and lets in-flight ones finish
within the configured grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from grpc_health.v1 import health_pb2

from cets.common.audit import AuditError, AuditLog
from cets.common.grpc_server import HealthListener, add_health_and_reflection, bind
from cets.common.keys import load_private_key, load_public_key
from cets.common.membership import Membership, load_membership
from cets.common.runtime import settle
from cets.core.errors import ConfigError
from cets.search.answering import flush_refusals
from cets.search.config import NodeConfig
from cets.search.errors import StoreTimeout, StoreUnavailable
from cets.search.guard import RequestGuard
from cets.search.index import describe_layout, ensure_index
from cets.search.policy import SharingPolicy, load_policy
from cets.search.ratelimit import PeerRateLimit
from cets.search.release_admin import ReleaseAdminService, add_release_admin_to_server
from cets.search.release_service import ReleaseNodeService, add_releases_to_server
from cets.search.releases import ReleaseNames, ReleaseStore, ensure_release_index
from cets.search.service import NodeIdentity, OpenSearchSearcher, SearchNodeService, add_to_server
from cets.search.store import RecordStore, connect, connect_async
from cets.search.watch_service import WatchLimits, WatchNodeService, add_watches_to_server
from cets.search.watches import WatchIndexNames, WatchStore, ensure_watch_indices, watch_key
from cets.v1 import search_pb2

__all__ = ["NodeParts", "NodeServer", "load_parts", "serve"]

_log = logging.getLogger(__name__)
SERVICE_NAME = search_pb2.DESCRIPTOR.services_by_name["SearchNode"].full_name
HEALTH_INTERVAL_S = 5.0


@dataclass(frozen=True, slots=True)
class NodeParts:
    """What a node loads from its files before it serves."""

    identity: NodeIdentity
    membership: Membership
    policy: SharingPolicy
    audit: AuditLog
    officer_key: Ed25519PublicKey | None = None
    """Checks the agency's administrators' tokens (release administration); none: not offered."""


def load_parts(config: NodeConfig) -> NodeParts:
    """Load keys, membership, policy and audit log; :class:`ConfigError` names what is wrong."""
    config.require_federation()
    assert config.agency_key_file and config.membership_file and config.admin_key_file
    assert config.audit_log
    try:
        signing_key = load_private_key(config.agency_key_file)
        membership = load_membership(config.membership_file, load_public_key(config.admin_key_file))
        policy = load_policy(config.policy_file) if config.policy_file else SharingPolicy()
        audit = AuditLog(config.audit_log)
        officer_key = load_public_key(config.officer_key_file) if config.officer_key_file else None
    except (ValueError, AuditError) as exc:
        raise ConfigError(str(exc)) from None
    if membership.get(config.agency_id) is None:
        _log.warning("this agency is not in the membership", extra={"agency": config.agency_id})
    identity = NodeIdentity(
        agency_id=config.agency_id,
        signing_key=signing_key,
        card_key=config.card_key,
        default_region=config.default_region,
    )
    return NodeParts(
        identity=identity,
        membership=membership,
        policy=policy,
        audit=audit,
        officer_key=officer_key,
    )


class NodeServer:
    """One running search node. ``start()`` returns the bound port; ``stop()`` drains."""

    def __init__(self, config: NodeConfig, *, store: RecordStore | None = None) -> None:
        """``store`` replaces the one made from ``config`` (to test against faulty clusters)."""
        self.config = config
        self._store = store or RecordStore(connect_async(config.opensearch_url), config.index.alias)
        self._index_ready = False
        options = [
            ("grpc.max_receive_message_length", config.max_request_bytes),
            ("grpc.max_send_message_length", config.max_message_bytes),
        ]
        self._server = grpc.aio.server(options=options)
        self._health = add_health_and_reflection(self._server, SERVICE_NAME)
        self._health_listener = (
            HealthListener(self._health, config.health_listen) if config.health_listen else None
        )
        self.health_port: int | None = None
        """The health listener's bound port, once started."""
        self._watch: asyncio.Task[None] | None = None
        parts = load_parts(config)
        self._audit = parts.audit
        self._membership = parts.membership
        guard = RequestGuard(  # one gate, one replay cache, for every kind of request
            agency_id=config.agency_id,
            membership=lambda: parts.membership,
            max_skew_s=config.max_clock_skew_s,
        )
        rate_limit = PeerRateLimit(config.rate_limit)
        self._watch_client = connect_async(config.opensearch_url)
        self._release_names = ReleaseNames(config.index)
        releases = ReleaseStore(self._watch_client, self._release_names)
        self._search = SearchNodeService(
            identity=parts.identity,
            searcher=OpenSearchSearcher(self._store),
            guard=guard,
            policy=parts.policy,
            audit=parts.audit,
            default_timeout_s=config.default_timeout_s,
            rate_limit=rate_limit,
            max_answer_bytes=config.max_message_bytes,
            releases=releases,
        )
        add_to_server(self._search, self._server)
        self._watch_names = WatchIndexNames(config.index)
        self._watches = WatchStore(
            self._watch_client, self._watch_names, watch_key(parts.identity.signing_key)
        )
        add_watches_to_server(
            WatchNodeService(
                identity=parts.identity,
                store=self._watches,
                records=self._watch_client,
                records_alias=config.index.alias,
                guard=guard,
                policy=parts.policy,
                audit=parts.audit,
                limits=WatchLimits(
                    max_watches=config.max_watches, max_selectors=config.max_watch_selectors
                ),
                rate_limit=rate_limit,
            ),
            self._server,
        )
        add_releases_to_server(
            ReleaseNodeService(
                identity=parts.identity,
                store=releases,
                guard=guard,
                policy=parts.policy,
                audit=parts.audit,
                max_pending=config.max_pending_releases,
                rate_limit=rate_limit,
            ),
            self._server,
        )
        self._admin_client = connect(config.opensearch_url)
        add_release_admin_to_server(
            ReleaseAdminService(
                agency_id=config.agency_id,
                client=self._admin_client,
                names=self._release_names,
                officer_key=parts.officer_key,
                audit=parts.audit,
            ),
            self._server,
        )

    async def start(self) -> int:
        """Prepare the index, bind, and start serving. Returns the port.

        An unreachable OpenSearch does not stop the node: it serves ``NOT_SERVING`` health and
        ``UNAVAILABLE`` answers until OpenSearch is back, then prepares the index.
        """
        port = bind(self._server, self.config.listen, self.config.tls, prefix="CETS_NODE")
        await self._prepare_index()
        await self._server.start()
        if self._health_listener is not None:
            self.health_port = await self._health_listener.start()
        await self._set_health(serving=self._index_ready)
        self._watch = asyncio.create_task(self._watch_store())
        _log.info(
            "search node started",
            extra={"agency": self.config.agency_id, "port": port, "index": self.config.index.alias},
        )
        return port

    async def stop(self, grace_s: float | None = None) -> None:
        grace = self.config.grace_s if grace_s is None else grace_s
        await self._health.enter_graceful_shutdown()
        if self._watch:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._health_listener is not None:
            await self._health_listener.stop(0)
        self._search.end_streams()  # partners' long-lived streams must not hold the grace
        await self._server.stop(grace)
        await self._store.close()
        await self._watch_client.close()
        await flush_refusals(self._audit)
        self._admin_client.close()
        self._audit.close()
        _log.info("search node stopped", extra={"agency": self.config.agency_id})

    async def wait(self) -> None:
        await self._server.wait_for_termination()

    async def _set_health(self, *, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", SERVICE_NAME):
            await self._health.set(name, status)

    async def _prepare_index(self) -> bool:
        admin = connect(self.config.opensearch_url, timeout_s=5.0, retries=0)
        try:
            await asyncio.to_thread(
                ensure_index, admin, self.config.index, self.config.index_layout
            )
            layout = await asyncio.to_thread(describe_layout, admin, self.config.index)
            _log.info(
                "index layout", extra={"configured": self.config.index_layout.describe(), **layout}
            )
            await asyncio.to_thread(ensure_watch_indices, admin, self._watch_names)
            await asyncio.to_thread(ensure_release_index, admin, self._release_names)
            active = [m.id for m in self._membership.members.values() if m.active]
            dropped = await self._watches.drop_watchers(active, now=datetime.now(UTC))
            if dropped:
                _log.info("dropped the watches of former members", extra={"watches": dropped})
            self._index_ready = True
        except (StoreUnavailable, StoreTimeout) as exc:
            _log.warning("cannot prepare the index yet; will retry", extra={"reason": str(exc)})
        finally:
            admin.close()
        return self._index_ready

    async def _watch_store(self) -> None:
        serving = self._index_ready
        while True:
            await asyncio.sleep(HEALTH_INTERVAL_S)
            now = await self._store.ping()
            if now and not self._index_ready:
                now = await self._prepare_index()
            if now != serving:
                serving = now
                await self._set_health(serving=serving)
                level = logging.INFO if serving else logging.WARNING
                _log.log(level, "opensearch %s", "is back" if serving else "is unreachable")


async def serve(config: NodeConfig) -> None:
    """Run a node until SIGTERM or SIGINT."""
    server = NodeServer(config)
    await server.start()
    settle()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    _log.info("shutting down", extra={"grace_s": config.grace_s})
    await server.stop()
