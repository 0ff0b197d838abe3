"""A whole federation on one machine: keys, signed membership, policies and settings.

Used by the demo, the tests and the benchmarks, so that all three run the same federation an
administrator would set up by hand with ``cets keys``, ``cets federation`` and a policy file::

    <root>/admin.key, admin.pub      the federation administrator's key pair
    <root>/card.key                  the card-fingerprint key the agencies share
    <root>/membership.json           every agency, its endpoint, key and roles, signed
    <root>/<agency>/agency.key       that agency's signing key (and agency.pub)
    <root>/<agency>/officer.key      the key its officers' tokens are signed with (and .pub)
    <root>/<agency>/policy.toml      its sharing policy
    <root>/<agency>/audit/           its node's and its federation service's audit logs

Every service listens on 127.0.0.1 on ports chosen when the federation is built.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cets.common import membership as ms
from cets.common.keys import (
    generate_private_key,
    public_key_text,
    write_private_key,
    write_public_key,
)
from cets.common.membership import Role
from cets.federation.config import FederationConfig
from cets.gateway.config import GatewayConfig
from cets.search.config import NodeConfig

__all__ = [
    "AgencySpec",
    "LocalAgency",
    "LocalFederation",
    "build_local_federation",
    "free_ports",
]

OPEN_POLICY = 'contact = "{name}"\n\n[defaults]\nmember = "full"\ncoordinator = "summary"\n'


@dataclass(frozen=True, slots=True)
class AgencySpec:
    id: str
    name: str
    region: str | None = None
    roles: frozenset[Role] = frozenset({Role.MEMBER})
    policy: str = OPEN_POLICY
    """The policy file's TOML; ``{name}`` is replaced by the agency's name."""


@dataclass(frozen=True, slots=True)
class LocalAgency:
    spec: AgencySpec
    directory: Path
    node_port: int
    federation_port: int
    card_key: bytes = field(repr=False)
    root: Path

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def node_target(self) -> str:
        return f"127.0.0.1:{self.node_port}"

    @property
    def federation_target(self) -> str:
        return f"127.0.0.1:{self.federation_port}"

    def node_config(self, opensearch_url: str, *, index_prefix: str = "cets") -> NodeConfig:
        return NodeConfig(
            agency_id=self.id,
            opensearch_url=opensearch_url,
            card_key=self.card_key,
            listen=self.node_target,
            default_region=self.spec.region,
            index_prefix=index_prefix,
            grace_s=1.0,
            agency_key_file=self.directory / "agency.key",
            membership_file=self.root / "membership.json",
            admin_key_file=self.root / "admin.pub",
            audit_log=self.directory / "audit" / "node.log",
            policy_file=self.directory / "policy.toml",
            officer_key_file=self.directory / "officer.pub",
        )

    def node_env(self, opensearch_url: str, *, index_prefix: str = "cets") -> dict[str, str]:
        """:meth:`node_config` as environment variables, for ``cets node serve`` and
        ``cets ingest`` run as processes."""
        config = self.node_config(opensearch_url, index_prefix=index_prefix)
        return config.to_env(card_key_file=self.root / "card.key")

    def federation_env(self, **overrides: object) -> dict[str, str]:
        """:meth:`federation_config` as environment variables, for ``cets federation serve``
        run as a process."""
        return self.federation_config(**overrides).to_env(card_key_file=self.root / "card.key")

    def gateway_config(self, **overrides: object) -> GatewayConfig:
        values: dict[str, object] = {
            "agency_id": self.id,
            "officer_key_file": self.directory / "officer.pub",
            "audit_log": self.directory / "audit" / "gateway.log",
            "federation": self.federation_target,
            "node_target": self.node_target,
            "port": 0,
        }
        values.update(overrides)
        return GatewayConfig(**values)  # type: ignore[arg-type]

    def federation_config(self, **overrides: object) -> FederationConfig:
        values: dict[str, object] = {
            "agency_id": self.id,
            "agency_key_file": self.directory / "agency.key",
            "membership_file": self.root / "membership.json",
            "admin_key_file": self.root / "admin.pub",
            "audit_log": self.directory / "audit" / "federation.log",
            "listen": self.federation_target,
            "default_region": self.spec.region,
            "card_key": self.card_key,
            "grace_s": 1.0,
        }
        values.update(overrides)
        return FederationConfig(**values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class LocalFederation:
    root: Path
    agencies: tuple[LocalAgency, ...]

    def agency(self, agency_id: str) -> LocalAgency:
        for agency in self.agencies:
            if agency.id == agency_id:
                return agency
        raise KeyError(agency_id)


def build_local_federation(
    root: Path, specs: Sequence[AgencySpec], *, name: str = "local", revoked: Sequence[str] = ()
) -> LocalFederation:
    """Write keys, policies and a signed membership for ``specs`` under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    admin = generate_private_key()
    write_private_key(root / "admin.key", admin)
    write_public_key(root / "admin.pub", admin)
    card_key = secrets.token_bytes(32)
    (root / "card.key").write_text(card_key.hex() + "\n")
    (root / "card.key").chmod(0o600)
    document = ms.draft(name)
    agencies = []
    ports = iter(free_ports(2 * len(specs)))
    for spec in specs:
        directory = root / spec.id
        key = generate_private_key()
        write_private_key(directory / "agency.key", key)
        write_public_key(directory / "agency.pub", key)
        officers = generate_private_key()  # signs this agency's officer tokens
        write_private_key(directory / "officer.key", officers)
        write_public_key(directory / "officer.pub", officers)
        (directory / "policy.toml").write_text(spec.policy.replace("{name}", spec.name))
        (directory / "audit").mkdir(mode=0o700, exist_ok=True)
        agency = LocalAgency(spec, directory, next(ports), next(ports), card_key, root)
        document = ms.add_member(
            document,
            id=spec.id,
            name=spec.name,
            endpoint=agency.node_target,
            public_key=public_key_text(key),
            roles=spec.roles,
        )
        agencies.append(agency)
    for agency_id in revoked:
        document = ms.set_status(document, agency_id, "revoked")
    (root / "membership.json").write_bytes(ms.dump_document(ms.sign(document, admin)))
    return LocalFederation(root, tuple(agencies))


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports: every probe stays open until all are chosen,
    so none is handed out twice (gRPC's SO_REUSEPORT would let two servers share one)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()
