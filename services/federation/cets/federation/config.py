"""The federation service's settings: one frozen object, loaded once, failing fast.

Every setting comes from the environment (names below); ``docs/configuration.md`` lists them.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cets.common.keys import load_card_key
from cets.common.settings import ConfigError, Setting, check_agency_id, read_env, write_env
from cets.common.tls import (
    ClientTls,
    ServerTls,
    TlsError,
    client_from_env,
    client_to_env,
    from_env,
    to_env,
)
from cets.federation.fanout import Tail

__all__ = ["FederationConfig"]


@dataclass(frozen=True, slots=True)
class FederationConfig:
    """Settings of one agency's (or a coordinator's) federation service."""

    agency_id: str
    """The agency this service signs for (``CETS_AGENCY_ID``)."""
    agency_key_file: Path
    """Its Ed25519 private key (``CETS_AGENCY_KEY_FILE``)."""
    membership_file: Path
    """The signed membership document (``CETS_MEMBERSHIP_FILE``)."""
    admin_key_file: Path
    """The federation administrator's public key (``CETS_FEDERATION_ADMIN_KEY_FILE``)."""
    audit_log: Path
    """Where every query sent is recorded (``CETS_FEDERATION_AUDIT_LOG``)."""
    listen: str = "127.0.0.1:50061"
    """gRPC address for this agency's gateway (``CETS_FEDERATION_LISTEN``)."""
    default_region: str | None = None
    """Country for phone numbers typed without a country code (``CETS_DEFAULT_REGION``)."""
    card_key: bytes | None = field(default=None, repr=False)
    """Card-fingerprint key shared with partners (``CETS_CARD_KEY_FILE``): card numbers in
    queries are sent as fingerprints; without it, card numbers cannot be searched."""
    default_timeout_s: float = 5.0
    """Deadline of a federated search whose caller sets none (``CETS_FEDERATION_TIMEOUT_S``)."""
    max_timeout_s: float = 30.0
    """Longest deadline a caller may ask for (``CETS_FEDERATION_MAX_TIMEOUT_S``)."""
    request_validity_s: float = 60.0
    """How long a signed request stays valid at the peers (``CETS_REQUEST_VALIDITY_S``)."""
    tail_quorum: float = 0.95
    """A search of 20 agencies or more stops waiting for the last few once this share of
    them have replied, after the grace below (``CETS_FEDERATION_TAIL_QUORUM``, 0.5 to 1;
    1: every search waits for every agency until its deadline)."""
    tail_grace: float = 0.5
    """That grace, as a multiple of the time the quorum took, and at least 100 ms
    (``CETS_FEDERATION_TAIL_GRACE``, 0 to 100)."""
    tls: ServerTls | None = None
    """This service's own certificate (``CETS_FEDERATION_TLS_CERT``/``_KEY``/``_CLIENT_CA``)."""
    peer_tls: ClientTls | None = None
    """How to reach the peers' nodes (``CETS_PEER_TLS_CA``, ``CETS_PEER_TLS_CERT``,
    ``CETS_PEER_TLS_KEY``, ``CETS_PEER_TLS_SERVER_NAME``); none: plaintext, loopback only."""
    grace_s: float = 10.0
    """How long in-flight searches may finish on shutdown (``CETS_FEDERATION_GRACE_S``)."""
    max_answer_bytes: int = 4 * 1024 * 1024
    """Largest answer accepted from one partner's node (``CETS_FEDERATION_MAX_ANSWER_BYTES``,
    1024 to 2147483647): a larger one is that agency's error, saying by how much. Keep it at
    least the partners' ``CETS_NODE_MAX_MESSAGE_BYTES``."""
    health_listen: str | None = None
    """A plaintext listener answering only gRPC health checks (``CETS_FEDERATION_HEALTH_LISTEN``),
    for Kubernetes' gRPC probes; none: no such listener."""
    allowed_clients: frozenset[str] = frozenset()
    """Common names of the client certificates (this agency's gateways) that may search
    (``CETS_FEDERATION_ALLOWED_CLIENTS``, comma-separated); empty: any client the TLS client
    CA vouches for, or any local caller on loopback without TLS."""

    def __post_init__(self) -> None:
        check_agency_id(self.agency_id)
        if not re.match(r"^[^\s:]+:\d{1,5}$", self.listen):
            raise ConfigError("CETS_FEDERATION_LISTEN must be host:port")
        for name, value in (
            ("CETS_FEDERATION_TIMEOUT_S", self.default_timeout_s),
            ("CETS_FEDERATION_MAX_TIMEOUT_S", self.max_timeout_s),
            ("CETS_REQUEST_VALIDITY_S", self.request_validity_s),
        ):
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive number")
        if not (math.isfinite(self.tail_quorum) and 0.5 <= self.tail_quorum <= 1):
            raise ConfigError("CETS_FEDERATION_TAIL_QUORUM must be a share between 0.5 and 1")
        if not (math.isfinite(self.tail_grace) and 0 <= self.tail_grace <= 100):
            raise ConfigError("CETS_FEDERATION_TAIL_GRACE must be a factor between 0 and 100")
        if self.default_timeout_s > self.max_timeout_s:
            raise ConfigError("CETS_FEDERATION_TIMEOUT_S exceeds CETS_FEDERATION_MAX_TIMEOUT_S")
        if not 1024 <= self.max_answer_bytes <= 2**31 - 1:
            raise ConfigError(
                "CETS_FEDERATION_MAX_ANSWER_BYTES must be between 1024 and 2147483647"
            )
        if self.health_listen is not None and (
            not re.match(r"^[^\s:]+:\d{1,5}$", self.health_listen)
            or self.health_listen == self.listen
        ):
            raise ConfigError(
                "CETS_FEDERATION_HEALTH_LISTEN must be host:port, other than CETS_FEDERATION_LISTEN"
            )

    def tail(self) -> Tail:
        """The rule by which a search of many agencies stops waiting for the last few."""
        return Tail(quorum=self.tail_quorum, grace=self.tail_grace)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FederationConfig:
        env = os.environ if env is None else env
        values = read_env(env, _SETTINGS, required=_REQUIRED)
        if env.get("CETS_CARD_KEY_FILE"):
            values["card_key"] = load_card_key(Path(env["CETS_CARD_KEY_FILE"]))
        try:
            values["tls"] = from_env("CETS_FEDERATION", env)
            values["peer_tls"] = client_from_env("CETS_PEER", env)
        except TlsError as exc:
            raise ConfigError(str(exc)) from None
        return cls(**values)  # type: ignore[arg-type]

    def to_env(self, *, card_key_file: Path | None = None) -> dict[str, str]:
        """The environment :meth:`from_env` reads back as these settings, to run ``cets
        federation serve`` as a process. ``card_key_file`` must hold ``card_key``, if set."""
        env = write_env(self, _SETTINGS)
        if self.card_key is not None:
            if card_key_file is None or load_card_key(card_key_file) != self.card_key:
                raise ValueError("give the file that holds this service's card key")
            env["CETS_CARD_KEY_FILE"] = str(card_key_file)
        return env | to_env("CETS_FEDERATION", self.tls) | client_to_env("CETS_PEER", self.peer_tls)


def _names(raw: str) -> frozenset[str]:
    return frozenset(n.strip() for n in raw.split(",") if n.strip())


_REQUIRED = frozenset(
    {"agency_id", "agency_key_file", "membership_file", "admin_key_file", "audit_log"}
)
_SETTINGS: tuple[Setting, ...] = (
    ("agency_id", "CETS_AGENCY_ID", str),
    ("agency_key_file", "CETS_AGENCY_KEY_FILE", Path),
    ("membership_file", "CETS_MEMBERSHIP_FILE", Path),
    ("admin_key_file", "CETS_FEDERATION_ADMIN_KEY_FILE", Path),
    ("audit_log", "CETS_FEDERATION_AUDIT_LOG", Path),
    ("listen", "CETS_FEDERATION_LISTEN", str),
    ("default_region", "CETS_DEFAULT_REGION", str),
    ("default_timeout_s", "CETS_FEDERATION_TIMEOUT_S", float),
    ("max_timeout_s", "CETS_FEDERATION_MAX_TIMEOUT_S", float),
    ("request_validity_s", "CETS_REQUEST_VALIDITY_S", float),
    ("tail_quorum", "CETS_FEDERATION_TAIL_QUORUM", float),
    ("tail_grace", "CETS_FEDERATION_TAIL_GRACE", float),
    ("grace_s", "CETS_FEDERATION_GRACE_S", float),
    ("max_answer_bytes", "CETS_FEDERATION_MAX_ANSWER_BYTES", int),
    ("health_listen", "CETS_FEDERATION_HEALTH_LISTEN", str),
    ("allowed_clients", "CETS_FEDERATION_ALLOWED_CLIENTS", _names),
)
