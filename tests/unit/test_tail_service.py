"""The tail rule in the federation service, asked through the gateway: a search of many
agencies no longer waits for one that is far slower than the rest, and says so for that
agency (in the answer and in the federation's audit log); an officer who asks to wait for
all agencies gets every answer that comes before the deadline."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cets.common.audit import read_entries
from cets.common.background import BackgroundService
from cets.common.keys import generate_private_key, load_private_key
from cets.common.membership import Member
from cets.common.signing import SignedRequest, sign_answer
from cets.demo.local import AgencySpec, LocalFederation, build_local_federation
from cets.federation.server import FederationServer
from cets.gateway.tokens import issue_token
from cets.v1 import search_pb2
from helpers import ServedApp
from stacks import gateway_app

AGENCIES = [f"ag{i:02d}" for i in range(24)]
SLOW = "ag07"
SLOW_S = 1.5
QUICK_S = 0.02


class Partners:
    """A caller that answers for every agency itself, signed with that agency's key:
    ``SLOW`` after ``SLOW_S``, every other agency after ``QUICK_S``."""

    def __init__(self, fed: LocalFederation) -> None:
        self.keys = {a: load_private_key(fed.agency(a).directory / "agency.key") for a in AGENCIES}

    async def __call__(
        self, member: Member, request: SignedRequest, timeout_s: float
    ) -> search_pb2.SignedAnswer:
        await asyncio.sleep(SLOW_S if member.id == SLOW else QUICK_S)
        response = search_pb2.SearchResponse(agency=member.id, request_nonce=request.context.nonce)
        return sign_answer(response, self.keys[member.id])


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("tail")
    fed = build_local_federation(root / "fed", [AgencySpec(a, a.upper(), "CA") for a in AGENCIES])
    config = fed.agency("ag00").federation_config(default_timeout_s=10.0)
    issuer = generate_private_key()
    token = issue_token(issuer, officer="officer-7", agency="ag00")
    replies = {}
    with BackgroundService(lambda: FederationServer(config, caller=Partners(fed))) as federation:
        app = gateway_app("ag00", issuer, federation.target, root / "gateway.log")
        with ServedApp(app) as client:
            for wait in (False, True):
                reply = client.post(
                    "/v1/search",
                    json={
                        "query": {"text": "hosting link"},
                        "purpose": "investigation of online luring",
                        "case_reference": "CASE-1",
                        "wait_for_all": wait,
                    },
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert reply.status_code == 200, reply.text
                replies[wait] = {a["agency"]: a for a in reply.json()["agencies"]}
    return {"replies": replies, "audit": [e.event for e in read_entries(config.audit_log)]}


def test_the_slow_agency_is_given_up_once_the_others_have_answered(
    searched: dict[str, Any],
) -> None:
    agencies = searched["replies"][False]
    assert set(agencies) == set(AGENCIES)
    slow = agencies[SLOW]
    assert slow["status"] == "timeout"
    assert slow["reason"].startswith("given up: no answer ")
    assert "after 23 of 24 agencies had replied" in slow["reason"]
    assert slow["latency_ms"] < SLOW_S * 1000 / 2  # not waited for until it answered
    assert all(a["status"] == "ok" for name, a in agencies.items() if name != SLOW)


def test_asked_to_wait_for_all_the_search_waits_for_the_slow_agency(
    searched: dict[str, Any],
) -> None:
    agencies = searched["replies"][True]
    assert all(a["status"] == "ok" for a in agencies.values())
    assert agencies[SLOW]["latency_ms"] >= SLOW_S * 1000 * 0.9


def test_the_audit_log_says_why_the_slow_agency_has_no_answer(searched: dict[str, Any]) -> None:
    answered = [e for e in searched["audit"] if e["kind"] == "federation.answered"]
    assert len(answered) == 2
    first = {a["agency"]: a for a in answered[0]["answers"]}
    assert first[SLOW]["status"] == "timeout"
    assert first[SLOW]["reason"].startswith("given up: no answer ")
    second = {a["agency"]: a for a in answered[1]["answers"]}
    assert second[SLOW]["status"] == "ok"
