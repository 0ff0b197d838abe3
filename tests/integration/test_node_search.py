"""The search node over gRPC, on a real OpenSearch: BM25, selectors, names, filters, errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from cets.core.convert import record_from_proto, selector_from_proto
from cets.core.display import build_query
from cets.demo.local import LocalFederation
from cets.search.background import BackgroundNode
from cets.v1 import records_pb2, search_pb2, search_pb2_grpc
from helpers import SilentServer, closed_port_url, ingest, opened, signed

pytestmark = pytest.mark.opensearch

RECORDS = [
    {
        "id": "p-smith",
        "type": "person",
        "name": "John Smith",
        "aliases": ["Johnny S"],
        "emails": ["John.Smith+forum@gmail.com"],
        "phones": ["416-555-0142"],
        "created": "2024-02-01T10:00:00Z",
    },
    {"id": "p-smyth", "type": "person", "name": "Jöhn Smyth", "created": "2025-06-01T10:00:00Z"},
    {"id": "p-other", "type": "person", "name": "Mary Jones", "created": "2025-06-01T10:00:00Z"},
    {
        "id": "chat-1",
        "type": "chat_message",
        "sender": "@DarkAngel_77",
        "recipients": ["kid_2011"],
        "text": "let's move to a private app, I'll send a file hosting link",
        "created": "2025-03-01T20:00:00Z",
    },
    {
        "id": "chat-2",
        "type": "chat_message",
        "sender": "someone_else",
        "text": "the weather is nice today",
        "created": "2025-03-02T20:00:00Z",
    },
    {
        "id": "tip-1",
        "type": "tip",
        "reporter": "ESP",
        "text": "Account darkangel_77 uploaded files flagged by hash match from 203.0.113.7",
        "usernames": ["DARKANGEL_77"],
        "created": "2025-04-01T00:00:00Z",
        "handling": "red",
    },
    {
        "id": "txn-1",
        "type": "card_transaction",
        "card_number": "4111-1111-1111-1111",
        "merchant": "FileLocker Pro",
        "amount": "19.99",
        "currency": "USD",
        "created": "2025-04-02T00:00:00Z",
    },
]


@pytest.fixture(scope="module")
def node(
    tmp_path_factory: pytest.TempPathFactory, opensearch_url: str, federation: LocalFederation
) -> Iterator[BackgroundNode]:
    agency = federation.agency("node-search")
    config = agency.node_config(opensearch_url)
    ingest(opensearch_url, agency, config, RECORDS)
    with BackgroundNode(config) as running:
        yield running


class Client:
    """Searches the node as the member agency "asker", with signed requests."""

    def __init__(self, channel: grpc.Channel, federation: LocalFederation, audience: str) -> None:
        self.stub = search_pb2_grpc.SearchNodeStub(channel)
        self.federation = federation
        self.audience = audience

    def search(self, query: search_pb2.Query, timeout: float = 10.0) -> search_pb2.SearchResponse:
        request = signed(self.federation, "asker", self.audience, query)
        return opened(self.federation, self.audience, self.stub.Search(request, timeout=timeout))


@pytest.fixture(scope="module")
def stub(node: BackgroundNode, federation: LocalFederation) -> Iterator[Client]:
    with grpc.insecure_channel(node.target) as channel:
        yield Client(channel, federation, "node-search")


def search(
    client: Client, query: search_pb2.Query, timeout: float = 10.0
) -> search_pb2.SearchResponse:
    return client.search(query, timeout)


def ids(response: search_pb2.SearchResponse) -> list[str]:
    return [hit.record_id for hit in response.hits]


def test_free_text_is_ranked_by_bm25_with_highlights(stub: Client) -> None:
    response = search(stub, build_query(text="file hosting"))
    assert ids(response)[0] == "chat-1"
    assert "chat-2" not in ids(response)
    fragments = [f for h in response.hits[0].highlights for f in h.fragments]
    assert any("<mark>hosting</mark>" in f for f in fragments)
    assert response.agency == "node-search"
    assert response.disclosure == search_pb2.DISCLOSURE_LEVEL_FULL


def test_selector_lookup_matches_other_surface_forms(stub: Client) -> None:
    response = search(stub, build_query(selectors=["email:JOHNSMITH@googlemail.com"]))
    assert ids(response) == ["p-smith"]
    matched = [selector_from_proto(s).key for s in response.hits[0].matched_selectors]
    assert matched == ["email:johnsmith@gmail.com"]


def test_username_selector_links_chat_and_tip(stub: Client) -> None:
    response = search(stub, build_query(selectors=["username:@darkangel_77"]))
    assert sorted(ids(response)) == ["chat-1", "tip-1"]


def test_card_lookup_by_number_never_returns_the_number(
    stub: Client,
) -> None:
    response = search(stub, build_query(selectors=["card:4111 1111 1111 1111"]))
    assert ids(response) == ["txn-1"]
    released = response.SerializeToString()
    assert b"4111111111111111" not in released and b"4111-1111" not in released
    body = record_from_proto(response.hits[0].record)["body"]
    assert body["card_last4"] == "1111"


def test_phone_selector_in_another_format(stub: Client) -> None:
    response = search(stub, build_query(selectors=["phone:+1 (416) 555 0142"]))
    assert ids(response) == ["p-smith"]


def test_name_match_is_folded_fuzzy_and_phonetic(stub: Client) -> None:
    response = search(stub, build_query(name="Jon Smyth"))
    assert set(ids(response)) == {"p-smith", "p-smyth"}
    assert "p-other" not in ids(response)


def test_type_and_date_filters(stub: Client) -> None:
    query = build_query(name="John Smith", types=["person"])
    query.created_from.FromDatetime(datetime(2025, 1, 1, tzinfo=UTC))
    assert ids(search(stub, query)) == ["p-smyth"]
    only_tips = build_query(selectors=["username:darkangel_77"], types=["tip"])
    assert ids(search(stub, only_tips)) == ["tip-1"]


def test_full_records_are_returned(stub: Client) -> None:
    response = search(stub, build_query(selectors=["email:john.smith@gmail.com"]))
    record = response.hits[0].record
    assert record.WhichOneof("body") == "person"
    assert record.person.name == "John Smith"
    assert record.envelope.type == records_pb2.RECORD_TYPE_PERSON
    assert record.envelope.agency == "node-search"


def test_limit_is_top_k(stub: Client) -> None:
    response = search(stub, build_query(text="john | files | hosting", limit=2))
    assert len(response.hits) == 2
    assert response.total_hits >= 2


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        (search_pb2.Query(), "give at least one of"),
        (search_pb2.Query(text="x" * 5000), "text is longer than"),
        (search_pb2.Query(text="x", limit=1000), "limit must be between"),
        (
            search_pb2.Query(
                selectors=[records_pb2.Selector(kind=records_pb2.SELECTOR_KIND_EMAIL, value="no")]
            ),
            "selectors[0] (email): not a valid e-mail address",
        ),
        (
            search_pb2.Query(selectors=[records_pb2.Selector(value="x")]),
            "selector kind is unspecified",
        ),
        (
            search_pb2.Query(text="x", types=[records_pb2.RECORD_TYPE_UNSPECIFIED]),
            "record type is unspecified",
        ),
        (search_pb2.Query(text="x", types=[99]), "unknown record type 99"),
    ],
)
def test_bad_queries_are_invalid_argument_with_a_reason(
    stub: Client, query: search_pb2.Query, reason: str
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        search(stub, query)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason in info.value.details()


def test_reversed_date_range_is_invalid(stub: Client) -> None:
    query = build_query(text="x")
    query.created_from.FromDatetime(datetime(2025, 1, 2, tzinfo=UTC))
    query.created_to.FromDatetime(datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(grpc.RpcError) as info:
        search(stub, query)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "created_from is after created_to" in info.value.details()


def test_health_and_reflection(node: BackgroundNode) -> None:
    with grpc.insecure_channel(node.target) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="cets.v1.SearchNode"), timeout=5
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        answers = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
        )
        names = {s.name for a in answers for s in a.list_services_response.service}
    assert "cets.v1.SearchNode" in names


def test_a_hanging_opensearch_gives_deadline_exceeded_within_the_deadline(
    opensearch_url: str, federation: LocalFederation
) -> None:
    # The node prepares its index on the real cluster, then searches one that never answers.
    config = federation.agency("hanging").node_config(opensearch_url)
    with (
        SilentServer() as silent,
        BackgroundNode(config, store_url=silent.url) as running,
        grpc.insecure_channel(running.target) as channel,
    ):
        stub = Client(channel, federation, "hanging")
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as info:
            search(stub, build_query(text="anything"), timeout=0.5)
        elapsed = time.monotonic() - started
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert elapsed < 3.0  # bounded by the caller's deadline, not by OpenSearch


def test_a_node_whose_opensearch_is_gone_starts_and_answers_unavailable(
    federation: LocalFederation,
) -> None:
    config = federation.agency("unreach").node_config(closed_port_url())
    with BackgroundNode(config) as running, grpc.insecure_channel(running.target) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="cets.v1.SearchNode"), timeout=5
        )
        stub = Client(channel, federation, "unreach")
        with pytest.raises(grpc.RpcError) as info:
            search(stub, build_query(text="anything"), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "OpenSearch is unreachable" in info.value.details()
