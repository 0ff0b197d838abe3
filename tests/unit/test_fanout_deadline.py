"""The fan-out keeps one deadline for all its calls: a call still waiting at the deadline is
given up and reported as a timeout, whatever its caller does, and the others keep their
answers."""

from __future__ import annotations

import asyncio
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cets.common.membership import Member, Role
from cets.common.signing import SignedRequest, sign_answer
from cets.federation.fanout import FanOut, Outcome, Status, Who
from cets.v1 import search_pb2

WHO = Who("officer-1", "investigation", "CASE-1")
KEYS = {name: Ed25519PrivateKey.generate() for name in ("quick", "hangs", "slow")}
MEMBERS = [
    Member(name, name.title(), "127.0.0.1:1", key.public_key(), frozenset({Role.MEMBER}), True)
    for name, key in KEYS.items()
]


class Partners:
    """A caller: "quick" answers at once, "hangs" never answers (it ignores its timeout),
    "slow" answers after a second."""

    def __init__(self) -> None:
        self.called: list[str] = []
        self.given_up: list[str] = []

    async def __call__(
        self, member: Member, request: SignedRequest, timeout_s: float
    ) -> search_pb2.SignedAnswer:
        self.called.append(member.id)
        try:
            if member.id == "hangs":
                await asyncio.Event().wait()
            elif member.id == "slow":
                await asyncio.sleep(1.0)
        except asyncio.CancelledError:
            self.given_up.append(member.id)
            raise
        response = search_pb2.SearchResponse(agency=member.id, request_nonce=request.context.nonce)
        return sign_answer(response, KEYS[member.id])


def send(
    partners: Partners, timeout_s: float, *, deadline: float | None = None
) -> tuple[list[Outcome[object]], float]:
    fanout = FanOut(agency_id="near", key=Ed25519PrivateKey.generate(), caller=partners)
    prepared = fanout.prepare(search_pb2.Query(text="x"), WHO, MEMBERS, timeout_s=timeout_s)
    began = time.monotonic()
    when = began + timeout_s if deadline is None else deadline
    outcomes = asyncio.run(fanout.send(prepared, deadline=when))
    return outcomes, time.monotonic() - began


def test_calls_still_waiting_at_the_deadline_are_given_up_as_timeouts() -> None:
    partners = Partners()
    outcomes, took = send(partners, timeout_s=0.3)
    assert [(o.agency, o.status, o.reason) for o in outcomes] == [
        ("quick", Status.OK, ""),
        ("hangs", Status.TIMEOUT, "deadline_exceeded"),
        ("slow", Status.TIMEOUT, "deadline_exceeded"),
    ]
    assert 0.25 < took < 0.9
    assert sorted(partners.given_up) == ["hangs", "slow"]  # their calls were cancelled
    late = outcomes[1]
    assert late.nonce and late.response is None and 250 <= late.latency_ms < 900


def test_with_no_time_left_nothing_is_sent() -> None:
    partners = Partners()
    outcomes, _ = send(partners, timeout_s=1.0, deadline=time.monotonic() - 0.01)
    assert {(o.status, o.reason) for o in outcomes} == {
        (Status.TIMEOUT, "no time left before the deadline")
    }
    assert partners.called == []


def test_a_cancelled_fan_out_cancels_every_call() -> None:
    partners = Partners()
    fanout = FanOut(agency_id="near", key=Ed25519PrivateKey.generate(), caller=partners)
    prepared = fanout.prepare(search_pb2.Query(text="x"), WHO, MEMBERS, timeout_s=30)

    async def run() -> None:
        sending = asyncio.ensure_future(fanout.send(prepared, deadline=time.monotonic() + 30))
        await asyncio.sleep(0.1)
        sending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sending
        await asyncio.sleep(0)  # the calls' tasks run their cancellation

    asyncio.run(run())
    assert sorted(partners.given_up) == ["hangs", "slow"]


def test_a_call_given_up_is_a_timeout_in_the_trace(exporter: InMemorySpanExporter) -> None:
    send(Partners(), timeout_s=0.3)
    calls = {
        s.attributes["cets.agency"]: s.attributes["cets.status"]
        for s in exporter.get_finished_spans()
        if s.name == "cets.partner.call" and s.attributes
    }
    assert calls == {"quick": "ok", "hangs": "timeout", "slow": "timeout"}
