"""Staged release through the gateways' REST APIs, three agencies on a real OpenSearch: an
officer at tps finds that nca holds something (a count only), asks for it under a case; nca's
administrator approves it at summary in nca's gateway; the decision reaches tps's gateway on
its collection interval; the officer fetches the record under the approval, is refused any
other record, and is refused the record once the approval expires. A denial's reason reaches
the officer. A revoked partner's request, a forged decision and a replayed approval are
refused, and every step is in the audit logs at both ends. Real nodes, federation services and
gateways with their case stores; only the lying owner of the last test is a stand-in."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from httpx import Client as Http

from cets.common.audit import read_entries
from cets.common.keys import load_private_key, write_public_key
from cets.common.signing import sign_answer
from cets.demo.local import AgencySpec
from cets.gateway.cases.store import CaseStore, connect, migrate
from cets.search.releases import ReleaseNames
from cets.search.store import connect as opensearch
from cets.v1 import releases_pb2, releases_pb2_grpc, search_pb2
from helpers import ServedApp
from stacks import OPEN, Stack, gateway_app, local_stack

pytestmark = pytest.mark.opensearch

HIT_BUT_RED = """contact = "NCA CEOP Command"
[defaults]
member = "hit"
coordinator = "hit"
[[rule]]
handling = ["red"]
level = "deny"
"""
SPECS = (
    AgencySpec("tps", "Toronto Police Service", "CA", policy=OPEN),
    AgencySpec("rcmp", "Royal Canadian Mounted Police", "CA", policy=OPEN),
    AgencySpec("nca", "National Crime Agency", "GB", policy=HIT_BUT_RED),
)
EMAIL = "dale.angel77@gmail.com"
NCA_RECORDS = [
    {
        "id": "nca-tip",
        "type": "tip",
        "text": f"Report naming {EMAIL}",
        "emails": [EMAIL],
        "created": "2026-11-30",
    },
    {
        "id": "nca-other",
        "type": "tip",
        "text": "A report on someone else",
        "emails": ["someone.else@example.org"],
        "created": "2026-11-28",
    },
    {
        "id": "nca-red",
        "type": "tip",
        "handling": "red",
        "text": "covert source",
        "emails": ["source@example.org"],
        "created": "2026-11-29",
    },
]
CASE = "TPS-2026-0042"
PURPOSE = "identify the account holder"


@dataclass
class Gateways:
    stack: Stack
    tps: Http
    nca: Http
    rcmp: Http

    def auth(self, officer: str = "det-4521", agency: str = "tps", role: str = "officer") -> Any:
        return {
            "Authorization": f"Bearer {self.stack.token(officer=officer, agency=agency, roles=[role])}"
        }

    def admin(self) -> Any:
        return self.auth("admin-1", "nca", "admin")

    def log(self, name: str) -> list[dict[str, Any]]:
        return [e.event for e in read_entries(self.stack.root / f"{name}.log")]

    def node_log(self, agency: str) -> list[dict[str, Any]]:
        path = self.stack.fed.agency(agency).directory / "audit" / "node.log"
        return [e.event for e in read_entries(path)]

    def ask(self, *, officer: str = "det-4521", **body: Any) -> Any:
        values = {"agency": "nca", "purpose": PURPOSE, "case": CASE, **body}
        return self.tps.post("/v1/releases", json=values, headers=self.auth(officer))

    def fetch(self, record_id: str, release_id: str | None) -> Any:
        params = {"purpose": PURPOSE, "case_reference": CASE}
        if release_id:
            params["release_id"] = release_id
        return self.tps.get(f"/v1/records/nca/{record_id}", params=params, headers=self.auth())

    def decided(self, release_id: str) -> dict[str, Any]:
        """The request at tps's gateway, once the owner's decision has been collected."""
        give_up = time.monotonic() + 30
        while True:
            found = self.tps.get(f"/v1/releases/nca/{release_id}", headers=self.auth())
            assert found.status_code == 200, found.text
            if found.json()["status"] != "pending" or time.monotonic() > give_up:
                return dict(found.json())
            time.sleep(0.3)


def _store(root: Path, name: str) -> CaseStore:
    store = CaseStore(connect(f"sqlite:///{root / f'{name}-cases.db'}"))
    migrate(store.engine)
    return store


@pytest.fixture(scope="module", name="gw")
def gateways(opensearch_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateways]:
    root = tmp_path_factory.mktemp("releases-gw")
    with local_stack(
        opensearch_url, root, SPECS, index_prefix="relgw", revoked=("rcmp",), drop_indices=True
    ) as stack:
        officers = root / "officers.pub"  # the key the stack's tokens verify with
        write_public_key(officers, stack.issuer)
        stack.ingest({"nca": NCA_RECORDS})
        for agency in ("tps", "rcmp", "nca"):
            stack.start_node(agency, officer_key_file=officers)
            stack.start_federation(agency)

        def gateway(agency: str, **options: Any) -> Http:
            app = gateway_app(
                agency,
                stack.issuer,
                stack.federations[agency],
                root / f"{agency}-gateway.log",
                rate_limit="1000/minute",
                cases=_store(root, agency),
                alert_poll_s=0.5,
                **options,
            )
            return stack.enter_context(ServedApp(app))

        tps = gateway("tps")
        nca = gateway("nca", node_target=stack.fed.agency("nca").node_target)
        rcmp = gateway("rcmp")
        opened = tps.post(
            "/v1/cases", json={"reference": CASE, "title": "Dale Angelo"}, headers=_auth(stack)
        )
        assert opened.status_code == 201, opened.text
        yield Gateways(stack, tps, nca, rcmp)


def _auth(stack: Stack, officer: str = "det-4521") -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.token(officer=officer, roles=['officer'])}"}


def _expire(stack: Stack, release_id: str) -> None:
    client = opensearch(stack.opensearch_url)
    try:
        client.update(
            index=ReleaseNames(stack.node_config("nca").index).releases,
            id=release_id,
            refresh="wait_for",
            body={"doc": {"expires": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()}},
        )
    finally:
        client.close()


def test_a_counted_record_is_requested_approved_fetched_and_expires(gw: Gateways) -> None:
    searched = gw.tps.post(
        "/v1/search",
        json={
            "query": {"selectors": [f"email:{EMAIL}"]},
            "purpose": PURPOSE,
            "case_reference": CASE,
            "targets": ["nca"],
        },
        headers=gw.auth(),
    )
    assert searched.status_code == 200, searched.text
    [nca] = searched.json()["agencies"]
    assert (nca["withheld_hits"], nca["disclosure"], searched.json()["results"]) == (1, "hit", [])

    asked = gw.ask(selectors=[f"email:{EMAIL}"], message="Our suspect; the reporting details?")
    assert asked.status_code == 201, asked.text
    release = asked.json()
    assert (release["status"], release["case"], release["record_ids"]) == ("pending", CASE, [])
    release_id = release["release_id"]
    assert gw.tps.get("/v1/releases", headers=gw.auth()).json()[0]["release_id"] == release_id

    # nca's administrator sees it in nca's gateway; an officer without the role does not
    assert gw.nca.get("/v1/admin/releases", headers=gw.auth("det-9", "nca")).status_code == 403
    pending = gw.nca.get("/v1/admin/releases", params={"status": "pending"}, headers=gw.admin())
    assert pending.status_code == 200, pending.text
    [held] = [r for r in pending.json() if r["release_id"] == release_id]
    assert (held["requester"], held["officer"], held["record_ids"], held["case_reference"]) == (
        "tps",
        "det-4521",
        ["nca-tip"],
        CASE,
    )
    assert held["message"] == "Our suspect; the reporting details?"
    approved = gw.nca.post(
        f"/v1/admin/releases/{release_id}/approve",
        json={"level": "summary", "days": 1},
        headers=gw.admin(),
    )
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", "admin-1")
    again = gw.nca.post(
        f"/v1/admin/releases/{release_id}/deny", json={"reason": "late"}, headers=gw.admin()
    )
    assert again.status_code == 409 and "already approved" in again.json()["error"]

    decision = gw.decided(release_id)
    assert (decision["status"], decision["level"], decision["record_ids"]) == (
        "approved",
        "summary",
        ["nca-tip"],
    )
    assert decision["expires"] and not decision["expired"]
    case = gw.tps.get(f"/v1/cases/{CASE}", headers=gw.auth()).json()
    on_case = [(e["what"], e["detail"].get("release")) for e in case["timeline"]]
    assert ("release requested", release_id) in on_case
    assert ("release approved", release_id) in on_case

    assert gw.fetch("nca-tip", None).status_code == 404  # without the release: a count only
    fetched = gw.fetch("nca-tip", release_id)
    assert fetched.status_code == 200, fetched.text
    assert (fetched.json()["record_id"], fetched.json()["disclosure"]) == ("nca-tip", "summary")
    assert fetched.json()["record"] is None  # summary: no record body

    other = gw.fetch("nca-other", release_id)  # another record under the approval
    assert other.status_code == 403 and "does not cover" in other.json()["error"]

    _expire(gw.stack, release_id)  # the owner's copy of the approval has expired
    expired = gw.fetch("nca-tip", release_id)
    assert expired.status_code == 403 and "does not cover" in expired.json()["error"]

    tps_log = gw.log("tps-gateway")
    fetches = [e for e in tps_log if e["kind"] == "gateway.release" and e["action"] == "fetch"]
    assert [e["outcome"] for e in fetches] == ["ok", "refused", "refused by the owner"]
    assert [e["record"] for e in fetches] == ["nca-tip", "nca-other", "nca-tip"]
    actions = [e["action"] for e in tps_log if e["kind"] == "gateway.release"]
    assert actions[:2] == ["requested", "decision"]
    nca_gateway = [e["action"] for e in gw.log("nca-gateway") if e["kind"] == "gateway.release"]
    assert {"admin list", "admin approve", "admin approve refused"} <= set(nca_gateway) or {
        "admin list",
        "admin approve",
        "admin deny refused",
    } <= set(nca_gateway)
    node = gw.node_log("nca")
    assert any(e["kind"] == "node.release" and e.get("outcome") == "ok" for e in node)
    admin = [e for e in node if e["kind"] == "node.release-admin"]
    assert {(e["action"], e["outcome"]) for e in admin} >= {
        ("list", "ok"),
        ("approve", "ok"),
        ("deny", "failed_precondition"),
    }
    under = [e for e in node if e["kind"] == "node.search" and e.get("release") == release_id]
    assert [e["outcome"] for e in under] == ["ok", "permission_denied"]


def test_a_denial_with_its_reason_reaches_the_officer(gw: Gateways) -> None:
    asked = gw.ask(selectors=[f"email:{EMAIL}"])
    assert asked.status_code == 201, asked.text
    release_id = asked.json()["release_id"]
    reason = "Active covert operation; call the duty officer."
    denied = gw.nca.post(
        f"/v1/admin/releases/{release_id}/deny", json={"reason": reason}, headers=gw.admin()
    )
    assert denied.status_code == 200, denied.text
    decision = gw.decided(release_id)
    assert (decision["status"], decision["reason"], decision["record_ids"]) == (
        "denied",
        reason,
        [],
    )
    refused = gw.fetch("nca-tip", release_id)
    assert refused.status_code == 403 and "denied" in refused.json()["error"]
    entries = [e for e in gw.log("tps-gateway") if e.get("release") == release_id]
    assert [e["action"] for e in entries] == ["requested", "decision", "fetch"]
    assert entries[1]["reason"] == reason


def test_bad_release_requests_get_clear_errors(gw: Gateways) -> None:
    # a case of the case store the officer may not see: as if it did not exist
    assert gw.ask(officer="det-7", selectors=[f"email:{EMAIL}"]).status_code == 404
    assert gw.ask(selectors=[f"email:{EMAIL}"], message="x" * 1001).status_code == 422
    assert gw.ask(record_id="nca-tip", selectors=[f"email:{EMAIL}"]).status_code == 422
    assert gw.ask(selectors=["nonsense"]).status_code == 400
    # a record the owner does not hold, and one its policy denies outright, look alike
    missing, red = gw.ask(record_id="nca-nothing"), gw.ask(record_id="nca-red")
    assert missing.status_code == red.status_code == 404
    assert missing.json()["error"] == red.json()["error"]
    assert gw.tps.get("/v1/releases/nca/0123", headers=gw.auth()).status_code == 404
    unknown = gw.fetch("nca-tip", "0123456789abcdef")
    assert unknown.status_code == 404 and "no release request" in unknown.json()["error"]
    # someone else's release is not yours to use
    theirs = gw.ask(selectors=[f"email:{EMAIL}"]).json()["release_id"]
    other = gw.tps.get(
        "/v1/records/nca/nca-tip",
        params={"purpose": PURPOSE, "case_reference": CASE, "release_id": theirs},
        headers=gw.auth("det-7"),
    )
    assert other.status_code == 404
    no_admin = gw.nca.post(
        f"/v1/admin/releases/{theirs}/approve", json={"level": "hit"}, headers=gw.admin()
    )
    assert no_admin.status_code == 422
    assert gw.nca.get("/v1/admin/releases/0123", headers=gw.admin()).status_code == 404
    # tps's gateway talks to no node of its own
    assert gw.tps.get("/v1/admin/releases", headers=gw.auth("a", "tps", "admin")).status_code == 503
    refusals = [e for e in gw.log("tps-gateway") if e.get("action") == "refused"]
    assert [e["record"] for e in refusals] == ["nca-nothing", "nca-red"]  # the owner's refusals


def test_a_revoked_partners_request_is_refused_and_audited(gw: Gateways) -> None:
    asked = gw.rcmp.post(
        "/v1/releases",
        json={
            "agency": "nca",
            "record_id": "nca-tip",
            "purpose": PURPOSE,
            "case_reference": "RCMP-1",
        },
        headers=gw.auth("cst-1", "rcmp"),
    )
    assert asked.status_code in (400, 403), asked.text
    assert "no longer a member" in asked.json()["error"]
    assert any(e.get("action") == "refused" for e in gw.log("rcmp-gateway"))


class LyingOwner:
    """Stands in for nca's node: files requests honestly (signed with nca's real key), then
    hands out an approval signed with another key (``forged``) or a genuine approval signed
    for an earlier pull (``replayed``)."""

    def __init__(self, port: int, key: Ed25519PrivateKey, behaviour: str) -> None:
        forger = Ed25519PrivateKey.generate()
        self.released: list[str] = []
        earlier: list[search_pb2.SignedAnswer] = []

        def request(data: bytes, _: Any) -> bytes:
            asked = releases_pb2.ReleaseRequest.FromString(data)
            self.released.append(f"lie{len(self.released):04d}")
            receipt = releases_pb2.ReleaseReceipt(
                agency="nca", release_id=self.released[-1], request_nonce=asked.context.nonce
            )
            return sign_answer(receipt, key).SerializeToString()

        def pull(data: bytes, _: Any) -> bytes:
            asked = releases_pb2.DecisionPullRequest.FromString(data)
            decided = [
                releases_pb2.Decision(
                    release_id=r,
                    agency="nca",
                    outcome=releases_pb2.Decision.OUTCOME_APPROVED,
                    level=search_pb2.DISCLOSURE_LEVEL_FULL,
                    record_ids=["nca-red"],
                )
                for r in self.released
            ]
            for d in decided:
                d.expires.FromDatetime(datetime.now(UTC) + timedelta(days=300))
            if behaviour == "forged":
                batch = releases_pb2.DecisionBatch(
                    agency="nca", decisions=decided, request_nonce=asked.context.nonce
                )
                return sign_answer(batch, forger).SerializeToString()
            if not earlier:  # the first pull, before any decision: the nonce to replay later
                batch = releases_pb2.DecisionBatch(
                    agency="nca", decisions=[], request_nonce=asked.context.nonce
                )
                earlier.append(sign_answer(batch, key))
                return earlier[0].SerializeToString()
            stale = releases_pb2.DecisionBatch.FromString(earlier[0].answer)
            batch = releases_pb2.DecisionBatch(
                agency="nca", decisions=decided, request_nonce=stale.request_nonce
            )
            return sign_answer(batch, key).SerializeToString()

        handler = grpc.method_handlers_generic_handler(
            "cets.v1.ReleaseNode",
            {
                "RequestRelease": grpc.unary_unary_rpc_method_handler(request),
                "PullDecisions": grpc.unary_unary_rpc_method_handler(pull),
            },
        )
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers((handler,))
        self._server.add_insecure_port(f"127.0.0.1:{port}")

    def __enter__(self) -> LyingOwner:
        self._server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop(0)


@pytest.mark.parametrize("behaviour", ["forged", "replayed"])
def test_a_forged_or_replayed_approval_is_refused_and_audited(
    opensearch_url: str, tmp_path: Path, behaviour: str
) -> None:
    with local_stack(opensearch_url, tmp_path, SPECS[::2], index_prefix="rellie") as stack:
        nca = stack.fed.agency("nca")
        liar = stack.enter_context(
            LyingOwner(nca.node_port, load_private_key(nca.directory / "agency.key"), behaviour)
        )
        stack.start_node("tps")
        stack.start_federation("tps")
        app = gateway_app(
            "tps",
            stack.issuer,
            stack.federations["tps"],
            tmp_path / "gateway.log",
            cases=_store(tmp_path, "tps"),
            alert_poll_s=0.3,
        )
        with ServedApp(app) as tps:
            me = {"Authorization": f"Bearer {stack.token(officer='det-4521')}"}
            asked = tps.post(
                "/v1/releases",
                json={
                    "agency": "nca",
                    "record_id": "nca-tip",
                    "purpose": PURPOSE,
                    "case_reference": CASE,
                },
                headers=me,
            )
            assert asked.status_code == 201, asked.text
            release_id = asked.json()["release_id"]
            assert liar.released == [release_id]
            failures: Callable[[], list[dict[str, Any]]] = lambda: [  # noqa: E731
                e.event
                for e in read_entries(tmp_path / "gateway.log")
                if e.event["kind"] == "gateway.decisions"
            ]
            give_up = time.monotonic() + 20
            while not failures() and time.monotonic() < give_up:
                time.sleep(0.2)
            [first, *_] = failures()
            why = "bad answer signature" if behaviour == "forged" else "not bound to this request"
            assert why in first["failed"]["nca"]
            still = tps.get(f"/v1/releases/nca/{release_id}", headers=me).json()
            assert (still["status"], still["record_ids"]) == ("pending", [])
            refused = tps.get(
                "/v1/records/nca/nca-red",
                params={"purpose": PURPOSE, "case_reference": CASE, "release_id": release_id},
                headers=me,
            )
            assert refused.status_code == 403 and "pending" in refused.json()["error"]
        federation = [
            answer
            for e in read_entries(stack.fed.agency("tps").directory / "audit" / "federation.log")
            if e.event["kind"] == "federation.decisions.answered"
            for answer in e.event.get("answers", [])
            if answer["agency"] == "nca"
        ]
        assert any(why in a["reason"] for a in federation)  # refused where it arrived


def test_the_owners_node_decides_only_for_its_own_administrators(gw: Gateways) -> None:
    """The node checks the administrator's token itself: the gateway (or anyone reaching the
    node) cannot list or decide without one."""
    from cets.gateway.tokens import issue_token

    stub = releases_pb2_grpc.ReleaseAdminStub(
        grpc.insecure_channel(gw.stack.fed.agency("nca").node_target)
    )
    stack = gw.stack
    for name, token, code in (
        ("none", "", grpc.StatusCode.UNAUTHENTICATED),
        ("officer", stack.token(officer="det-9", agency="nca"), grpc.StatusCode.PERMISSION_DENIED),
        (
            "another agency's admin",
            stack.token(officer="a", agency="tps", roles=["admin"]),
            grpc.StatusCode.UNAUTHENTICATED,
        ),
        (
            "forged",
            issue_token(Ed25519PrivateKey.generate(), officer="a", agency="nca", roles=["admin"]),
            grpc.StatusCode.UNAUTHENTICATED,
        ),
    ):
        metadata = (("authorization", f"Bearer {token}"),) if token else ()
        with pytest.raises(grpc.RpcError) as caught:
            stub.ListReleases(releases_pb2.HeldReleasesQuery(), metadata=metadata, timeout=10)
        assert caught.value.code() == code, name
    outcomes = [
        e["outcome"]
        for e in gw.node_log("nca")
        if e["kind"] == "node.release-admin" and e["action"] == "list"
    ]
    assert outcomes[-4:] == [
        "unauthenticated",
        "permission_denied",
        "unauthenticated",
        "unauthenticated",
    ]


RELEASE_OPERATIONS = [
    ("tps", "POST", "/v1/releases"),
    ("tps", "GET", "/v1/releases"),
    ("tps", "GET", "/v1/releases/{agency}/{release_id}"),
    ("nca", "GET", "/v1/admin/releases"),
    ("nca", "GET", "/v1/admin/releases/{release_id}"),
    ("nca", "POST", "/v1/admin/releases/{release_id}/approve"),
    ("nca", "POST", "/v1/admin/releases/{release_id}/deny"),
]


@pytest.mark.parametrize(
    ("site", "method", "path"),
    RELEASE_OPERATIONS,
    ids=[f"{m} {p}" for _, m, p in RELEASE_OPERATIONS],
)
def test_release_requests_never_break_the_gateway(
    gw: Gateways, site: str, method: str, path: str
) -> None:
    """Fuzzed from the gateway's own OpenAPI schema (last: it files requests at nca): no 5xx,
    and every status and body is one the schema declares."""
    import hypothesis
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, given
    from hypothesis import strategies as st
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    http = gw.tps if site == "tps" else gw.nca
    base_url = str(http.base_url).rstrip("/")
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", timeout=30)
    operation = schema[path][method]
    bearer = gw.auth() if site == "tps" else gw.admin()
    session = requests.Session()
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]

    @hypothesis.settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=operation.as_strategy(), data=st.data())
    def run(case: schemathesis.Case, data: st.DataObject) -> None:
        case.headers = {**(case.headers or {}), **bearer}
        if isinstance(case.body, dict) and "agency" in case.body:
            case.body["agency"] = data.draw(st.sampled_from(["nca", "tps", "nope"]))
        response = case.call(base_url=base_url, session=session, timeout=30)
        case.validate_response(response, checks=checks)

    try:
        run()
    finally:
        session.close()
