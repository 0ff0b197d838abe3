"""A whole federation for gateway tests: three agencies with different sharing policies, each
with a real search node on the session's OpenSearch, and the first agency's federation
service — everything a gateway needs behind it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from cets.common.audit import AuditLog
from cets.common.background import BackgroundService
from cets.common.keys import generate_private_key
from cets.core.records import IngestContext
from cets.demo.local import AgencySpec, LocalFederation, build_local_federation
from cets.federation.server import FederationServer
from cets.gateway.api import Gateway, create_app
from cets.search.background import BackgroundNode
from cets.search.ingest import ingest_file
from cets.search.store import connect

OPEN = 'contact = "{name}"\n[defaults]\nmember = "full"\ncoordinator = "summary"\n'
SUMMARY = 'contact = "{name}"\n[defaults]\nmember = "summary"\ncoordinator = "hit"\n'
HIT_ONLY = 'contact = "{name}"\n[defaults]\nmember = "hit"\ncoordinator = "hit"\n'
EMAILS = {  # one suspect's mailbox, written differently at each agency
    "tps": "Dark.Angel77@gmail.com",
    "rcmp": "darkangel77+chat@googlemail.com",
    "nca": "DARKANGEL77@gmail.com",
}


def suspect_records(agency: str) -> list[dict[str, Any]]:
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


@dataclass(frozen=True)
class Stack:
    fed: LocalFederation
    issuer: Ed25519PrivateKey
    """Signs the officer tokens of "tps", whose gateway the tests run."""
    federation: str
    root: Path

    def gateway_app(self, *, rate_limit: str = "1000/minute", audit: str = "gateway") -> FastAPI:
        return create_app(
            Gateway(
                agency_id="tps",
                officer_key=self.issuer.public_key(),
                federation_target=self.federation,
                audit=AuditLog(self.root / f"{audit}.log"),
                cursor_key=b"k" * 32,
                rate_limit=rate_limit,
            )
        )


@contextmanager
def three_agencies(
    opensearch_url: str,
    root: Path,
    records: Callable[[str], list[dict[str, Any]]],
    *,
    index_prefix: str,
) -> Iterator[Stack]:
    """Ingest ``records(agency)`` for tps, rcmp and nca and run their nodes and tps's
    federation service until the block ends."""
    fed = build_local_federation(root / "federation", list(SPECS))
    client = connect(opensearch_url)
    try:
        for agency in fed.agencies:
            path = root / f"{agency.id}.ndjson"
            path.write_text("\n".join(json.dumps(r) for r in records(agency.id)) + "\n")
            config = agency.node_config(opensearch_url, index_prefix=index_prefix)
            summary = ingest_file(
                path,
                client=client,
                names=config.index,
                ctx=IngestContext(agency.id, agency.card_key, agency.spec.region),
            )
            assert summary.rejected == 0, agency.id
    finally:
        client.close()
    with ExitStack() as stack:
        for agency in fed.agencies:
            config = agency.node_config(opensearch_url, index_prefix=index_prefix)
            stack.enter_context(BackgroundNode(config))
        tps = fed.agency("tps")
        service = stack.enter_context(
            BackgroundService(lambda: FederationServer(tps.federation_config()))
        )
        yield Stack(fed, generate_private_key(), service.target, root)
