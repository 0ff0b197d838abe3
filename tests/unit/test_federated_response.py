"""The federation's answer to the officer's side embeds each agency's answer as the bytes its
node signed, and reads back as the message protobuf itself would have built."""

from __future__ import annotations

import pytest

from cets.federation.fanout import Outcome, Status
from cets.federation.service import STATUS_CODES, response_bytes
from cets.v1 import federation_pb2, records_pb2, search_pb2


def _response(agency: str, hits: int, **fields: object) -> search_pb2.SearchResponse:
    return search_pb2.SearchResponse(
        agency=agency,
        total_hits=hits * 3,
        request_nonce=b"n" * 16,
        disclosure=search_pb2.DISCLOSURE_LEVEL_FULL,
        hits=[
            search_pb2.Hit(
                agency=agency,
                record_id=f"{agency}-{i}",
                score=1.5 + i,
                title="tip é " * 40,  # long enough for multi-byte lengths
                record=records_pb2.Record(tip=records_pb2.Tip(text="shared link " * 30)),
            )
            for i in range(hits)
        ],
        **fields,  # type: ignore[arg-type]
    )


def _outcomes() -> list[Outcome[search_pb2.SearchResponse]]:
    ok, partial = _response("tps", 10), _response("rcmp", 2, partial=True, partial_reason="1 of 3")
    return [
        Outcome("tps", Status.OK, 7, "", ok, b"n" * 16, "", ok.SerializeToString()),
        Outcome("rcmp", Status.PARTIAL, 9, "1 of 3", partial, answer=partial.SerializeToString()),
        Outcome("opp", Status.TIMEOUT, 1500, "deadline_exceeded"),
        Outcome("spvm", Status.ERROR, 3, "answer not bound to this request"),
        Outcome("empty", Status.OK, 2, "", search_pb2.SearchResponse(agency="empty"), answer=b""),
    ]


def _built(outcomes: list[Outcome[search_pb2.SearchResponse]], took: int) -> bytes:
    """The same response built the usual way, field by field."""
    answers = []
    for o in outcomes:
        status = search_pb2.AgencyStatus(
            agency=o.agency, code=STATUS_CODES[o.status], reason=o.reason, latency_ms=o.latency_ms
        )
        if o.response is None:
            answers.append(federation_pb2.AgencyAnswer(status=status))
            continue
        status.total_hits, status.disclosure = o.response.total_hits, o.response.disclosure
        answers.append(federation_pb2.AgencyAnswer(status=status, response=o.response))
    return federation_pb2.FederatedSearchResponse(answers=answers, took_ms=took).SerializeToString()


@pytest.mark.parametrize("took", [0, 5, 300, 70_000])
def test_it_reads_back_as_the_message_built_field_by_field(took: int) -> None:
    outcomes = _outcomes()
    spliced = federation_pb2.FederatedSearchResponse.FromString(
        response_bytes(outcomes, took_ms=took)
    )
    assert spliced == federation_pb2.FederatedSearchResponse.FromString(_built(outcomes, took))
    assert [a.status.agency for a in spliced.answers] == ["tps", "rcmp", "opp", "spvm", "empty"]
    assert spliced.answers[0].response.hits[9].record_id == "tps-9"
    assert spliced.answers[1].response.partial and spliced.answers[1].status.total_hits == 6
    assert not spliced.answers[2].HasField("response")
    assert spliced.answers[4].HasField("response")  # answered, with nothing found


def test_each_answer_travels_as_the_bytes_its_node_signed() -> None:
    signed = _response("tps", 3).SerializeToString() + b"\xa0\x06\x01"  # a field added later
    response = search_pb2.SearchResponse.FromString(signed)
    outcome = Outcome("tps", Status.OK, 4, "", response, answer=signed)
    data = response_bytes([outcome], took_ms=4)
    assert signed in data
    (answer,) = federation_pb2.FederatedSearchResponse.FromString(data).answers
    assert answer.response.SerializeToString() == signed  # unknown fields kept as they came


def test_no_agency_asked_is_an_empty_answer() -> None:
    data = response_bytes([], took_ms=0)
    assert federation_pb2.FederatedSearchResponse.FromString(data) == (
        federation_pb2.FederatedSearchResponse()
    )
