"""SearchStream on real nodes: each message is answered, refused and recorded as a Search call
is; the federation's caller searches over it, falls back to Search for a node without it, and
opens a new stream after the node restarts."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import grpc
import pytest

from cets.common.keys import load_private_key, load_public_key
from cets.common.membership import Member, load_membership
from cets.core.display import build_query
from cets.demo.local import AgencySpec
from cets.federation.fanout import FanOut, Outcome, Status, Who
from cets.federation.peers import GrpcCaller
from cets.search.background import BackgroundNode
from cets.v1 import federation_pb2, federation_pb2_grpc, search_pb2, search_pb2_grpc
from helpers import audited_outcomes, opened, signed
from stacks import Stack, local_stack

pytestmark = pytest.mark.opensearch

SPECS = [
    AgencySpec("asker", "Asking Agency", "CA"),
    AgencySpec("streamed", "Agency searched over a stream", "CA"),
    AgencySpec("restarted", "Agency whose node restarts", "CA"),
]
RECORDS = [
    {
        "id": "tip-1",
        "type": "tip",
        "text": "Account darkangel_77 shared a file hosting link",
        "usernames": ["darkangel_77"],
        "created": "2025-04-01T00:00:00Z",
    }
]
QUERY = build_query(selectors=["username:darkangel_77"], limit=5)
WHO = Who(officer_id="det-1", purpose="online luring investigation", case_reference="C-1")
METHOD = "/cets.v1.SearchNode/SearchStream"
CODE = search_pb2.AgencyStatus


@pytest.fixture(scope="module")
def stack(opensearch_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stream")
    with local_stack(opensearch_url, root, SPECS, index_prefix="stream", drop_indices=True) as s:
        s.ingest({"streamed": RECORDS, "restarted": RECORDS})
        s.start_node("streamed")
        yield s


def message(stack: Stack, request_id: int, **options: object) -> search_pb2.StreamedSearch:
    request = signed(stack.fed, "asker", "streamed", QUERY)
    return search_pb2.StreamedSearch(id=request_id, request=request.SerializeToString(), **options)


def test_each_message_is_answered_refused_and_recorded_as_a_call(stack: Stack) -> None:
    log = stack.node_config("streamed").audit_log
    before = audited_outcomes(log, ("node.search",))
    forged = signed(stack.fed, "asker", "streamed", QUERY)
    forged.signature = bytes(64)
    messages = [
        message(stack, 1, timeout_ms=10_000),
        search_pb2.StreamedSearch(id=2, request=forged.SerializeToString()),
        message(stack, 3),  # no timeout: the node's own
        message(stack, 4, timeout_ms=1),  # no time to search
    ]
    target = f"127.0.0.1:{stack.fed.agency('streamed').node_port}"
    with grpc.insecure_channel(target) as channel:
        answers = {
            a.id: a
            for a in search_pb2_grpc.SearchNodeStub(channel).SearchStream(
                iter(messages), timeout=20
            )
        }

    assert sorted(answers) == [1, 2, 3, 4]
    for ok in (1, 3):
        response = opened(stack.fed, "streamed", answers[ok].answer)
        assert [h.record_id for h in response.hits] == ["tip-1"]
    assert answers[2].error.code == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert "signature" in answers[2].error.message
    assert answers[4].error.code == grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
    after = audited_outcomes(log, ("node.search",))
    assert after - before == {"ok": 2, "unauthenticated": 1, "deadline_exceeded": 1}


def test_a_message_that_is_no_streamed_search_ends_the_stream_and_is_recorded(
    stack: Stack,
) -> None:
    log = stack.node_config("streamed").audit_log
    before = audited_outcomes(log, ("node.search",))
    target = f"127.0.0.1:{stack.fed.agency('streamed').node_port}"
    with grpc.insecure_channel(target) as channel:
        call = channel.stream_stream(METHOD)  # bytes as they are
        with pytest.raises(grpc.RpcError) as refused:
            list(call(iter([b"\xff\xff\xff"]), timeout=10))
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "StreamedSearch" in (refused.value.details() or "")
    assert audited_outcomes(log, ("node.search",)) - before == {"invalid_argument": 1}


def members(stack: Stack) -> dict[str, Member]:
    root = stack.fed.root
    membership = load_membership(root / "membership.json", load_public_key(root / "admin.pub"))
    return {a: m for a in ("streamed", "restarted") if (m := membership.get(a)) is not None}


def fan_out(stack: Stack, caller: GrpcCaller) -> FanOut:
    key = load_private_key(stack.fed.agency("asker").directory / "agency.key")
    return FanOut(agency_id="asker", key=key, caller=caller)


async def search(fan: FanOut, member: Member, timeout_s: float = 5.0) -> Outcome[object]:
    prepared = fan.prepare(QUERY, WHO, [member], timeout_s=timeout_s)
    (outcome,) = await fan.send(prepared, deadline=time.monotonic() + timeout_s)
    return outcome


@asynccontextmanager
async def stand_in(
    member: Member, method: str, handler: grpc.RpcMethodHandler
) -> AsyncIterator[Member]:
    """``member`` at the endpoint of a server of its own, serving only ``method``."""
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("cets.v1.SearchNode", {method: handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield dataclasses.replace(member, endpoint=f"127.0.0.1:{port}")
    finally:
        await server.stop(None)


class StreamOnly(GrpcCaller):
    """The federation's caller with its Search calls taken away: only streams are left."""

    async def _unary(self, *args: object) -> search_pb2.SignedAnswer:
        raise AssertionError("a search went out as a call")


def test_the_federations_caller_searches_over_one_stream(stack: Stack) -> None:
    member = members(stack)["streamed"]

    async def run() -> list[Outcome[object]]:
        caller = StreamOnly()
        fan = fan_out(stack, caller)
        try:  # side by side on the one stream, then one more on it
            first = await asyncio.gather(*(search(fan, member) for _ in range(5)))
            return [*first, await search(fan, member)]
        finally:
            await caller.close()

    outcomes = asyncio.run(run())
    assert [o.status for o in outcomes] == [Status.OK] * 6
    assert all([h.record_id for h in o.response.hits] == ["tip-1"] for o in outcomes)  # type: ignore[attr-defined]


def test_a_node_without_search_stream_is_searched_with_calls(stack: Stack) -> None:
    """A node of an earlier version: a server with Search alone, passing calls to the node."""
    rounds = 8
    member = members(stack)["streamed"]

    async def run() -> list[Outcome[object]]:
        async with grpc.aio.insecure_channel(member.endpoint) as upstream:
            forward = upstream.unary_unary("/cets.v1.SearchNode/Search")

            async def search_call(data: bytes, context: object) -> bytes:
                answer: bytes = await forward(data, timeout=5)
                return answer

            handler = grpc.unary_unary_rpc_method_handler(search_call)
            outcomes: list[Outcome[object]] = []
            async with stand_in(member, "Search", handler) as older:
                # Searches side by side on first contact, while the node's UNIMPLEMENTED for
                # the stream is on its way back, then one more: each with a new caller.
                for _ in range(rounds):
                    caller = GrpcCaller()
                    try:
                        fan = fan_out(stack, caller)
                        outcomes += await asyncio.gather(*(search(fan, older) for _ in range(6)))
                        outcomes.append(await search(fan, older))
                    finally:
                        await caller.close()
            return outcomes

    outcomes = asyncio.run(run())
    assert [o.status for o in outcomes] == [Status.OK] * (7 * rounds), [o.reason for o in outcomes]


def test_a_stream_broken_by_a_restart_is_opened_again(stack: Stack) -> None:
    """Through the asking agency's federation service, as officers search."""
    config = stack.node_config("restarted")
    federation = stack.start_federation("asker").target

    def status() -> tuple[int, str]:
        with grpc.insecure_channel(federation) as channel:
            request = federation_pb2.FederatedSearchRequest(
                query=QUERY,
                officer_id="det-1",
                purpose="online luring investigation",
                case_reference="C-1",
                targets=["restarted"],
            )
            response = federation_pb2_grpc.FederationStub(channel).Search(request, timeout=5)
        (answer,) = response.answers
        return answer.status.code, answer.status.reason

    started = time.monotonic()
    with BackgroundNode(config):
        up = status()
    stopped = time.monotonic() - started
    down = status()
    with BackgroundNode(config):
        until = time.monotonic() + 10  # the channel reconnects within seconds (its backoff)
        while (again := status())[0] != CODE.CODE_OK and time.monotonic() < until:
            time.sleep(0.5)
    assert up[0] == CODE.CODE_OK, up
    assert down[0] == CODE.CODE_UNAVAILABLE, down
    assert again[0] == CODE.CODE_OK, again
    assert stopped < config.grace_s + 5  # the open stream did not hold the node's stop


def test_a_stream_answer_that_does_not_parse_is_that_agencys_error(stack: Stack) -> None:
    member = members(stack)["streamed"]

    async def run() -> Outcome[object]:
        async def garbage(requests: object, context: grpc.aio.ServicerContext) -> object:
            await context.send_initial_metadata(())  # opens the stream as a node does
            async for _ in requests:  # type: ignore[attr-defined]
                yield b"\xff\xff\xff not a StreamedAnswer"

        handler = grpc.stream_stream_rpc_method_handler(garbage)
        async with stand_in(member, "SearchStream", handler) as liar:
            caller = GrpcCaller()
            try:
                return await search(fan_out(stack, caller), liar)
            finally:
                await caller.close()

    outcome = asyncio.run(run())
    assert outcome.status is Status.ERROR
    assert "unreadable answer" in outcome.reason


def test_a_node_that_never_opens_the_stream_times_out_within_the_deadline(stack: Stack) -> None:
    member = members(stack)["streamed"]

    async def run() -> tuple[Outcome[object], float]:
        async def silent(requests: object, context: object) -> object:
            await asyncio.sleep(30)  # neither opens the stream nor answers
            yield b""

        handler = grpc.stream_stream_rpc_method_handler(silent)
        async with stand_in(member, "SearchStream", handler) as stalled:
            caller = GrpcCaller()
            try:
                began = time.monotonic()
                outcome = await search(fan_out(stack, caller), stalled, timeout_s=1.0)
                return outcome, time.monotonic() - began
            finally:
                await caller.close()

    outcome, took = asyncio.run(run())
    assert outcome.status is Status.TIMEOUT, outcome.reason
    assert took < 3
