"""Transport rules: nothing leaves this machine in plaintext, and only allowed clients search."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from cets.common.keys import generate_private_key
from cets.common.membership import Member, Role
from cets.core.errors import ConfigError
from cets.demo.local import AgencySpec, build_local_federation
from cets.federation.fanout import CallRefused
from cets.federation.peers import GrpcCaller
from cets.federation.server import FederationServer
from cets.federation.service import client_allowed
from cets.search.server import NodeServer
from cets.v1 import search_pb2


def test_no_plaintext_call_to_a_peer_off_this_machine() -> None:
    member = Member(
        id="far",
        name="Far Agency",
        endpoint="10.1.2.3:50051",
        public_key=generate_private_key().public_key(),
        roles=frozenset({Role.MEMBER}),
        active=True,
    )

    async def call() -> None:
        caller = GrpcCaller(tls=None)
        try:
            await caller(member, search_pb2.SearchRequest(), 1.0)
        finally:
            await caller.close()

    with pytest.raises(CallRefused, match="set CETS_PEER_TLS_CA"):
        asyncio.run(call())


def test_services_refuse_to_listen_off_loopback_without_tls(tmp_path: Path) -> None:
    fed = build_local_federation(tmp_path, [AgencySpec("a", "A", "CA")])
    agency = fed.agency("a")
    node = dataclasses.replace(agency.node_config("http://127.0.0.1:1"), listen="0.0.0.0:0")
    federation = agency.federation_config(listen="0.0.0.0:0")

    async def start_node() -> None:
        await NodeServer(node).start()

    async def start_federation() -> None:
        await FederationServer(federation).start()

    with pytest.raises(ConfigError, match="without TLS: set CETS_NODE_TLS_CERT"):
        asyncio.run(start_node())
    with pytest.raises(ConfigError, match="without mutual TLS"):
        asyncio.run(start_federation())


def test_only_allowed_client_certificates_may_search() -> None:
    allowed = frozenset({"tps-gateway"})
    assert client_allowed({"x509_common_name": [b"tps-gateway"]}, allowed)
    assert not client_allowed({"x509_common_name": [b"rcmp-gateway"]}, allowed)
    assert not client_allowed({}, allowed)  # no certificate at all
