"""A partner whose OpenSearch answered only in part is that agency's partial status: its hits
are kept, marked incomplete, at the federation, in the gateway's names and on the terminal."""

from __future__ import annotations

import asyncio
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cets.common.membership import Member, Role
from cets.common.signing import SignedRequest, sign_answer
from cets.federation.display import format_federated
from cets.federation.fanout import FanOut, Status, Who
from cets.federation.service import response_bytes
from cets.gateway.present import ANSWERED, STATUS_NAMES
from cets.v1 import federation_pb2, search_pb2

WHO = Who("officer-1", "investigation", "CASE-1")


def _ask(partial: bool) -> tuple[Status, str, search_pb2.SearchResponse | None]:
    partner_key = Ed25519PrivateKey.generate()
    partner = Member(
        "far", "Far Agency", "127.0.0.1:1", partner_key.public_key(), frozenset({Role.MEMBER}), True
    )

    async def caller(
        member: Member, request: SignedRequest, timeout_s: float
    ) -> search_pb2.SignedAnswer:
        response = search_pb2.SearchResponse(
            agency="far",
            total_hits=4,
            request_nonce=request.context.nonce,
            partial=partial,
            partial_reason="1 of 3 shards failed" if partial else "",
        )
        return sign_answer(response, partner_key)

    fanout = FanOut(agency_id="near", key=Ed25519PrivateKey.generate(), caller=caller)
    prepared = fanout.prepare(search_pb2.Query(text="x"), WHO, [partner], timeout_s=5)
    (outcome,) = asyncio.run(fanout.send(prepared, deadline=time.monotonic() + 5))
    return outcome.status, outcome.reason, outcome.response


def test_a_complete_answer_is_ok() -> None:
    status, reason, response = _ask(partial=False)
    assert (status, reason) == (Status.OK, "")
    assert response is not None


def test_a_partial_answer_is_partial_with_its_hits_and_reason() -> None:
    status, reason, response = _ask(partial=True)
    assert (status, reason) == (Status.PARTIAL, "1 of 3 shards failed")
    assert response is not None and response.total_hits == 4


def test_partial_is_shown_as_partial_everywhere() -> None:
    from cets.federation.fanout import Outcome

    outcome = Outcome(
        "far",
        Status.PARTIAL,
        12,
        "1 of 3 shards failed",
        search_pb2.SearchResponse(agency="far", total_hits=4, partial=True),
    )
    federated = federation_pb2.FederatedSearchResponse.FromString(
        response_bytes([outcome], took_ms=12)
    )
    (answer,) = federated.answers
    assert answer.status.code == search_pb2.AgencyStatus.CODE_PARTIAL
    assert answer.status.code in ANSWERED
    assert STATUS_NAMES[answer.status.code] == "partial"
    text = format_federated(federated)
    assert "partial" in text and "4 matches (incomplete: 1 of 3 shards failed)" in text
