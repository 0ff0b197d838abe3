"""Running federations for the integration tests, built one way.

:func:`local_stack` gives a :class:`Stack`: a local federation (keys, signed membership,
policies) whose agencies keep their records in indices of their own on the session's
OpenSearch. On it a test ingests records, starts a node per agency (a plain
:class:`BackgroundNode`, or another kind such as ``helpers.CountedNode``, with any setting of
the node replaced: a rate limit, TLS), federation services (any setting replaced: peer TLS, the
listening address, the audit log), misbehaving peers or processes of its own, and a gateway app
with officer tokens. Everything a stack started stops, in reverse order, when its block ends.

:func:`three_agencies` is the usual one: tps, rcmp and nca with three different sharing
policies, their records, their nodes and tps's federation service; :func:`three_agencies_fixture`
makes that a module-scoped fixture, so that its servers start once per test module.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from cets.common.audit import AuditLog
from cets.common.background import BackgroundService
from cets.common.keys import generate_private_key, load_private_key
from cets.core.records import IngestContext
from cets.demo.local import AgencySpec, LocalFederation, build_local_federation
from cets.federation.server import FederationServer
from cets.gateway.api import Gateway, create_app
from cets.gateway.cases.store import CaseStore, migrate
from cets.gateway.cases.store import connect as connect_cases
from cets.gateway.tokens import issue_token
from cets.search.background import BackgroundNode
from cets.search.config import NodeConfig
from cets.search.ingest import IngestSummary, ingest_file
from cets.search.store import connect
from cets.search.watches import WatchIndexNames, WatchMatcher, watch_key
from helpers import ServedApp, ingest

OPEN = 'contact = "{name}"\n[defaults]\nmember = "full"\ncoordinator = "summary"\n'
SUMMARY = 'contact = "{name}"\n[defaults]\nmember = "summary"\ncoordinator = "hit"\n'
HIT_ONLY = 'contact = "{name}"\n[defaults]\nmember = "hit"\ncoordinator = "hit"\n'
EMAILS = {  # one suspect's mailbox, written differently at each agency
    "tps": "Dark.Angel77@gmail.com",
    "rcmp": "darkangel77+chat@googlemail.com",
    "nca": "DARKANGEL77@gmail.com",
}
Records = list[dict[str, Any]]


def suspect_records(agency: str) -> Records:
    """The planted suspect at ``agency``: a person and a tip under that agency's e-mail form."""
    return [
        {
            "id": f"{agency}-person",
            "type": "person",
            "name": "Dale Angelo",
            "emails": [EMAILS[agency]],
            "created": "2025-01-01",
        },
        {
            "id": f"{agency}-tip",
            "type": "tip",
            "text": f"User {EMAILS[agency]} shared a hosting link",
            "emails": [EMAILS[agency]],
            "created": "2025-02-01",
        },
    ]


SPECS = (
    AgencySpec("tps", "Toronto Police Service", "CA", policy=OPEN),
    AgencySpec("rcmp", "Royal Canadian Mounted Police", "CA", policy=SUMMARY),
    AgencySpec("nca", "National Crime Agency", "GB", policy=HIT_ONLY),
)


def gateway_app(
    agency_id: str,
    issuer: Ed25519PrivateKey,
    federation_target: str,
    audit_log: Path,
    **options: Any,
) -> FastAPI:
    """``agency_id``'s gateway in front of ``federation_target``, trusting tokens ``issuer``
    signs; ``options``: the rest of :class:`Gateway` (its own defaults otherwise)."""
    return create_app(
        Gateway(
            agency_id=agency_id,
            officer_key=issuer.public_key(),
            federation_target=federation_target,
            audit=AuditLog(audit_log),
            cursor_key=b"k" * 32,
            **options,
        )
    )


T = TypeVar("T")


@dataclass
class Stack:
    """A local federation on the session's OpenSearch and the servers started on it so far."""

    fed: LocalFederation
    opensearch_url: str
    index_prefix: str
    root: Path
    """Where the stack's own files go (the federation's under ``root / "federation"``)."""
    exits: ExitStack = field(repr=False)
    issuer: Ed25519PrivateKey = field(default_factory=generate_private_key, repr=False)
    """Signs the officer tokens the stack's gateways accept."""
    federations: dict[str, str] = field(default_factory=dict)
    """The target of the federation service last started for each agency."""

    def enter_context(self, manager: AbstractContextManager[T]) -> T:
        """Enter ``manager`` now; it is left when the stack's block ends (last in, first out)."""
        return self.exits.enter_context(manager)

    def node_config(self, agency: str, **overrides: Any) -> NodeConfig:
        config = self.fed.agency(agency).node_config(
            self.opensearch_url, index_prefix=self.index_prefix
        )
        return replace(config, **overrides) if overrides else config

    def ingest(self, records: Mapping[str, Records]) -> None:
        """Put each agency's records in its index; every one must be taken."""
        for agency, rows in records.items():
            ingest(self.opensearch_url, self.fed.agency(agency), self.node_config(agency), rows)

    def ingest_watched(self, agency: str, rows: Records, name: str = "later") -> IngestSummary:
        """Ingest ``rows`` at ``agency`` as ``cets ingest`` does: every record matched against
        partners' watches held there (alerts raised); the summary says whom they concern."""
        holder = self.fed.agency(agency)
        config = self.node_config(agency)
        path = self.root / f"{agency}-{name}.ndjson"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        client = connect(self.opensearch_url)
        try:
            key = watch_key(load_private_key(holder.directory / "agency.key"))
            return ingest_file(
                path,
                client=client,
                names=config.index,
                ctx=IngestContext(holder.id, holder.card_key, holder.spec.region),
                watches=WatchMatcher(client, WatchIndexNames(config.index), key),
            )
        finally:
            client.close()

    def start_node(
        self,
        agency: str,
        *,
        factory: Callable[[NodeConfig], AbstractContextManager[Any]] = BackgroundNode,
        **overrides: Any,
    ) -> Any:
        """Start ``agency``'s node, a ``factory(config)`` (a :class:`BackgroundNode` unless
        told otherwise); ``overrides`` replace settings of its config."""
        return self.enter_context(factory(self.node_config(agency, **overrides)))

    def start_nodes(self, agencies: Iterable[str] | None = None) -> None:
        """A plain node for each of ``agencies`` (every agency by default)."""
        for agency in [a.id for a in self.fed.agencies] if agencies is None else agencies:
            self.start_node(agency)

    def start_federation(self, agency: str, **overrides: Any) -> BackgroundService:
        """Start ``agency``'s federation service (``overrides`` as for ``federation_config``)."""
        config = self.fed.agency(agency).federation_config(**overrides)
        service = self.enter_context(BackgroundService(lambda: FederationServer(config)))
        self.federations[agency] = service.target
        return service

    def gateway_app(
        self,
        *,
        agency: str = "tps",
        rate_limit: str = "1000/minute",
        audit: str = "gateway",
        **options: Any,
    ) -> FastAPI:
        """``agency``'s gateway in front of its federation service; audit log ``root/audit``;
        ``options``: the rest of :class:`Gateway` (``metrics_token``, a case store, the alert poll
        interval, ...)."""
        return gateway_app(
            agency,
            self.issuer,
            self.federations[agency],
            self.root / f"{audit}.log",
            rate_limit=rate_limit,
            **options,
        )

    def case_store(self, name: str = "cases") -> CaseStore:
        """A case store on a SQLite file ``root/name.db``, migrated to the newest schema."""
        store = CaseStore(connect_cases(f"sqlite:///{self.root / name}.db"))
        migrate(store.engine)
        return store

    def serve_gateway(self, **options: Any) -> ServedApp:
        """:meth:`gateway_app` served on a loopback port; entering it gives an HTTP client."""
        return ServedApp(self.gateway_app(**options))

    def token(self, *, officer: str, agency: str = "tps", **options: Any) -> str:
        """An officer token the stack's gateways accept."""
        return issue_token(self.issuer, officer=officer, agency=agency, **options)


@contextmanager
def local_stack(
    opensearch_url: str,
    root: Path,
    agencies: Sequence[AgencySpec] | LocalFederation,
    *,
    index_prefix: str,
    revoked: Sequence[str] = (),
    drop_indices: bool = False,
) -> Iterator[Stack]:
    """A :class:`Stack` for ``agencies`` (specs, or a federation already built), nothing
    running yet. ``drop_indices``: delete the indices named ``index_prefix-...`` afterwards."""
    if isinstance(agencies, LocalFederation):
        fed = agencies
    else:
        fed = build_local_federation(root / "federation", agencies, revoked=revoked)
    with ExitStack() as exits:
        if drop_indices:
            exits.callback(_drop_indices, opensearch_url, index_prefix)
        yield Stack(fed, opensearch_url, index_prefix, root, exits)


def _drop_indices(opensearch_url: str, prefix: str) -> None:
    client = connect(opensearch_url)
    client.indices.delete(index=f"{prefix}-*", ignore_unavailable=True)
    client.close()


@contextmanager
def three_agencies(
    opensearch_url: str,
    root: Path,
    records: Callable[[str], Records],
    *,
    index_prefix: str,
) -> Iterator[Stack]:
    """Ingest ``records(agency)`` for tps, rcmp and nca and run their nodes and tps's
    federation service until the block ends."""
    with local_stack(opensearch_url, root, SPECS, index_prefix=index_prefix) as stack:
        stack.ingest({agency.id: records(agency.id) for agency in stack.fed.agencies})
        stack.start_nodes()
        stack.start_federation("tps")
        yield stack


def three_agencies_fixture(
    records: Callable[[str], Records], *, index_prefix: str, name: str = "stack"
) -> Any:
    """:func:`three_agencies` as a module-scoped fixture called ``name``; assign it to a name
    in the test module (``running = three_agencies_fixture(...)``)."""

    @pytest.fixture(scope="module", name=name)
    def running(opensearch_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
        root = tmp_path_factory.mktemp(index_prefix)
        with three_agencies(opensearch_url, root, records, index_prefix=index_prefix) as stack:
            yield stack

    return running
