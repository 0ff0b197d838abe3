"""The search node's settings: one frozen object, loaded once, failing fast on a bad setting.

Every setting comes from the environment (the names below) and may be overridden on the
command line. ``docs/configuration.md`` lists them all.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers

from cets.common.keys import load_card_key
from cets.common.settings import ConfigError, Setting, check_rate_limit, read_env, write_env
from cets.common.tls import ServerTls, TlsError
from cets.common.tls import from_env as server_tls_from_env
from cets.common.tls import to_env as server_tls_to_env
from cets.core.selectors import MIN_CARD_KEY_BYTES
from cets.search.index import IndexLayout, IndexNames

__all__ = ["NodeConfig"]

_MAX_GRPC_MESSAGE = 2**31 - 1


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Settings of one agency's search node."""

    agency_id: str
    """This agency's id in the federation (``CETS_AGENCY_ID``), e.g. ``tps``."""
    opensearch_url: str
    """The agency's own OpenSearch (``OPENSEARCH_URL``): one URL, or the URLs of several
    nodes of its cluster separated by commas."""
    card_key: bytes = field(repr=False)
    """Key for card fingerprints, read from the file named by ``CETS_CARD_KEY_FILE``."""
    agency_key_file: Path | None = None
    """This agency's Ed25519 private key, which signs answers (``CETS_AGENCY_KEY_FILE``)."""
    membership_file: Path | None = None
    """The signed federation membership document (``CETS_MEMBERSHIP_FILE``)."""
    admin_key_file: Path | None = None
    """The federation administrator's public key, which signs the membership
    (``CETS_FEDERATION_ADMIN_KEY_FILE``)."""
    audit_log: Path | None = None
    """Where every request received is recorded (``CETS_AUDIT_LOG``)."""
    policy_file: Path | None = None
    """This agency's sharing policy (``CETS_POLICY_FILE``); none: members and coordinators
    learn only that there are matches (hit/no-hit)."""
    listen: str = "127.0.0.1:50051"
    """gRPC address to listen on (``CETS_NODE_LISTEN``)."""
    health_listen: str | None = None
    """Where a plaintext listener answers only gRPC health checks (``CETS_NODE_HEALTH_LISTEN``),
    for Kubernetes' gRPC probes: loopback or the pod's own address; none: no such listener."""
    default_region: str | None = None
    """Country for phone numbers without a country code (``CETS_DEFAULT_REGION``), e.g. CA."""
    index_prefix: str = "cets"
    """Prefix of this node's index names (``CETS_INDEX_PREFIX``)."""
    index_shards: int = 1
    """Primary shards of the index, fixed when it is created (``CETS_INDEX_SHARDS``)."""
    index_replicas: str = "auto"
    """Copies of each shard (``CETS_INDEX_REPLICAS``): ``auto`` (one replica when the
    cluster has two data nodes or more, none on one node; OpenSearch's
    ``auto_expand_replicas: 0-1``) or a number; changed on a live index on the next start."""
    wait_for_active_shards: str = "1"
    """Copies of a shard that must be active before a write goes ahead
    (``CETS_WAIT_FOR_ACTIVE_SHARDS``): a number, or ``all``."""
    default_timeout_s: float = 10.0
    """Time a search may take when the caller sets no deadline (``CETS_NODE_TIMEOUT_S``)."""
    grace_s: float = 10.0
    """How long in-flight calls may finish on shutdown (``CETS_NODE_GRACE_S``)."""
    max_message_bytes: int = 4 * 1024 * 1024
    """Largest answer sent (``CETS_NODE_MAX_MESSAGE_BYTES``)."""
    max_request_bytes: int = 64 * 1024
    """Largest request accepted (``CETS_NODE_MAX_REQUEST_BYTES``): a query is small."""
    max_clock_skew_s: float = 30.0
    """How far a requester's clock may differ from this node's (``CETS_MAX_CLOCK_SKEW_S``)."""
    rate_limit: str = "3000/minute"
    """Searches each partner agency may make of this node (``CETS_NODE_RATE_LIMIT``), e.g.
    ``3000/minute`` (50 a second); counted only for requests whose signature verified."""
    max_watches: int = 1000
    """Watches (one per case) each partner agency may hold here (``CETS_NODE_MAX_WATCHES``)."""
    max_watch_selectors: int = 64
    """Selectors in one watch (``CETS_NODE_MAX_WATCH_SELECTORS``, at most 64)."""
    max_pending_releases: int = 100
    """Release requests each partner may have waiting here (``CETS_NODE_MAX_PENDING_RELEASES``)."""
    officer_key_file: Path | None = None
    """The public key of the agency's officer tokens (``CETS_OFFICER_KEY_FILE``, the gateway's
    too): the node checks its administrators' tokens with it before they list or decide release
    requests through the gateway; none: release requests are decided with ``cets releases``
    only."""
    tls: ServerTls | None = None
    """Certificate, key and (for mutual TLS) client CA (``CETS_NODE_TLS_CERT``,
    ``CETS_NODE_TLS_KEY``, ``CETS_NODE_TLS_CLIENT_CA``); none: plaintext, for loopback only."""

    def require_federation(self) -> None:
        """A node that answers searches needs its key, the membership and an audit log."""
        for value, variable in (
            (self.agency_key_file, "CETS_AGENCY_KEY_FILE"),
            (self.membership_file, "CETS_MEMBERSHIP_FILE"),
            (self.admin_key_file, "CETS_FEDERATION_ADMIN_KEY_FILE"),
            (self.audit_log, "CETS_AUDIT_LOG"),
        ):
            if value is None:
                raise ConfigError(f"{variable} is not set")

    def __post_init__(self) -> None:
        try:
            IndexNames(self.index_prefix, self.agency_id)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        urls = [part.strip() for part in self.opensearch_url.split(",")]
        if not all(re.match(r"^https?://[^\s/,]+", url) for url in urls):
            raise ConfigError(
                "OPENSEARCH_URL must look like http://host:9200 (or several such URLs of one "
                "cluster's nodes, separated by commas)"
            )
        try:
            IndexLayout.parse(self.index_shards, self.index_replicas)
        except ValueError as exc:
            raise ConfigError(f"CETS_INDEX_SHARDS / CETS_INDEX_REPLICAS: {exc}") from None
        if not re.fullmatch(r"all|[1-9]", self.wait_for_active_shards):
            raise ConfigError("CETS_WAIT_FOR_ACTIVE_SHARDS must be a number from 1 to 9, or all")
        if not re.match(r"^[^\s:]+:\d{1,5}$", self.listen):
            raise ConfigError("CETS_NODE_LISTEN must be host:port, e.g. 127.0.0.1:50051")
        if self.health_listen is not None and not re.match(
            r"^[^\s:]+:\d{1,5}$", self.health_listen
        ):
            raise ConfigError("CETS_NODE_HEALTH_LISTEN must be host:port, e.g. 0.0.0.0:8081")
        if self.health_listen is not None and self.health_listen == self.listen:
            raise ConfigError("CETS_NODE_HEALTH_LISTEN must differ from CETS_NODE_LISTEN")
        if self.default_region is not None and (
            self.default_region not in phonenumbers.SUPPORTED_REGIONS
        ):
            raise ConfigError("CETS_DEFAULT_REGION must be a two-letter country code, e.g. CA")
        if len(self.card_key) < MIN_CARD_KEY_BYTES:
            raise ConfigError(f"the card key must be at least {MIN_CARD_KEY_BYTES} bytes")
        if not (0 < self.default_timeout_s < math.inf and 0 <= self.grace_s < math.inf):
            raise ConfigError("CETS_NODE_TIMEOUT_S must be > 0 and CETS_NODE_GRACE_S >= 0")
        for size, variable in (
            (self.max_message_bytes, "CETS_NODE_MAX_MESSAGE_BYTES"),
            (self.max_request_bytes, "CETS_NODE_MAX_REQUEST_BYTES"),
        ):
            if not 1024 <= size <= _MAX_GRPC_MESSAGE:
                raise ConfigError(f"{variable} must be between 1024 and {_MAX_GRPC_MESSAGE}")
        if not 0 <= self.max_watches <= 1_000_000:
            raise ConfigError("CETS_NODE_MAX_WATCHES must be between 0 and 1000000")
        if not 0 <= self.max_pending_releases <= 100_000:
            raise ConfigError("CETS_NODE_MAX_PENDING_RELEASES must be between 0 and 100000")
        if not 1 <= self.max_watch_selectors <= 64:
            raise ConfigError("CETS_NODE_MAX_WATCH_SELECTORS must be between 1 and 64")
        if not 0 <= self.max_clock_skew_s <= 3600:
            raise ConfigError("CETS_MAX_CLOCK_SKEW_S must be between 0 and 3600")
        try:
            check_rate_limit(self.rate_limit)
        except ValueError:
            raise ConfigError(
                "CETS_NODE_RATE_LIMIT must look like 600/minute (a whole number above 0 "
                "per second, minute, hour or day)"
            ) from None

    @property
    def index(self) -> IndexNames:
        return IndexNames(self.index_prefix, self.agency_id)

    @property
    def index_layout(self) -> IndexLayout:
        return IndexLayout.parse(self.index_shards, self.index_replicas)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> NodeConfig:
        """Settings from the environment; ``overrides`` that are not None win."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        values.update(read_env(env, _SETTINGS))
        if "card_key" not in overrides or overrides["card_key"] is None:
            key_file = overrides.pop("card_key_file", None) or env.get("CETS_CARD_KEY_FILE")
            if key_file:
                values["card_key"] = load_card_key(Path(str(key_file)))
        overrides.pop("card_key_file", None)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "tls" not in values:
            try:
                values["tls"] = server_tls_from_env("CETS_NODE", env)
            except TlsError as exc:
                raise ConfigError(str(exc)) from None
        for required, variable in (
            ("agency_id", "CETS_AGENCY_ID"),
            ("opensearch_url", "OPENSEARCH_URL"),
            ("card_key", "CETS_CARD_KEY_FILE"),
        ):
            if required not in values:
                raise ConfigError(f"{variable} is not set")
        return cls(**values)  # type: ignore[arg-type]

    def to_env(self, *, card_key_file: Path) -> dict[str, str]:
        """The environment :meth:`from_env` reads back as these settings, to run ``cets node
        serve`` or ``cets ingest`` as a process. ``card_key_file`` must hold ``card_key``."""
        if load_card_key(card_key_file) != self.card_key:
            raise ValueError(f"{card_key_file} does not hold this node's card key")
        return {
            **write_env(self, _SETTINGS),
            "CETS_CARD_KEY_FILE": str(card_key_file),
            **server_tls_to_env("CETS_NODE", self.tls),
        }


_SETTINGS: tuple[Setting, ...] = (
    ("agency_id", "CETS_AGENCY_ID", str),
    ("opensearch_url", "OPENSEARCH_URL", str),
    ("listen", "CETS_NODE_LISTEN", str),
    ("health_listen", "CETS_NODE_HEALTH_LISTEN", str),
    ("default_region", "CETS_DEFAULT_REGION", str),
    ("index_prefix", "CETS_INDEX_PREFIX", str),
    ("index_shards", "CETS_INDEX_SHARDS", int),
    ("index_replicas", "CETS_INDEX_REPLICAS", str),
    ("wait_for_active_shards", "CETS_WAIT_FOR_ACTIVE_SHARDS", str),
    ("default_timeout_s", "CETS_NODE_TIMEOUT_S", float),
    ("grace_s", "CETS_NODE_GRACE_S", float),
    ("max_message_bytes", "CETS_NODE_MAX_MESSAGE_BYTES", int),
    ("max_request_bytes", "CETS_NODE_MAX_REQUEST_BYTES", int),
    ("max_clock_skew_s", "CETS_MAX_CLOCK_SKEW_S", float),
    ("rate_limit", "CETS_NODE_RATE_LIMIT", str),
    ("max_watches", "CETS_NODE_MAX_WATCHES", int),
    ("max_watch_selectors", "CETS_NODE_MAX_WATCH_SELECTORS", int),
    ("max_pending_releases", "CETS_NODE_MAX_PENDING_RELEASES", int),
    ("agency_key_file", "CETS_AGENCY_KEY_FILE", Path),
    ("membership_file", "CETS_MEMBERSHIP_FILE", Path),
    ("admin_key_file", "CETS_FEDERATION_ADMIN_KEY_FILE", Path),
    ("audit_log", "CETS_AUDIT_LOG", Path),
    ("policy_file", "CETS_POLICY_FILE", Path),
    ("officer_key_file", "CETS_OFFICER_KEY_FILE", Path),
)
