"""End to end on loopback: federation services fan out signed queries to real nodes on a real
OpenSearch; each node applies its own sharing policy; failures become per-agency statuses."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from cets.common.audit import read_entries, verify
from cets.common.keys import load_private_key
from cets.common.membership import Role
from cets.common.signing import RequestSigner
from cets.core.display import build_query
from cets.demo.local import AgencySpec, LocalFederation, build_local_federation
from cets.v1 import federation_pb2, federation_pb2_grpc, search_pb2, search_pb2_grpc
from helpers import LyingNode, SilentServer
from stacks import local_stack

pytestmark = pytest.mark.opensearch

EMAIL_FORMS = {
    "tps": "Mark.Matthews9118@gmail.com",
    "rcmp": "markmatthews9118+x@googlemail.com",
    "nca": "MARK.MATTHEWS9118@gmail.com",
}
RCMP_POLICY = """
contact = "RCMP National Child Exploitation Crime Centre"
[defaults]
member = "summary"
coordinator = "hit"
[[rule]]
handling = ["red"]
level = "deny"
[[rule]]
agencies = ["tps"]
level = "full"
"""
HIT_ONLY = 'contact = "NCA CEOP Command"\n[defaults]\nmember = "hit"\ncoordinator = "hit"\n'
OPEN = 'contact = "{name}"\n[defaults]\nmember = "full"\ncoordinator = "summary"\n'
CODE = search_pb2.AgencyStatus


def records(agency: str) -> list[dict[str, object]]:
    email = EMAIL_FORMS[agency]
    return [
        {
            "id": f"{agency}-p1",
            "type": "person",
            "name": "Mark Matthews",
            "emails": [email],
            "created": "2025-01-01",
        },
        {
            "id": f"{agency}-t1",
            "type": "tip",
            "text": f"Account {email} shared a hosting link",
            "emails": [email],
            "created": "2025-02-01",
        },
        {
            "id": f"{agency}-red",
            "type": "case_note",
            "handling": "red",
            "text": f"Undercover contact with {email}; do not disclose",
            "created": "2025-03-01",
        },
        {
            "id": f"{agency}-other",
            "type": "chat_message",
            "sender": "someone_else",
            "text": "nothing to see",
            "created": "2025-03-02",
        },
    ]


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> LocalFederation:
    specs = [
        AgencySpec("tps", "Toronto Police Service", "CA", policy=OPEN),
        AgencySpec("rcmp", "Royal Canadian Mounted Police", "CA", policy=RCMP_POLICY),
        AgencySpec("nca", "National Crime Agency", "GB", policy=HIT_ONLY),
        AgencySpec("icse", "Coordinator", "FR", roles=frozenset({Role.COORDINATOR})),
        AgencySpec("down", "Agency whose node is stopped"),
        AgencySpec("slow", "Agency whose node hangs"),
        AgencySpec("liar", "Agency whose node answers garbage"),
        AgencySpec("forger", "Agency whose answers are signed by another key"),
        AgencySpec("gone", "Revoked agency"),
    ]
    return build_local_federation(tmp_path_factory.mktemp("e2e"), specs, revoked=["gone"])


@pytest.fixture(scope="module")
def running(
    fed: LocalFederation, opensearch_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Three real nodes, three misbehaving peers, and federation services for tps, icse, gone."""
    data = tmp_path_factory.mktemp("data")
    with local_stack(opensearch_url, data, fed, index_prefix="e2e") as stack:
        stack.ingest({agency_id: records(agency_id) for agency_id in ("tps", "rcmp", "nca")})
        stack.start_nodes(["tps", "rcmp", "nca"])
        stack.enter_context(SilentServer(fed.agency("slow").node_port))
        stack.enter_context(LyingNode(fed.agency("liar").node_port, "liar", "garbage"))
        stack.enter_context(LyingNode(fed.agency("forger").node_port, "forger", "forged"))
        yield {a: stack.start_federation(a).target for a in ("tps", "icse", "gone")}


def federated(
    target: str,
    query: search_pb2.Query,
    *,
    timeout: float = 2.0,
    purpose: str = "online luring investigation",
    targets: list[str] | None = None,
) -> federation_pb2.FederatedSearchResponse:
    with grpc.insecure_channel(target) as channel:
        stub = federation_pb2_grpc.FederationStub(channel)
        request = federation_pb2.FederatedSearchRequest(
            query=query,
            officer_id="det-4521",
            purpose=purpose,
            case_reference="TPS-2026-00042",
            targets=targets or [],
        )
        response: federation_pb2.FederatedSearchResponse = stub.Search(request, timeout=timeout + 1)
        return response


def by_agency(
    response: federation_pb2.FederatedSearchResponse,
) -> dict[str, federation_pb2.AgencyAnswer]:
    return {a.status.agency: a for a in response.answers}


QUERY = build_query(selectors=["email:mark.matthews9118@gmail.com"], limit=10)


def test_every_member_answers_or_gets_a_status_within_the_deadline(running: dict[str, str]) -> None:
    started = time.monotonic()
    response = federated(running["tps"], QUERY, timeout=2.0)
    elapsed = time.monotonic() - started

    answers = by_agency(response)
    assert set(answers) == {"tps", "rcmp", "nca", "down", "slow", "liar", "forger"}
    codes = {agency: a.status.code for agency, a in answers.items()}
    assert codes == {
        "tps": CODE.CODE_OK,
        "rcmp": CODE.CODE_OK,
        "nca": CODE.CODE_OK,
        "down": CODE.CODE_UNAVAILABLE,
        "slow": CODE.CODE_TIMEOUT,
        "liar": CODE.CODE_ERROR,
        "forger": CODE.CODE_ERROR,
    }
    assert "bad answer signature" in answers["forger"].status.reason
    assert elapsed < 3.0  # one deadline for all: the hanging peer did not hold the others
    for agency in ("tps", "rcmp", "nca", "down", "liar", "forger"):
        assert answers[agency].status.latency_ms < 1500, agency  # nobody waited for "slow"


def test_each_node_applies_its_own_policy(running: dict[str, str]) -> None:
    answers = by_agency(federated(running["tps"], QUERY))

    tps = answers["tps"].response  # open policy: full, including its own red note
    assert tps.disclosure == search_pb2.DISCLOSURE_LEVEL_FULL
    assert {h.record_id for h in tps.hits} == {"tps-p1", "tps-t1", "tps-red"}

    rcmp = answers["rcmp"].response  # full for tps, but red records denied: not even counted
    assert {h.record_id for h in rcmp.hits} == {"rcmp-p1", "rcmp-t1"}
    assert rcmp.total_hits == 2
    assert all(h.record.WhichOneof("body") for h in rcmp.hits)

    nca = answers["nca"].response  # hit/no-hit: how many, and nothing else
    assert nca.disclosure == search_pb2.DISCLOSURE_LEVEL_HIT
    assert list(nca.hits) == [] and nca.withheld_hits == 3 and nca.total_hits == 3
    released = nca.SerializeToString()
    for secret in (b"Matthews", b"MATTHEWS", b"nca-p1", b"hosting", b"Undercover"):
        assert secret not in released
    assert nca.contact == "NCA CEOP Command"


def test_a_count_only_answer_cannot_be_narrowed_by_filters_or_text(
    running: dict[str, str],
) -> None:
    """At hit level a partner learns how many records carry the selectors it asked about,
    whatever else it adds: types, a date window or words cannot bisect a record's type,
    creation time or contents out of the count."""
    narrowed = [
        build_query(selectors=["email:mark.matthews9118@gmail.com"], types=["chat_message"]),
        build_query(selectors=["email:mark.matthews9118@gmail.com"], text="nothing"),
        build_query(selectors=["email:mark.matthews9118@gmail.com"], types=["person"]),
    ]
    window = build_query(selectors=["email:mark.matthews9118@gmail.com"])
    window.created_from.FromJsonString("2025-01-01T00:00:00Z")
    window.created_to.FromJsonString("2025-01-02T00:00:00Z")
    narrowed.append(window)
    for query in narrowed:
        nca = by_agency(federated(running["tps"], query, targets=["nca"]))["nca"].response
        assert (list(nca.hits), nca.withheld_hits) == ([], 3), query


def test_a_coordinator_gets_what_each_policy_gives_coordinators(running: dict[str, str]) -> None:
    answers = by_agency(federated(running["icse"], QUERY))
    assert "icse" not in answers  # a coordinator-only entry holds no records

    tps = answers["tps"].response  # summary: type, dates, matched selectors, contact
    assert tps.disclosure == search_pb2.DISCLOSURE_LEVEL_SUMMARY
    assert tps.hits and tps.contact == "Toronto Police Service"
    for hit in tps.hits:
        assert hit.disclosure == search_pb2.DISCLOSURE_LEVEL_SUMMARY
        assert not hit.HasField("record") and not hit.title and not hit.highlights
        assert [s.value for s in hit.matched_selectors] == ["markmatthews9118@gmail.com"]

    rcmp = answers["rcmp"].response  # coordinators: hit/no-hit
    assert rcmp.disclosure == search_pb2.DISCLOSURE_LEVEL_HIT
    assert not rcmp.hits and rcmp.withheld_hits == 2


def test_a_revoked_agency_is_refused_everywhere(
    running: dict[str, str], fed: LocalFederation
) -> None:
    answers = by_agency(federated(running["gone"], QUERY, targets=["tps", "rcmp", "nca"]))
    for agency in ("tps", "rcmp", "nca"):
        status = answers[agency].status
        assert status.code == CODE.CODE_REJECTED
        assert "no longer a member" in status.reason
    # the refusal is audited, but a refused request's query is kept only as size and digest
    log = fed.agency("tps").directory / "audit" / "node.log"
    refused = [e.event for e in read_entries(log) if e.event["requester"] == "gone"]
    assert refused and all(e["outcome"] == "permission_denied" for e in refused)
    assert all("query" not in e and len(e["query_sha256"]) == 64 for e in refused)


def test_records_shared_only_in_summary_or_as_a_count_cannot_be_probed_by_text(
    running: dict[str, str],
) -> None:
    """Free text or a name finds only what is released in full: a partner given summaries or
    counts learns only whether an agency holds an identifier it already has."""
    text = build_query(text="hosting link")
    as_member = by_agency(federated(running["tps"], text, targets=["rcmp", "nca"]))
    assert as_member["rcmp"].response.hits  # full records for tps: text works
    nca = as_member["nca"].response  # hit-only: nothing to count from free text
    assert (nca.total_hits, nca.withheld_hits, list(nca.hits)) == (0, 0, [])
    as_coordinator = by_agency(federated(running["icse"], text, targets=["tps", "rcmp"]))
    for agency in ("tps", "rcmp"):
        reply = as_coordinator[agency].response
        assert (reply.total_hits, reply.withheld_hits, list(reply.hits)) == (0, 0, []), agency


def test_chosen_targets_only(running: dict[str, str]) -> None:
    response = federated(running["tps"], QUERY, targets=["rcmp"])
    assert [a.status.agency for a in response.answers] == ["rcmp"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"purpose": " "}, "purpose is required"),
        ({"targets": ["interpol-x"]}, "unknown agency 'interpol-x'"),
        ({"targets": ["gone"]}, "no longer a member"),
    ],
)
def test_bad_federated_requests_are_invalid_argument(
    running: dict[str, str], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        federated(running["tps"], QUERY, **kwargs)  # type: ignore[arg-type]
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in info.value.details()


@pytest.mark.parametrize(("seconds", "nanos"), [(10**13, 0), (-(10**12), 0), (1, -5)])
def test_a_time_out_of_range_is_invalid_argument(
    running: dict[str, str], seconds: int, nanos: int
) -> None:
    query = build_query(text="hosting")
    query.created_from.seconds, query.created_from.nanos = seconds, nanos
    with pytest.raises(grpc.RpcError) as info:
        federated(running["tps"], query)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "created_from is not a time" in info.value.details()


def test_a_bad_query_is_refused_before_anything_is_sent(running: dict[str, str]) -> None:
    with pytest.raises(grpc.RpcError) as info:
        federated(running["tps"], build_query(selectors=["email:not-an-address"]))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "selectors[0] (email)" in info.value.details()


@pytest.mark.parametrize(
    "data", [b"\xff\xfe not a protobuf message", b"\x0a\x05abc", b"\x08" + b"\xff" * 11]
)
def test_bytes_that_are_no_request_are_invalid_argument(
    running: dict[str, str], data: bytes
) -> None:
    with grpc.insecure_channel(running["tps"]) as channel:
        search = channel.unary_unary("/cets.v1.Federation/Search")
        with pytest.raises(grpc.RpcError) as info:
            search(data, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "its bytes do not parse" in info.value.details()


def test_both_ends_keep_a_verifiable_audit_trail(
    running: dict[str, str], fed: LocalFederation
) -> None:
    federated(running["tps"], QUERY, purpose="audit trail check", targets=["rcmp", "nca"])

    sent_log = fed.agency("tps").directory / "audit" / "federation.log"
    entries = [e.event for e in read_entries(sent_log)]
    sent = [
        e for e in entries if e["kind"] == "federation.sent" and e["purpose"] == "audit trail check"
    ]
    assert len(sent) == 1
    nonces = {t["agency"]: t["nonce"] for t in sent[0]["targets"]}
    answered = next(
        e
        for e in entries
        if e["kind"] == "federation.answered"
        and {a["nonce"] for a in e["answers"]} == set(nonces.values())
    )
    assert {a["agency"]: a["status"] for a in answered["answers"]} == {"rcmp": "ok", "nca": "ok"}

    for agency, level in (("rcmp", "full"), ("nca", "hit")):
        log = fed.agency(agency).directory / "audit" / "node.log"
        received = [e.event for e in read_entries(log) if e.event.get("nonce") == nonces[agency]]
        assert len(received) == 1
        entry = received[0]
        assert (entry["requester"], entry["officer"], entry["purpose"], entry["case"]) == (
            "tps",
            "det-4521",
            "audit trail check",
            "TPS-2026-00042",
        )
        assert entry["verified"] is True and entry["outcome"] == "ok" and entry["level"] == level
        assert entry["audiences"] == 2 and entry["audience"] == ""  # one signature for both
        assert entry["query"]["selectors"][0]["value"] == "markmatthews9118@gmail.com"
        # both ends name the same signed answer
        got = next(a for a in answered["answers"] if a["agency"] == agency)
        assert len(got["answer_sha256"]) == 64 and got["answer_sha256"] == entry["answer_sha256"]

    for log in Path(fed.root).glob("*/audit/*.log"):
        report = verify(log)
        assert report.ok, (log, report.problems)


def test_a_fan_out_copy_is_answered_only_where_it_was_sent(
    running: dict[str, str], fed: LocalFederation
) -> None:
    """One signature covers a fan-out to rcmp and nca: rcmp cannot pass its copy on to nca
    (nca refuses it), and nca still answers its own copy afterwards."""
    to_rcmp, to_nca = RequestSigner(
        QUERY, load_private_key(fed.agency("tps").directory / "agency.key")
    ).fan_out(
        requester="tps",
        audiences=["rcmp", "nca"],
        officer_id="det-4521",
        purpose="forwarding check",
        case_reference="TPS-2026-00042",
        created=time.time(),
        validity_s=30,
    )
    assert to_rcmp.signature == to_nca.signature
    with grpc.insecure_channel(fed.agency("nca").node_target) as channel:
        stub = search_pb2_grpc.SearchNodeStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.Search(to_rcmp, timeout=10)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "not addressed to 'nca'" in info.value.details()
        signed = stub.Search(to_nca, timeout=10)
    answer = search_pb2.SearchResponse.FromString(signed.answer)
    assert answer.agency == "nca" and answer.request_nonce == to_nca.context.nonce
    assert answer.withheld_hits == 3 and not answer.hits  # nca shares only a count with tps


def test_officers_can_search_from_the_command_line(running: dict[str, str]) -> None:
    from click.testing import CliRunner

    from cets.cli import cli

    result = CliRunner().invoke(
        cli,
        [
            "federation",
            "search",
            running["tps"],
            "--selector",
            "email:Mark.Matthews9118@gmail.com",
            "--officer",
            "det-4521",
            "--purpose",
            "cli check",
            "--case",
            "TPS-2026-00042",
            "--agency",
            "rcmp",
            "--agency",
            "nca",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "rcmp     ok" in result.stdout and "full" in result.stdout
    assert "nca      ok" in result.stdout and "disclosed only as a count" in result.stdout


def test_mutual_tls_between_federation_and_node(
    opensearch_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A node that requires client certificates answers a federation service that has one,
    and is unavailable to one that has none."""
    from cets.common.tls import ClientTls, ServerTls, issue, make_ca

    root = tmp_path_factory.mktemp("tls")
    specs = [AgencySpec("tls-a", "A", "CA"), AgencySpec("tls-b", "B", "CA")]
    with local_stack(opensearch_url, root, specs, index_prefix="tls") as stack:
        ca = make_ca("test CA")
        ca.write(root / "ca.crt", root / "ca.key")
        for agency in ("tls-a", "tls-b"):
            pair = issue(ca, agency, hosts=["127.0.0.1", "localhost"], server=True, client=True)
            pair.write(root / f"{agency}.crt", root / f"{agency}.key")
        # the node's client CAs as one bundle: the partners' CA and an agency's internal one
        internal = make_ca("internal CA")
        internal.write(root / "internal.crt", root / "internal.key")
        inside = issue(internal, "gateway", hosts=[], server=False, client=True)
        inside.write(root / "inside.crt", root / "inside.key")
        bundle = root / "client-cas.crt"
        bundle.write_bytes((root / "ca.crt").read_bytes() + (root / "internal.crt").read_bytes())
        stack.start_node(
            "tls-b", tls=ServerTls(root / "tls-b.crt", root / "tls-b.key", client_ca=bundle)
        )
        good = stack.start_federation(
            "tls-a", peer_tls=ClientTls(root / "ca.crt", root / "tls-a.crt", root / "tls-a.key")
        )
        bad = stack.start_federation(
            "tls-a",
            peer_tls=ClientTls(root / "ca.crt"),
            listen="127.0.0.1:0",
            audit_log=root / "federation-b.log",
        )
        by_internal = stack.start_federation(
            "tls-a",
            peer_tls=ClientTls(root / "ca.crt", root / "inside.crt", root / "inside.key"),
            listen="127.0.0.1:0",
            audit_log=root / "federation-c.log",
        )
        ok = by_agency(federated(good.target, QUERY, targets=["tls-b"]))["tls-b"].status
        refused = by_agency(federated(bad.target, QUERY, targets=["tls-b"]))["tls-b"].status
        inner = by_agency(federated(by_internal.target, QUERY, targets=["tls-b"]))["tls-b"]
    assert ok.code == CODE.CODE_OK, ok.reason
    assert refused.code == CODE.CODE_UNAVAILABLE
    # a certificate from either CA of the bundle is let in; what it may do is still decided by
    # the signed request (here tls-a's, as from any of its services)
    assert inner.status.code == CODE.CODE_OK, inner.status.reason
