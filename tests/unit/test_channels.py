"""Long-lived client channels reconnect within seconds of their server coming back.

gRPC's default reconnect backoff grows to two minutes: after a partner's node had been down a
while, its federation service went on reporting it unavailable for most of a minute after it
was back (30 s down: 7.4 s of "unavailable" after the node served again, found while writing
tests/integration/test_faults.py). The channels cets keeps open cap the backoff.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from cets.common.channels import MAX_RECONNECT_BACKOFF_MS, RECONNECT_OPTIONS
from cets.common.keys import generate_private_key
from cets.common.membership import Member, Role
from cets.federation.peers import GrpcCaller
from cets.gateway.federation_client import FederationClient


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The options of every insecure channel opened."""
    seen: list[dict[str, Any]] = []
    real = grpc.aio.insecure_channel

    def spy(target: str, options: Any = None, **kwargs: Any) -> grpc.aio.Channel:
        seen.append(dict(options or []))
        return real(target, options=options, **kwargs)

    monkeypatch.setattr(grpc.aio, "insecure_channel", spy)
    return seen


def test_the_backoff_is_capped_at_a_few_seconds() -> None:
    assert dict(RECONNECT_OPTIONS)["grpc.max_reconnect_backoff_ms"] == MAX_RECONNECT_BACKOFF_MS
    assert MAX_RECONNECT_BACKOFF_MS <= 5000


def test_channels_to_partner_nodes_reconnect_quickly(opened: list[dict[str, Any]]) -> None:
    member = Member(
        id="near",
        name="Near Agency",
        endpoint="127.0.0.1:9",
        public_key=generate_private_key().public_key(),
        roles=frozenset({Role.MEMBER}),
        active=True,
    )

    async def open_channel() -> None:
        caller = GrpcCaller(tls=None)
        await caller._channel(member)
        await caller.close()

    asyncio.run(open_channel())
    assert [o.items() >= dict(RECONNECT_OPTIONS).items() for o in opened] == [True]


def test_the_gateways_channel_reconnects_quickly(opened: list[dict[str, Any]]) -> None:
    async def open_channel() -> None:
        await FederationClient("127.0.0.1:9").close()

    asyncio.run(open_channel())
    assert [o.items() >= dict(RECONNECT_OPTIONS).items() for o in opened] == [True]
