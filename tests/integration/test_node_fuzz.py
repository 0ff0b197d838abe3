"""A real search node on a real OpenSearch, fed hostile bytes, metadata and field values.

Whatever arrives, every call ends in a status from a small expected set with a details string
that says what was wrong (never a Python traceback), the node keeps answering, and no query
reaches OpenSearch unless its request carried a valid signature: the node's store counts the
searches that reach OpenSearch, and that count must always equal the number of validly signed
requests the node answered. A mutated request that still verifies (a change protobuf drops, such
as an unknown field) counts as validly signed and must be answered.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cets.common.keys import generate_private_key, load_public_key
from cets.common.signing import sign_request, verify_request
from cets.core.display import build_query
from cets.demo.local import AgencySpec, LocalFederation
from cets.v1 import records_pb2, search_pb2, search_pb2_grpc
from helpers import CountedNode, opened, signed, varint
from stacks import local_stack

pytestmark = pytest.mark.opensearch

NODE = "fuzzed"
SECRET = "zanzibar-quokka-7731"  # a query word that must never appear in the node's log
REFUSED = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
TRACEBACK = re.compile(r"Traceback|File \"|line \d+, in|<class '|Exception|Error:")
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
RECORDS = [
    {
        "id": "n-1",
        "type": "case_note",
        "text": f"the {SECRET} handle shared a hosting link",
        "created": "2025-01-01",
    },
    {"id": "n-2", "type": "case_note", "text": "nothing of interest here", "created": "2025-01-02"},
]


def released(response: search_pb2.SearchResponse) -> tuple[str, list[str]]:
    """Who answered and the records it released (the one place these tests read an answer)."""
    return response.agency, [hit.record_id for hit in response.hits]


class LogRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Fuzzed:
    """The node under test and the ledger the tests keep of it."""

    fed: LocalFederation
    node: CountedNode
    channel: grpc.Channel
    asker_key: Ed25519PublicKey
    log: LogRecorder
    answered: int = 0
    """Validly signed requests the node answered: each one, and only these, searched."""
    seen: Counter[grpc.StatusCode] = field(default_factory=Counter)
    """How the mutated requests ended, to show the fuzzing reached every kind of outcome."""

    def request(self, query: search_pb2.Query | None = None, **kwargs: Any) -> bytes:
        """A fresh, validly signed request from "asker", serialized."""
        query = query or build_query(text=f"{SECRET} hosting")
        return signed(self.fed, "asker", NODE, query, **kwargs).SerializeToString()

    def authentic(self, data: bytes) -> bool:
        """Whether ``data`` is a request that "asker" signed, as the node's guard would see it."""
        try:
            request = search_pb2.SearchRequest.FromString(data)
            return request.context.requester_agency == "asker" and verify_request(
                request, self.asker_key
            )
        except (DecodeError, ValueError, json_format.Error):
            return False

    def call(
        self, data: bytes, metadata: list[tuple[str, str | bytes]] | None = None
    ) -> tuple[grpc.StatusCode, str, bytes]:
        """Send raw bytes as a search; the status, its details and the answer's bytes."""
        method = self.channel.unary_unary("/cets.v1.SearchNode/Search")
        try:
            answer: bytes = method(data, timeout=10, metadata=metadata)
        except grpc.RpcError as exc:
            return exc.code(), exc.details() or "", b""
        return grpc.StatusCode.OK, "", answer

    def expect(
        self, data: bytes, *, ok: bool, metadata: list[tuple[str, str | bytes]] | None = None
    ) -> tuple[grpc.StatusCode, str]:
        """Send ``data``; it must be answered if ``ok``, else refused with a clear reason."""
        before = self.node.searches
        code, details, answer = self.call(data, metadata)
        if ok:
            assert code == grpc.StatusCode.OK, (code, details)
            assert (
                released(opened(self.fed, NODE, search_pb2.SignedAnswer.FromString(answer)))[0]
                == NODE
            )
            self.answered += 1
        else:
            assert code in REFUSED, (code, details)
            assert details.strip(), code
            assert not TRACEBACK.search(details), details
        assert self.node.searches == before + (1 if ok else 0)
        assert self.node.searches == self.answered
        return code, details


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, opensearch_url: str) -> Iterator[Fuzzed]:
    specs = [
        AgencySpec("asker", "Asking Agency", "CA"),
        AgencySpec(NODE, "Fuzzed Agency", "CA"),
        AgencySpec("gone", "Revoked Agency", "CA"),
    ]
    root = tmp_path_factory.mktemp("fuzz")
    with local_stack(opensearch_url, root, specs, index_prefix="fuzz", revoked=["gone"]) as stack:
        stack.ingest({NODE: RECORDS})
        recorder = LogRecorder()
        logger = logging.getLogger("cets")
        logger.addHandler(recorder)
        stack.exits.callback(logger.removeHandler, recorder)
        # a generous rate: the fuzzing sends hundreds of requests a minute as one agency
        node = stack.start_node(NODE, factory=CountedNode, rate_limit="1000/second")
        channel = stack.enter_context(grpc.insecure_channel(node.target))
        asker = load_public_key(stack.fed.agency("asker").directory / "agency.pub")
        yield Fuzzed(stack.fed, node, channel, asker, recorder)


def test_a_valid_signed_request_is_answered_and_searched_once(fuzzed: Fuzzed) -> None:
    before = fuzzed.node.searches
    fuzzed.expect(fuzzed.request(), ok=True)
    response = search_pb2_grpc.SearchNodeStub(fuzzed.channel).Search(
        signed(fuzzed.fed, "asker", NODE, build_query(text=SECRET)), timeout=10
    )
    fuzzed.answered += 1
    assert released(opened(fuzzed.fed, NODE, response)) == (NODE, ["n-1"])
    assert fuzzed.node.searches == fuzzed.answered == before + 2


@pytest.mark.parametrize(
    ("data", "code", "reason"),
    [
        (b"", grpc.StatusCode.UNAUTHENTICATED, "not signed"),
        (b"\xff" * 64, grpc.StatusCode.INVALID_ARGUMENT, "not a cets.v1.SearchRequest"),
        (b"\x0a\x05\x0a\x03\xc3\x28\x41", grpc.StatusCode.INVALID_ARGUMENT, "do not parse"),
        (b"\x7a\x40" + b"s" * 64, grpc.StatusCode.UNAUTHENTICATED, "unknown agency ''"),
    ],
    ids=["empty", "ff", "bad-utf8", "signature-only"],
)
def test_odd_bytes_get_a_clear_refusal(
    fuzzed: Fuzzed, data: bytes, code: grpc.StatusCode, reason: str
) -> None:
    assert not fuzzed.authentic(data)
    got, details = fuzzed.expect(data, ok=False)
    assert got == code and reason in details, details


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes_never_reach_opensearch(fuzzed: Fuzzed, data: bytes) -> None:
    fuzzed.expect(data, ok=fuzzed.authentic(data))


def _mutations() -> st.SearchStrategy[tuple[Any, ...]]:
    position = st.integers(0, 4096)  # taken modulo the length: signed requests vary in size
    unknown_field = st.integers(16, 2**29 - 1)  # SearchRequest uses 1, 2 and 15
    return st.one_of(
        st.tuples(st.just("flip"), position, st.integers(1, 255)),
        st.tuples(st.just("ascii"), position, st.integers(0x20, 0x7E)),  # keeps text UTF-8
        st.tuples(st.just("insert"), position, st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("delete"), position, st.integers(1, 8)),
        st.tuples(st.just("truncate"), position),
        st.tuples(st.just("append"), st.binary(min_size=1, max_size=16)),
        st.tuples(st.just("unknown"), unknown_field, st.binary(max_size=12)),
        st.tuples(st.just("repeat"), st.integers(1, 2)),
    )


def _mutate(wire: bytes, mutation: tuple[Any, ...]) -> bytes:
    data = bytearray(wire)
    match mutation:
        case ("flip", at, mask):
            data[at % len(data)] ^= mask
        case ("ascii", at, char):
            data[at % len(data)] = char
        case ("insert", at, junk):
            at %= len(data) + 1
            data[at:at] = junk
        case ("delete", at, count):
            at %= len(data)
            del data[at : at + count]
        case ("truncate", at):
            del data[at % len(data) :]
        case ("append", junk):
            data += junk
        case ("unknown", number, payload):  # a length-delimited field the schema does not have
            data += varint(number << 3 | 2) + varint(len(payload)) + payload
        case ("repeat", times):  # the message again: protobuf merges, scalars last-wins
            data += wire * times
    return bytes(data)


@FUZZ
@given(data=st.data())
def test_mutated_signed_requests_are_answered_only_if_they_still_verify(
    fuzzed: Fuzzed, data: st.DataObject
) -> None:
    wire = fuzzed.request()  # a fresh nonce each time, so an authentic mutation is no replay
    mutations = data.draw(st.lists(_mutations(), min_size=1, max_size=3), "mutations")
    mutated = wire
    for mutation in mutations:
        mutated = _mutate(mutated, mutation)
    code, _ = fuzzed.expect(mutated, ok=fuzzed.authentic(mutated))
    fuzzed.seen[code] += 1


def test_the_mutations_reached_every_outcome(fuzzed: Fuzzed) -> None:
    # some mutations must have kept the signature valid, and others must have failed to
    # parse, or to verify; run alone, this test does the fuzzing first
    if not fuzzed.seen:
        test_mutated_signed_requests_are_answered_only_if_they_still_verify(fuzzed)
    assert fuzzed.seen[grpc.StatusCode.OK] > 0, fuzzed.seen
    assert fuzzed.seen[grpc.StatusCode.INVALID_ARGUMENT] > 0, fuzzed.seen
    assert fuzzed.seen[grpc.StatusCode.UNAUTHENTICATED] > 0, fuzzed.seen


def test_changes_protobuf_drops_still_verify_and_are_answered(fuzzed: Fuzzed) -> None:
    wire = fuzzed.request()
    padded = _mutate(wire, ("unknown", 99, b"ignored"))
    assert padded != wire and fuzzed.authentic(padded)
    fuzzed.expect(padded, ok=True)
    # the same request twice over merges into itself: same fields, so it verifies — and its
    # nonce has been used, so it is refused as a replay
    twice = _mutate(wire, ("repeat", 1))
    assert fuzzed.authentic(twice)
    _, details = fuzzed.expect(twice, ok=False)
    assert "replayed" in details


def _metadata_cases() -> list[tuple[str, list[tuple[str, str | bytes]], bool | None]]:
    """(name, metadata, answered?): None when grpc's transport may refuse it either way."""
    return [
        ("binary", [("x-junk-bin", bytes(range(256)) * 4)], True),
        ("many-small", [(f"x-k{i}", "v") for i in range(100)], True),
        ("reserved", [("te", "nonsense"), ("content-type", "text/plain")], True),
        ("grpc-status", [("grpc-status", "0"), ("grpc-message", "fine")], True),
        ("grpc-timeout", [("grpc-timeout", "soon")], True),
        ("authorization", [("authorization", "Bearer " + "A" * 4000)], True),
        ("printable", [("x-odd", "~!@#$%^&*()_+{}|:<>?`-=[]\\;',./ \"")], True),
        ("soft-limit", [("x-big", "a" * 12_000)], None),
        ("hard-limit", [("x-big", "a" * 20_000)], False),
        ("hard-limit-sum", [("x-a", "a" * 9000), ("x-b", "b" * 9000)], False),
        ("too-many-keys", [(f"x-k{i}", "v") for i in range(1000)], False),
    ]


@pytest.mark.parametrize(
    ("metadata", "answered"),
    [pytest.param(m, a, id=n) for n, m, a in _metadata_cases()],
)
def test_odd_metadata_is_ignored_or_refused_by_size(
    fuzzed: Fuzzed, metadata: list[tuple[str, str | bytes]], answered: bool | None
) -> None:
    wire = fuzzed.request()
    if answered is None:  # between grpc's soft and hard metadata limits: either is right
        code = fuzzed.call(wire, metadata)[0]
        assert code in (grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED)
        fuzzed.answered += code == grpc.StatusCode.OK
        assert fuzzed.node.searches == fuzzed.answered
        return
    if answered:
        fuzzed.expect(wire, ok=True, metadata=metadata)
        return
    code, details, _ = fuzzed.call(wire, metadata)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    if len(metadata) < 100:
        assert "metadata size exceeds" in details and "limit" in details
    # Otherwise grpc's own message lists every key, and grpc drops a status message over 2 KiB
    # on the way out: the status arrives with empty details. The transport refuses the call
    # before the node sees it, so the node cannot say more.
    assert not TRACEBACK.search(details)
    assert fuzzed.node.searches == fuzzed.answered


@pytest.mark.parametrize(
    "metadata",
    [[("x-bad", "line\nbreak")], [("X-Upper", "v")], [("x bad", "v")], [("x-utf8", "é")]],
    ids=["newline", "uppercase-key", "space-in-key", "non-ascii"],
)
def test_metadata_grpc_will_not_send_never_reaches_the_node(
    fuzzed: Fuzzed, metadata: list[tuple[str, str | bytes]]
) -> None:
    code, _, _ = fuzzed.call(fuzzed.request(), metadata)
    assert code != grpc.StatusCode.OK  # refused by the client library itself
    assert fuzzed.node.searches == fuzzed.answered


def _at(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=UTC)


def _query(**fields: object) -> search_pb2.Query:
    query = build_query(text="hosting")
    for name, value in fields.items():
        if name in ("created_from", "created_to"):
            getattr(query, name).FromDatetime(value)
        elif isinstance(value, list):
            query.ClearField(name)
            getattr(query, name).extend(value)
        else:
            setattr(query, name, value)
    return query


def _selector(kind: Any, value: str) -> records_pb2.Selector:
    return records_pb2.Selector(kind=kind, value=value)


EMAIL = records_pb2.SELECTOR_KIND_EMAIL
WRONG_QUERIES: list[tuple[str, search_pb2.Query, str | None]] = [
    # (name, validly signed query, None if it must be answered else the reason it must name)
    ("limit-0-is-the-default", _query(limit=0), None),
    ("limit-100", _query(limit=100), None),
    ("limit-101", _query(limit=101), "limit must be between 1 and 100"),
    ("limit-max-uint32", _query(limit=2**32 - 1), "limit must be between 1 and 100"),
    ("no-criteria", search_pb2.Query(limit=5), "give at least one of"),
    ("whitespace-only", search_pb2.Query(text=" \t\n", name="  "), "give at least one of"),
    ("unknown-type", _query(types=[4242]), "unknown record type 4242"),
    ("unspecified-type", _query(types=[0]), "record type is unspecified"),
    ("duplicate-types", _query(types=[1] * 20), "more than 10 record types"),
    ("unknown-handling", _query(handling=[77]), "unknown handling code 77"),
    ("unknown-selector-kind", _query(selectors=[_selector(999, "x")]), "selector kind 999"),
    ("bad-email", _query(selectors=[_selector(EMAIL, "@@")]), "selectors[0] (email)"),
    ("long-selector", _query(selectors=[_selector(EMAIL, "a" * 600)]), "longer than 512"),
    ("long-text", _query(text="x" * 1001), "text is longer than 1000"),
    ("long-record-id", _query(record_ids=["r" * 129]), "longer than 128 characters"),
    ("reversed-dates", _query(created_from=_at(2025), created_to=_at(2024)), "created_from"),
    ("year-1-to-9999", _query(created_from=_at(1), created_to=_at(9999)), None),
    ("control-characters", _query(text="\x00\x01\x1b[31m\u202e\ufeff"), None),
    ("query-operators-only", _query(text='"" - | * ( ) ~ + \\'), None),
    ("odd-record-ids", _query(text="", record_ids=["*", "../x", "\x00", "a" * 128]), None),
    ("emoji-name", _query(text="", name="\U0001f600" * 50), None),
]


@pytest.mark.parametrize(
    ("query", "reason"), [pytest.param(q, r, id=n) for n, q, r in WRONG_QUERIES]
)
def test_wrong_field_values_in_signed_queries(
    fuzzed: Fuzzed, query: search_pb2.Query, reason: str | None
) -> None:
    code, details = fuzzed.expect(fuzzed.request(query), ok=reason is None)
    if reason is not None:
        assert code == grpc.StatusCode.INVALID_ARGUMENT and reason in details, details


WRONG_CONTEXTS: list[tuple[str, Callable[[Fuzzed], bytes], grpc.StatusCode, str]] = [
    ("no-officer", lambda f: f.request(officer=" "), grpc.StatusCode.PERMISSION_DENIED, "officer"),
    ("no-purpose", lambda f: f.request(purpose=""), grpc.StatusCode.PERMISSION_DENIED, "purpose"),
    ("no-case", lambda f: f.request(case="\t"), grpc.StatusCode.PERMISSION_DENIED, "case"),
    ("short-nonce", lambda f: f.request(nonce=b"x"), grpc.StatusCode.UNAUTHENTICATED, "nonce"),
    (
        "long-validity",
        lambda f: f.request(validity_s=10**6),
        grpc.StatusCode.UNAUTHENTICATED,
        "validity",
    ),
    (
        "negative-validity",
        lambda f: f.request(validity_s=-5),
        grpc.StatusCode.UNAUTHENTICATED,
        "validity",
    ),
    (
        "from-the-future",
        lambda f: f.request(created=4e9),
        grpc.StatusCode.UNAUTHENTICATED,
        "not yet valid",
    ),
    ("from-1970", lambda f: f.request(created=0), grpc.StatusCode.UNAUTHENTICATED, "expired"),
    (
        "to-another-node",
        lambda f: _other_audience(f),
        grpc.StatusCode.PERMISSION_DENIED,
        "addressed to",
    ),
    (
        "revoked-member",
        lambda f: _from(f, "gone"),
        grpc.StatusCode.PERMISSION_DENIED,
        "no longer a member",
    ),
    ("stranger", lambda f: _stranger(f), grpc.StatusCode.UNAUTHENTICATED, "unknown agency"),
    ("forged", lambda f: _forged(f), grpc.StatusCode.UNAUTHENTICATED, "bad signature"),
    (
        "huge-timestamp",
        lambda f: _huge_timestamp(f),
        grpc.StatusCode.UNAUTHENTICATED,
        "cannot be verified",
    ),
]


def _other_audience(f: Fuzzed) -> bytes:
    return signed(f.fed, "asker", "gone", build_query(text="x")).SerializeToString()


def _from(f: Fuzzed, agency: str) -> bytes:
    return signed(f.fed, agency, NODE, build_query(text="x")).SerializeToString()


def _stranger(f: Fuzzed) -> bytes:
    request = signed(f.fed, "asker", NODE, build_query(text="x"))
    request.context.requester_agency = "stranger\x00\u202e" + "s" * 500
    sign_request(request, generate_private_key())
    return request.SerializeToString()


def _forged(f: Fuzzed) -> bytes:
    request = signed(f.fed, "asker", NODE, build_query(text="x"))
    sign_request(request, generate_private_key())
    return request.SerializeToString()


def _huge_timestamp(f: Fuzzed) -> bytes:
    request = signed(f.fed, "asker", NODE, build_query(text="x"))
    request.context.expires.seconds = 2**62  # no signature can cover it: it has no JSON form
    return request.SerializeToString()


@pytest.mark.parametrize(
    ("make", "code", "reason"), [pytest.param(m, c, r, id=n) for n, m, c, r in WRONG_CONTEXTS]
)
def test_wrong_context_values_are_refused_before_any_search(
    fuzzed: Fuzzed, make: Callable[[Fuzzed], bytes], code: grpc.StatusCode, reason: str
) -> None:
    got, details = fuzzed.expect(make(fuzzed), ok=False)
    assert got == code and reason in details, details


def test_the_node_is_still_healthy_and_kept_its_counts(fuzzed: Fuzzed) -> None:
    fuzzed.expect(fuzzed.request(), ok=True)
    health = health_pb2_grpc.HealthStub(fuzzed.channel).Check(
        health_pb2.HealthCheckRequest(service="cets.v1.SearchNode"), timeout=5
    )
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    assert fuzzed.node.searches == fuzzed.answered > 0
    errors = [r for r in fuzzed.log.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    for record in fuzzed.log.records:  # the query's words never reach the ordinary log
        assert SECRET not in record.getMessage()
        assert all(SECRET not in str(value) for value in record.__dict__.values())
