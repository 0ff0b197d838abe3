"""The gateway's settings: one frozen object, loaded once, failing fast on a bad setting."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cets.common.settings import ConfigError, Setting, check_agency_id, check_rate_limit, read_env
from cets.common.tls import ClientTls, TlsError, client_from_env

__all__ = ["GatewayConfig"]


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Settings of one agency's (or a coordinator's) gateway."""

    agency_id: str
    """The agency whose officers use this gateway (``CETS_AGENCY_ID``)."""
    officer_key_file: Path
    """Public key that verifies the agency's officer tokens (``CETS_OFFICER_KEY_FILE``)."""
    audit_log: Path
    """The gateway's own audit log (``CETS_GATEWAY_AUDIT_LOG``)."""
    federation: str = "127.0.0.1:50061"
    """The agency's federation service (``CETS_FEDERATION_TARGET``)."""
    federation_tls: ClientTls | None = None
    """TLS to the federation service (``CETS_GATEWAY_TLS_CA``/``_CERT``/``_KEY``)."""
    host: str = "127.0.0.1"
    """Address the REST API listens on (``CETS_GATEWAY_HOST``)."""
    port: int = 8080
    """Port of the REST API and web page (``CETS_GATEWAY_PORT``)."""
    cursor_key: bytes = field(default=b"", repr=False)
    """Key that makes paging cursors tamper-evident (``CETS_GATEWAY_CURSOR_KEY_FILE``, hex);
    empty: a random key, so cursors do not survive a restart or cross replicas."""
    rate_limit: str = "30/minute"
    """Searches per officer (``CETS_GATEWAY_RATE_LIMIT``), e.g. ``30/minute``."""
    timeout_s: float = 5.0
    """Deadline of a federated search (``CETS_GATEWAY_TIMEOUT_S``)."""
    metrics_token: str | None = field(default=None, repr=False)
    """The bearer token a Prometheus scraper must send for ``/metrics``
    (``CETS_GATEWAY_METRICS_TOKEN_FILE``); none: ``/metrics`` is refused to everyone."""
    database_url: str = ""
    """The case store (``CETS_GATEWAY_DATABASE_URL``), a SQLAlchemy URL such as
    ``postgresql+psycopg://cets@db/cases``; empty: a SQLite file ``cases.db`` beside the audit
    log."""
    alert_poll_s: float = 60.0
    """How often partners' alerts, and their decisions on this agency's release requests, are
    collected (``CETS_GATEWAY_ALERT_POLL_S``, 5 to 3600)."""
    node_target: str = ""
    """The agency's own search node (``CETS_GATEWAY_NODE_TARGET``), where its administrators
    decide on partners' release requests from the web page; empty: they use ``cets releases``."""
    node_tls: ClientTls | None = None
    """TLS to the node (``CETS_GATEWAY_NODE_TLS_CA``/``_CERT``/``_KEY``/``_SERVER_NAME``)."""

    @property
    def case_store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.audit_log.parent / 'cases.db'}"

    def __post_init__(self) -> None:
        check_agency_id(self.agency_id)
        try:
            check_rate_limit(self.rate_limit)
        except ValueError:
            raise ConfigError(
                "CETS_GATEWAY_RATE_LIMIT must look like 30/minute (a whole number above 0 "
                "per second, minute, hour or day)"
            ) from None
        if not (math.isfinite(self.timeout_s) and 0 < self.timeout_s <= 60):
            raise ConfigError("CETS_GATEWAY_TIMEOUT_S must be between 0 and 60")
        if not (math.isfinite(self.alert_poll_s) and 5 <= self.alert_poll_s <= 3600):
            raise ConfigError("CETS_GATEWAY_ALERT_POLL_S must be between 5 and 3600")
        if self.database_url and not self.database_url.startswith(("sqlite:", "postgresql")):
            raise ConfigError(
                "CETS_GATEWAY_DATABASE_URL must be a sqlite:/// or postgresql+psycopg:// URL"
            )
        if not 0 <= self.port <= 65535:
            raise ConfigError("CETS_GATEWAY_PORT must be a port number")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewayConfig:
        env = os.environ if env is None else env
        values = read_env(env, _SETTINGS, required=_REQUIRED)
        if env.get("CETS_GATEWAY_CURSOR_KEY_FILE"):
            path = Path(env["CETS_GATEWAY_CURSOR_KEY_FILE"])
            try:
                values["cursor_key"] = bytes.fromhex(path.read_text().strip())
            except (OSError, ValueError):
                raise ConfigError(f"cannot read a hex key from {path}") from None
        if env.get("CETS_GATEWAY_METRICS_TOKEN_FILE"):
            path = Path(env["CETS_GATEWAY_METRICS_TOKEN_FILE"])
            try:
                token = path.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                raise ConfigError(f"cannot read the metrics token from {path}") from None
            if len(token) < 16 or not token.isascii() or not token.isprintable():
                raise ConfigError(
                    f"the metrics token in {path} must be at least 16 printable ASCII characters"
                )
            values["metrics_token"] = token
        try:
            values["federation_tls"] = client_from_env("CETS_GATEWAY", env)
            values["node_tls"] = client_from_env("CETS_GATEWAY_NODE", env)
        except TlsError as exc:
            raise ConfigError(str(exc)) from None
        return cls(**values)  # type: ignore[arg-type]


_REQUIRED = frozenset({"agency_id", "officer_key_file", "audit_log"})
_SETTINGS: tuple[Setting, ...] = (
    ("agency_id", "CETS_AGENCY_ID", str),
    ("officer_key_file", "CETS_OFFICER_KEY_FILE", Path),
    ("audit_log", "CETS_GATEWAY_AUDIT_LOG", Path),
    ("federation", "CETS_FEDERATION_TARGET", str),
    ("host", "CETS_GATEWAY_HOST", str),
    ("database_url", "CETS_GATEWAY_DATABASE_URL", str),
    ("alert_poll_s", "CETS_GATEWAY_ALERT_POLL_S", float),
    ("node_target", "CETS_GATEWAY_NODE_TARGET", str),
    ("port", "CETS_GATEWAY_PORT", int),
    ("rate_limit", "CETS_GATEWAY_RATE_LIMIT", str),
    ("timeout_s", "CETS_GATEWAY_TIMEOUT_S", float),
)
