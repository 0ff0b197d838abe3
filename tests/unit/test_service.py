"""The node's servicer on a real grpc.aio server, with searchers that stall, fail or lie."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import grpc
import pytest

from cets.common.audit import AuditLog, read_entries
from cets.common.keys import generate_private_key, load_private_key, load_public_key
from cets.common.membership import load_membership
from cets.common.signing import sign_request
from cets.core.disclosure import Disclosure
from cets.core.display import build_query
from cets.core.query import SearchHit, SearchQuery, SearchResult
from cets.core.records import RecordType
from cets.demo.local import AgencySpec, LocalFederation, build_local_federation
from cets.search.dsl import Scope
from cets.search.errors import StoreError, StoreUnavailable
from cets.search.guard import RequestGuard
from cets.search.policy import SharingPolicy
from cets.search.ratelimit import PeerRateLimit
from cets.search.service import NodeIdentity, SearchNodeService, add_to_server
from cets.v1 import search_pb2, search_pb2_grpc
from helpers import opened, signed


class StallingSearcher:
    """Never answers; records whether the node cancelled it and what time it was given."""

    def __init__(self) -> None:
        self.cancelled = asyncio.Event()
        self.budgets: list[float] = []

    async def search(
        self, query: SearchQuery, *, timeout_s: float, scope: Scope | None = None
    ) -> SearchResult:
        self.budgets.append(timeout_s)
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        raise AssertionError("unreachable")


class FailingSearcher:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def search(
        self, query: SearchQuery, *, timeout_s: float, scope: Scope | None = None
    ) -> SearchResult:
        raise self.error


class FixedSearcher:
    def __init__(self) -> None:
        self.queries: list[SearchQuery] = []

    async def search(
        self, query: SearchQuery, *, timeout_s: float, scope: Scope | None = None
    ) -> SearchResult:
        self.queries.append(query)
        document = {
            "agency": "a1",
            "record_id": "r1",
            "type": "case_note",
            "created": "2025-01-01T00:00:00Z",
            "body": {"text": "note"},
        }
        hit = SearchHit(
            record_id="r1",
            type=RecordType.CASE_NOTE,
            score=1.5,
            title="case note",
            created="2025-01-01T00:00:00Z",
            highlights={},
            matched_selectors=(),
            selectors=(),
            document=document,
        )
        return SearchResult(hits=(hit,), total=1, total_is_lower_bound=False, took_ms=3)


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> LocalFederation:
    specs = [AgencySpec("asker", "Asking Agency", "CA"), AgencySpec("a1", "Agency One", "CA")]
    return build_local_federation(tmp_path_factory.mktemp("fed"), specs)


_FED: list[LocalFederation] = []


@pytest.fixture(autouse=True)
def _current_federation(fed: LocalFederation) -> None:
    _FED[:] = [fed]


def _service(
    searcher: Any, audit: AuditLog, default_timeout_s: float, rate_limit: str | None = None
) -> SearchNodeService:
    fed = _FED[0]
    me = fed.agency("a1")
    membership = load_membership(
        fed.root / "membership.json", load_public_key(fed.root / "admin.pub")
    )
    return SearchNodeService(
        identity=NodeIdentity(
            agency_id="a1",
            signing_key=load_private_key(me.directory / "agency.key"),
            card_key=me.card_key,
            default_region="CA",
        ),
        searcher=searcher,
        guard=RequestGuard(agency_id="a1", membership=lambda: membership),
        policy=SharingPolicy(member_default=Disclosure.FULL),
        audit=audit,
        default_timeout_s=default_timeout_s,
        rate_limit=PeerRateLimit(rate_limit) if rate_limit else None,
    )


async def _with_server(
    searcher: Any,
    body: Callable[[search_pb2_grpc.SearchNodeStub], Coroutine[Any, Any, None]],
    *,
    default_timeout_s: float = 10.0,
    rate_limit: str | None = None,
    audit_entries: list[dict[str, Any]] | None = None,
) -> None:
    """Serve the node's servicer as the node does; ``audit_entries`` receives its audit log."""
    server = grpc.aio.server()
    with tempfile.TemporaryDirectory() as tmp, AuditLog(Path(tmp) / "audit.log") as audit:
        add_to_server(_service(searcher, audit, default_timeout_s, rate_limit), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                await body(search_pb2_grpc.SearchNodeStub(channel))
            if audit_entries is not None:
                audit_entries.extend(e.event for e in read_entries(Path(tmp) / "audit.log"))
        finally:
            await server.stop(0)


def _request(text: str = "anything", **selectors: str) -> search_pb2.SearchRequest:
    query = build_query(text=text, selectors=[f"{k}:{v}" for k, v in selectors.items()])
    return signed(_FED[0], "asker", "a1", query, nonce=b"n-123-" + secrets.token_bytes(16))


def test_the_callers_deadline_bounds_the_search_and_cancels_the_work() -> None:
    searcher = StallingSearcher()

    async def body(stub: search_pb2_grpc.SearchNodeStub) -> None:
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.Search(_request(), timeout=0.3)
        elapsed = time.monotonic() - started
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert elapsed < 2.0
        await asyncio.wait_for(searcher.cancelled.wait(), 5)
        assert 0 < searcher.budgets[0] <= 0.3  # the searcher was given what remained

    asyncio.run(_with_server(searcher, body))


def test_without_a_caller_deadline_the_node_bounds_its_own_work() -> None:
    searcher = StallingSearcher()

    async def body(stub: search_pb2_grpc.SearchNodeStub) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.Search(_request())
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "did not finish in time" in (info.value.details() or "")

    asyncio.run(_with_server(searcher, body, default_timeout_s=0.3))


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (
            StoreUnavailable("OpenSearch is unreachable; could not search"),
            grpc.StatusCode.UNAVAILABLE,
        ),
        (StoreError("OpenSearch refused to search: x (500)"), grpc.StatusCode.INTERNAL),
    ],
)
def test_store_errors_map_to_status_codes(error: Exception, code: grpc.StatusCode) -> None:
    async def body(stub: search_pb2_grpc.SearchNodeStub) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.Search(_request(), timeout=5)
        assert info.value.code() == code
        assert info.value.details() == str(error)

    asyncio.run(_with_server(FailingSearcher(error), body))


def test_an_answer_carries_agency_disclosure_and_the_request_nonce() -> None:
    searcher = FixedSearcher()

    async def body(stub: search_pb2_grpc.SearchNodeStub) -> None:
        response = opened(_FED[0], "a1", await stub.Search(_request("note"), timeout=5))
        assert response.agency == "a1"
        assert response.request_nonce.startswith(b"n-123-")
        assert response.disclosure == search_pb2.DISCLOSURE_LEVEL_FULL
        assert [h.record_id for h in response.hits] == ["r1"]
        assert response.hits[0].record.case_note.text == "note"

    asyncio.run(_with_server(searcher, body))
    assert searcher.queries[0].text == "note"


def test_query_text_never_reaches_the_ordinary_log(caplog: pytest.LogCaptureFixture) -> None:
    secret = "very-distinctive-suspect-handle"

    async def body(stub: search_pb2_grpc.SearchNodeStub) -> None:
        await stub.Search(_request(secret), timeout=5)
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.Search(_request(secret, email=secret), timeout=5)

    with caplog.at_level("DEBUG"):
        asyncio.run(_with_server(FixedSearcher(), body))
    assert caplog.records, "the node should log each answer"
    for record in caplog.records:
        assert secret not in record.getMessage()
        assert all(secret not in str(v) for v in record.__dict__.values())


def _code(error: pytest.ExceptionInfo[grpc.aio.AioRpcError]) -> tuple[grpc.StatusCode, str]:
    return error.value.code(), error.value.details() or ""


def test_each_agency_may_search_only_so_often_and_the_refusal_is_audited() -> None:
    searcher = FixedSearcher()
    entries: list[dict[str, Any]] = []

    async def body(stub: search_pb2_grpc.SearchNodeStub) -> None:
        for _ in range(2):
            await stub.Search(_request(), timeout=5)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.Search(_request(), timeout=5)
        code, details = _code(info)
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert details == (
            "too many searches from agency 'asker': this node answers at most 2/minute "
            "per agency; retry later"
        )

    asyncio.run(_with_server(searcher, body, rate_limit="2/minute", audit_entries=entries))
    assert len(searcher.queries) == 2  # the refused search never ran
    assert [e["outcome"] for e in entries] == ["ok", "ok", "resource_exhausted"]
    refused = entries[-1]
    assert refused["verified"] is True and refused["requester"] == "asker"
    assert "at most 2/minute" in refused["reason"]


def test_forged_or_replayed_requests_do_not_spend_an_agencys_allowance() -> None:
    searcher = FixedSearcher()

    async def body(stub: search_pb2_grpc.SearchNodeStub) -> None:
        first = _request()
        await stub.Search(first, timeout=5)
        forged = _request()
        sign_request(forged, generate_private_key())  # claims to be "asker"
        for request, reason in [(forged, "bad signature"), (first, "replayed")] * 3:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.Search(request, timeout=5)
            code, details = _code(info)
            assert code == grpc.StatusCode.UNAUTHENTICATED and reason in details
        await stub.Search(_request(), timeout=5)  # the second of two allowed: still admitted

    asyncio.run(_with_server(searcher, body, rate_limit="2/minute"))
    assert len(searcher.queries) == 2


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe not a protobuf message", b"\x0a\x02\xff\xff", b"\x12\x05\x0a\x80", b"\x08"],
    ids=["garbage", "bad-utf8", "truncated", "wire-type"],
)
def test_bytes_that_are_no_request_are_invalid_argument_and_audited(data: bytes) -> None:
    searcher = FixedSearcher()
    entries: list[dict[str, Any]] = []

    async def run() -> None:
        server = grpc.aio.server()
        with tempfile.TemporaryDirectory() as tmp, AuditLog(Path(tmp) / "audit.log") as audit:
            add_to_server(_service(searcher, audit, 10.0), server)
            port = server.add_insecure_port("127.0.0.1:0")
            await server.start()
            try:
                async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                    call = channel.unary_unary("/cets.v1.SearchNode/Search")
                    with pytest.raises(grpc.aio.AioRpcError) as info:
                        await call(data, timeout=5)
                    code, details = _code(info)
                    assert code == grpc.StatusCode.INVALID_ARGUMENT
                    assert details == (
                        "the request is not a cets.v1.SearchRequest: its bytes do not parse"
                    )
                entries.extend(e.event for e in read_entries(Path(tmp) / "audit.log"))
            finally:
                await server.stop(0)

    asyncio.run(run())
    assert searcher.queries == []
    assert len(entries) == 1 and entries[0]["outcome"] == "invalid_argument"
    assert entries[0]["request_bytes"] == len(data) and entries[0]["verified"] is False


def test_the_federation_service_takes_the_largest_request_the_field_limits_allow() -> None:
    from cets.core.convert import MAX_SELECTOR_CHARS
    from cets.core.query import MAX_NAME, MAX_RECORD_IDS, MAX_SELECTORS, MAX_TEXT
    from cets.federation.server import MAX_REQUEST_BYTES
    from cets.federation.service import MAX_TARGETS
    from cets.v1 import federation_pb2, records_pb2, search_pb2

    wide = "\U0001f600"  # four bytes in UTF-8
    query = search_pb2.Query(
        text=wide * MAX_TEXT,
        name=wide * MAX_NAME,
        selectors=[
            records_pb2.Selector(
                kind=records_pb2.SELECTOR_KIND_USERNAME, value=wide * MAX_SELECTOR_CHARS
            )
            for _ in range(MAX_SELECTORS)
        ],
        types=list(range(1, 11)),
        handling=list(range(1, 6)),
        record_ids=[wide * 128] * MAX_RECORD_IDS,
        limit=100,
    )
    query.created_from.GetCurrentTime()
    query.created_to.GetCurrentTime()
    request = federation_pb2.FederatedSearchRequest(
        query=query,
        officer_id=wide * 128,
        purpose=wide * 512,
        case_reference=wide * 128,
        targets=["a" * 48] * MAX_TARGETS,
    )
    assert request.ByteSize() <= MAX_REQUEST_BYTES


def test_unverified_refusals_after_the_first_of_a_second_are_counted_into_one_entry() -> None:
    """Garbage as fast as it comes: one entry of its own, then one entry counting the rest;
    each request is still refused."""
    from cets.search.answering import flush_refusals

    searcher = FixedSearcher()
    entries: list[dict[str, Any]] = []
    commits: list[int] = []

    async def run() -> None:
        server = grpc.aio.server()
        with tempfile.TemporaryDirectory() as tmp, AuditLog(Path(tmp) / "audit.log") as audit:
            add_to_server(_service(searcher, audit, 10.0), server)
            port = server.add_insecure_port("127.0.0.1:0")
            await server.start()
            try:
                async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                    call = channel.unary_unary("/cets.v1.SearchNode/Search")
                    for _ in range(20):
                        with pytest.raises(grpc.aio.AioRpcError) as info:
                            await call(b"\xff\xfe garbage", timeout=5)
                        assert _code(info)[0] == grpc.StatusCode.INVALID_ARGUMENT
                await flush_refusals(audit)
                commits.append(audit.commits)
                entries.extend(e.event for e in read_entries(Path(tmp) / "audit.log"))
            finally:
                await server.stop(0)

    asyncio.run(run())
    assert searcher.queries == []
    assert commits[0] <= 3  # not one commit per request
    first, *rest = entries
    assert first["outcome"] == "invalid_argument" and first["verified"] is False
    assert sum(e["count"] for e in rest) == 19
    assert all(e["kind"] == "node.refused_unverified" for e in rest)
