"""Every limit on what reaches a node, enforced on real nodes over a real OpenSearch, each with a
status and a message that names the limit.

    query size         INVALID_ARGUMENT  (cets.core.convert.check_size, before the signature)
    result window      INVALID_ARGUMENT  (Query.limit 1-100; 0 means the node's default, 20)
    gateway page size  422               (page_size 1-50)
    per agency rate    RESOURCE_EXHAUSTED (CETS_NODE_RATE_LIMIT, counted after the signature)
    per officer rate   429               (tests/integration/test_gateway.py::
                                          test_searches_are_rate_limited_per_officer)
    request bytes      RESOURCE_EXHAUSTED (CETS_NODE_MAX_REQUEST_BYTES, grpc's own message)
    answer bytes       an error for that agency only (the federation's receive limit), or
                       RESOURCE_EXHAUSTED from the node (CETS_NODE_MAX_MESSAGE_BYTES)
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from cets.common.audit import read_entries
from cets.common.keys import generate_private_key, load_private_key, load_public_key
from cets.common.membership import Membership, load_membership
from cets.common.signing import open_answer, sign_request
from cets.core.display import build_query
from cets.core.query import DEFAULT_LIMIT, MAX_LIMIT
from cets.demo.local import AgencySpec, LocalFederation
from cets.federation.fanout import FanOut, Outcome, Status, Who
from cets.federation.peers import MAX_MESSAGE_BYTES, GrpcCaller
from cets.gateway.tokens import issue_token
from cets.v1 import records_pb2, search_pb2
from helpers import CountedNode, ServedApp, closed_port_url, signed, varint
from stacks import Stack, gateway_app, local_stack

pytestmark = pytest.mark.opensearch

SPECS = [
    AgencySpec("asker", "Asking Agency", "CA"),
    AgencySpec("other", "Another Member", "CA"),
    AgencySpec("plain", "A node with the default limits", "CA"),
    AgencySpec("rated", "A node allowing 3 searches a minute per agency", "CA"),
    AgencySpec("bulky", "A node whose records are large", "CA"),
]
WHO = Who("officer-7", "investigation of online luring", "CASE-2026-001")
BIG_TEXT = 95_000  # characters of each large record (at most 100 000)
BIG_RECORDS = 6
RECEIVE_LIMIT = 384 * 1024  # the federation's receive limit in these tests: 4 records and more
SEND_LIMIT = 128 * 1024  # a node's send limit in these tests: 1 record, not 2


def note(number: int, text: str) -> dict[str, object]:
    return {"id": f"r-{number}", "type": "case_note", "text": text, "created": "2025-01-01"}


def released(response: search_pb2.SearchResponse) -> tuple[int, int]:
    """Records released and matches counted (the one place these tests read an answer)."""
    return len(response.hits), response.total_hits


@dataclass
class Limits:
    fed: LocalFederation
    membership: Membership
    plain: CountedNode
    rated: CountedNode
    stack: Stack

    def search(
        self, node: CountedNode, query: search_pb2.Query, *, requester: str = "asker"
    ) -> tuple[grpc.StatusCode, str, search_pb2.SearchResponse | None]:
        request = signed(self.fed, requester, node.config.agency_id, query)
        return call(node, request.SerializeToString())

    def fan_out(
        self, agencies: list[str], query: search_pb2.Query, **caller_options: int
    ) -> dict[str, Outcome]:
        """Ask ``agencies`` through the federation's own fan-out and gRPC caller, as "asker"."""

        async def run() -> list[Outcome]:
            caller = GrpcCaller(**caller_options)
            fanout = FanOut(
                agency_id="asker",
                key=load_private_key(self.fed.agency("asker").directory / "agency.key"),
                caller=caller,
            )
            members = [self.membership.get(a) for a in agencies]
            prepared = fanout.prepare(query, WHO, [m for m in members if m], timeout_s=20)
            try:
                return await fanout.send(prepared, deadline=time.monotonic() + 20)
            finally:
                await caller.close()

        return {o.agency: o for o in asyncio.run(run())}


def call(
    node: CountedNode, data: bytes
) -> tuple[grpc.StatusCode, str, search_pb2.SearchResponse | None]:
    with grpc.insecure_channel(node.target) as channel:
        method = channel.unary_unary("/cets.v1.SearchNode/Search")
        try:
            answer: bytes = method(data, timeout=20)
        except grpc.RpcError as exc:
            return exc.code(), exc.details() or "", None
    key = load_private_key(node.config.agency_key_file).public_key()  # type: ignore[arg-type]
    return grpc.StatusCode.OK, "", open_answer(search_pb2.SignedAnswer.FromString(answer), key)


@pytest.fixture(scope="module")
def limits(tmp_path_factory: pytest.TempPathFactory, opensearch_url: str) -> Iterator[Limits]:
    root = tmp_path_factory.mktemp("limits")
    with local_stack(opensearch_url, root, SPECS, index_prefix="limits") as stack:
        fed = stack.fed
        membership = load_membership(
            fed.root / "membership.json", load_public_key(fed.root / "admin.pub")
        )
        counts = {"plain": MAX_LIMIT + 5, "rated": 5}
        stack.ingest(
            {a: [note(i, f"hosting link number {i}") for i in range(n)] for a, n in counts.items()}
        )
        plain = stack.start_node("plain", factory=CountedNode)
        rated = stack.start_node("rated", factory=CountedNode, rate_limit="3/minute")
        yield Limits(fed, membership, plain, rated, stack)


# --- query size and result window ------------------------------------------------------------


def _selectors(count: int, length: int = 12) -> list[records_pb2.Selector]:
    kind = records_pb2.SELECTOR_KIND_USERNAME
    return [
        records_pb2.Selector(kind=kind, value=f"u{i:03d}".ljust(length, "x")) for i in range(count)
    ]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        (search_pb2.Query(selectors=_selectors(65)), "more than 64 selectors"),
        (search_pb2.Query(text="x", types=[1] * 11), "more than 10 record types"),
        (search_pb2.Query(text="x", handling=[1] * 6), "more than 5 handling codes"),
        (search_pb2.Query(record_ids=["r"] * 51), "more than 50 record ids"),
        (search_pb2.Query(text="x" * 1001), "text is longer than 1000 characters"),
        (search_pb2.Query(name="x" * 201), "name is longer than 200 characters"),
        (search_pb2.Query(record_ids=["r" * 129]), "a record id is longer than 128 characters"),
        (search_pb2.Query(selectors=_selectors(1, 513)), "a selector is longer than 512"),
        (
            search_pb2.Query(text="x", limit=MAX_LIMIT + 1),
            f"limit must be between 1 and {MAX_LIMIT}",
        ),
        (search_pb2.Query(text="x", limit=2**32 - 1), f"limit must be between 1 and {MAX_LIMIT}"),
    ],
    ids=[
        "selectors",
        "types",
        "handling",
        "record-ids",
        "text",
        "name",
        "record-id-length",
        "selector-length",
        "limit",
        "limit-max",
    ],
)
def test_an_oversized_query_is_refused_naming_the_limit(
    limits: Limits, query: search_pb2.Query, reason: str
) -> None:
    before = limits.plain.searches
    code, details, _ = limits.search(limits.plain, query)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and reason in details, (code, details)
    assert limits.plain.searches == before


def test_the_size_is_checked_before_the_signature(limits: Limits) -> None:
    request = signed(limits.fed, "asker", "plain", search_pb2.Query(selectors=_selectors(65)))
    request.signature = b"\x00" * 64  # not even a valid signature: refused for its size first
    code, details, _ = call(limits.plain, request.SerializeToString())
    assert (code, details) == (grpc.StatusCode.INVALID_ARGUMENT, "more than 64 selectors")


def test_the_result_window_is_the_limit_up_to_100_and_20_by_default(limits: Limits) -> None:
    for limit, count in [(MAX_LIMIT, MAX_LIMIT), (0, DEFAULT_LIMIT), (7, 7)]:
        code, details, answer = limits.search(
            limits.plain, build_query(text="hosting", limit=limit)
        )
        assert code == grpc.StatusCode.OK, details
        assert answer is not None and released(answer) == (count, MAX_LIMIT + 5)


def test_the_gateway_bounds_its_page_size(limits: Limits, tmp_path: Path) -> None:
    issuer = generate_private_key()
    never_reached = closed_port_url().removeprefix("http://")
    app = gateway_app("asker", issuer, never_reached, tmp_path / "gateway.log")
    token = issue_token(issuer, agency="asker", officer="det-1", ttl_s=600)
    body = {"query": {"text": "x"}, "purpose": "page size check", "case_reference": "C-1"}
    with ServedApp(app) as api:
        for size, rule in [(0, "greater than or equal to 1"), (51, "less than or equal to 50")]:
            reply = api.post(
                "/v1/search",
                json={**body, "page_size": size},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert reply.status_code == 422, reply.text
            assert reply.json()["error"] == f"page_size: Input should be {rule}"


# --- the rate per agency ---------------------------------------------------------------------


def test_each_agency_may_search_a_node_only_so_often(limits: Limits) -> None:
    rated, query = limits.rated, build_query(text="hosting")
    forged = signed(limits.fed, "asker", "rated", query)
    sign_request(forged, generate_private_key())
    for _ in range(5):  # forgeries in asker's name spend nothing of asker's allowance
        code, details, _ = call(rated, forged.SerializeToString())
        assert code == grpc.StatusCode.UNAUTHENTICATED and "bad signature" in details
    codes = [limits.search(rated, query)[0] for _ in range(3)]
    assert codes == [grpc.StatusCode.OK] * 3
    code, details, _ = limits.search(rated, query)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert details == (
        "too many searches from agency 'asker': this node answers at most 3/minute per agency; "
        "retry later"
    )
    assert limits.search(rated, query, requester="other")[0] == grpc.StatusCode.OK
    assert rated.searches == 4  # the refused search never reached OpenSearch

    # through the federation, the officer sees the reason for that agency alone
    outcomes = limits.fan_out(["rated", "plain"], query)
    assert outcomes["rated"].status is Status.REJECTED
    assert outcomes["rated"].reason.startswith("resource_exhausted: too many searches from")
    assert outcomes["plain"].status is Status.OK

    entries = [e.event for e in read_entries(rated.config.audit_log or Path())]
    refused = [e for e in entries if e.get("outcome") == "resource_exhausted"]
    assert len(refused) == 2
    assert all(e["verified"] and e["requester"] == "asker" for e in refused)
    assert "at most 3/minute per agency" in refused[0]["reason"]


# --- message sizes ---------------------------------------------------------------------------


def test_a_request_over_the_nodes_size_limit_is_refused_by_grpc(limits: Limits) -> None:
    limit = limits.plain.config.max_request_bytes
    assert limit == 64 * 1024  # the default
    before = limits.plain.searches
    code, details, _ = call(limits.plain, b"\x00" * (limit + 1))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert details == f"SERVER: Received message larger than max ({limit + 1} vs. {limit})"
    # a genuinely signed request, padded with a field protobuf ignores: the same
    request = signed(limits.fed, "asker", "plain", build_query(text="hosting"))
    padded = request.SerializeToString() + b"\xfa\x06" + varint(limit) + b"p" * limit
    code, details, _ = call(limits.plain, padded)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert details == f"SERVER: Received message larger than max ({len(padded)} vs. {limit})"
    assert limits.plain.searches == before
    assert limits.search(limits.plain, build_query(text="hosting"))[0] == grpc.StatusCode.OK


@pytest.fixture(scope="module")
def bulky(limits: Limits) -> str:
    """The "bulky" agency, whose records are large: about 95 KB each."""
    filler = "evidence " * (BIG_TEXT // 9)
    records = [note(i, f"bulky hosting link {i} {filler}") for i in range(BIG_RECORDS)]
    limits.stack.ingest({"bulky": records})
    return "bulky"


def test_an_answer_too_large_for_the_federation_is_an_error_for_that_agency(
    limits: Limits, bulky: str
) -> None:
    config = limits.stack.node_config(
        bulky,
        max_message_bytes=4 * RECEIVE_LIMIT,  # the node sends it; the federation will not take it
    )
    with CountedNode(config):
        outcomes = limits.fan_out(
            [bulky, "plain"],
            build_query(text="bulky hosting", limit=BIG_RECORDS),
            max_message_bytes=RECEIVE_LIMIT,
        )
        small = limits.fan_out(
            [bulky], build_query(text="bulky hosting", limit=2), max_message_bytes=RECEIVE_LIMIT
        )
    assert outcomes["plain"].status is Status.OK  # the other agency is unaffected
    too_big = outcomes[bulky]
    assert (too_big.status, too_big.response) == (Status.ERROR, None), too_big.reason
    assert re.fullmatch(
        rf"the answer is larger than this service accepts: \d{{6,}} bytes, "
        rf"at most {RECEIVE_LIMIT} bytes",
        too_big.reason,
    ), too_big.reason
    fits = small[bulky]
    assert fits.status is Status.OK and fits.response is not None
    assert released(fits.response)[0] == 2


def test_the_federation_accepts_answers_up_to_a_nodes_default_largest(limits: Limits) -> None:
    assert MAX_MESSAGE_BYTES == limits.plain.config.max_message_bytes == 4 * 1024 * 1024


def test_an_answer_over_the_nodes_own_limit_is_refused_by_the_node(
    limits: Limits, bulky: str
) -> None:
    config = limits.stack.node_config(bulky, max_message_bytes=SEND_LIMIT)
    assert config.audit_log is not None
    before = len(list(read_entries(config.audit_log)))
    with CountedNode(config) as node:
        code, details, _ = limits.search(node, build_query(text="bulky", limit=2))
        fits = limits.search(node, build_query(text="bulky", limit=1))
        through_federation = limits.fan_out([bulky], build_query(text="bulky", limit=2))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert re.fullmatch(
        rf"the answer would be \d{{6}} bytes, more than this node sends \({SEND_LIMIT}\); "
        r"ask for fewer records \(a lower limit\) or narrow the query",
        details,
    )
    assert fits[0] == grpc.StatusCode.OK and fits[2] is not None
    assert released(fits[2])[0] == 1
    refused = through_federation[bulky]
    assert refused.status is Status.REJECTED
    assert refused.reason.startswith("resource_exhausted: the answer would be")
    # nothing left the node, and its audit log says so: refused, no records released
    written = [e.event for e in read_entries(config.audit_log)][before:]
    assert [e["outcome"] for e in written] == ["resource_exhausted", "ok", "resource_exhausted"]
    assert all("released" not in e for e in written if e["outcome"] != "ok")
