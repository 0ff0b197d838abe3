"""Staged release end to end on a real OpenSearch: a record nca released only as a count is
requested by tps, approved at summary by nca's administrator, fetched under the approval, and
refused once the approval expires; denials carry their reason; forged, replayed and foreign
requests are refused; a record that does not exist and one the policy denies look alike."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from cets.common.audit import read_entries
from cets.common.background import BackgroundService
from cets.common.keys import generate_private_key, load_private_key
from cets.common.signing import signed_request
from cets.core.disclosure import Disclosure
from cets.core.display import build_query
from cets.core.records import IngestContext
from cets.demo.local import AgencySpec, LocalFederation, build_local_federation
from cets.federation.server import FederationServer
from cets.search.background import BackgroundNode
from cets.search.ingest import ingest_file
from cets.search.releases import ReleaseNames, decide, list_releases
from cets.search.store import connect
from cets.v1 import (
    federation_pb2,
    federation_pb2_grpc,
    records_pb2,
    releases_pb2,
    releases_pb2_grpc,
    search_pb2,
)
from helpers import audited_outcomes

pytestmark = pytest.mark.opensearch

HIT_BUT_RED = """contact = "NCA CEOP Command"
[defaults]
member = "hit"
coordinator = "hit"
[[rule]]
handling = ["red"]
level = "deny"
"""
OPEN = 'contact = "{name}"\n[defaults]\nmember = "full"\ncoordinator = "summary"\n'
SPECS = (
    AgencySpec("tps", "Toronto Police Service", "CA", policy=OPEN),
    AgencySpec("nca", "National Crime Agency", "GB", policy=HIT_BUT_RED),
)
EMAIL = "dale.angel77@gmail.com"
CASE = "TPS-2026-0042"
OK = search_pb2.AgencyStatus.CODE_OK


@dataclass
class Owners:
    fed: LocalFederation
    federation: str
    prefix: str
    url: str

    def releases(self) -> releases_pb2_grpc.FederationReleasesStub:
        return releases_pb2_grpc.FederationReleasesStub(grpc.insecure_channel(self.federation))

    def search(self, query: search_pb2.Query) -> search_pb2.SearchResponse:
        stub = federation_pb2_grpc.FederationStub(grpc.insecure_channel(self.federation))
        answer = stub.Search(
            federation_pb2.FederatedSearchRequest(
                query=query,
                officer_id="det-4521",
                purpose="identify the account holder",
                case_reference=CASE,
                targets=["nca"],
            ),
            timeout=10,
        )
        [nca] = answer.answers
        return nca

    def admin(self) -> tuple[Any, ReleaseNames]:
        config = self.fed.agency("nca").node_config(self.url, index_prefix=self.prefix)
        return connect(self.url), ReleaseNames(config.index)

    def decisions(self, cursors: dict[str, str], wanted: int) -> list[releases_pb2.Decision]:
        got: list[releases_pb2.Decision] = []
        give_up = time.monotonic() + 20
        while len(got) < wanted and time.monotonic() < give_up:
            answer = self.releases().PullDecisions(
                releases_pb2.FederatedDecisionPull(cursors=cursors, targets=["nca"]), timeout=10
            )
            for part in answer.answers:
                assert part.status.code == OK, part.status
                got.extend(part.batch.decisions)
                cursors[part.status.agency] = part.batch.next_cursor
            if len(got) < wanted:
                time.sleep(0.5)
        return got


@pytest.fixture
def owners(opensearch_url: str, tmp_path: Path, agency_id: str) -> Iterator[Owners]:
    fed = build_local_federation(tmp_path / "federation", list(SPECS))
    prefix = f"r{agency_id}".replace("-", "")[:40]
    nca = fed.agency("nca")
    config = nca.node_config(opensearch_url, index_prefix=prefix)
    records = [
        {
            "id": "nca-tip",
            "type": "tip",
            "text": f"Report naming {EMAIL}",
            "emails": [EMAIL],
            "created": "2026-11-30",
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
    path = tmp_path / "nca.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    client = connect(opensearch_url)
    try:
        summary = ingest_file(
            path,
            client=client,
            names=config.index,
            ctx=IngestContext(nca.id, nca.card_key, nca.spec.region),
        )
        assert (summary.in_index, summary.rejected) == (2, 0), summary  # the red one too
    finally:
        client.close()
    with ExitStack() as stack:
        for agency in fed.agencies:
            stack.enter_context(
                BackgroundNode(agency.node_config(opensearch_url, index_prefix=prefix))
            )
        service = stack.enter_context(
            BackgroundService(lambda: FederationServer(fed.agency("tps").federation_config()))
        )
        yield Owners(fed, service.target, prefix, opensearch_url)


def _ask(owners: Owners, release: releases_pb2.Release) -> releases_pb2.FederatedReleaseResponse:
    return owners.releases().RequestRelease(
        releases_pb2.FederatedReleaseRequest(
            release=release,
            agency="nca",
            officer_id="det-4521",
            purpose="identify the account holder",
            case_reference=CASE,
        ),
        timeout=10,
    )


def _fetch(owners: Owners, release_id: str, record_ids: list[str]) -> search_pb2.SearchResponse:
    query = build_query(record_ids=record_ids)
    query.release_id = release_id
    return owners.search(query)


def test_a_counted_record_is_requested_approved_fetched_and_expires(owners: Owners) -> None:
    counted = owners.search(build_query(selectors=[f"email:{EMAIL}"]))
    assert counted.status.code == OK and counted.response.withheld_hits == 1
    assert not counted.response.hits  # hit level: no id, nothing to open

    asked = _ask(
        owners,
        releases_pb2.Release(
            selectors=[records_pb2.Selector(kind=records_pb2.SELECTOR_KIND_EMAIL, value=EMAIL)],
            message="Our suspect; we need the reporting details.",
        ),
    )
    assert asked.status.code == OK, asked.status
    release_id = asked.receipt.release_id

    client, names = owners.admin()
    try:
        [pending] = list_releases(client, names, status="pending")
        assert (pending["requester"], pending["record_ids"], pending["case_reference"]) == (
            "tps",
            ["nca-tip"],
            CASE,
        )
        decide(
            client, names, release_id, approve=True, by="admin-1", level=Disclosure.SUMMARY, days=1
        )
        with pytest.raises(Exception, match="already approved"):
            decide(client, names, release_id, approve=False, by="admin-2", reason="late")
    finally:
        client.close()

    [decision] = owners.decisions({}, wanted=1)
    assert decision.outcome == releases_pb2.Decision.OUTCOME_APPROVED
    assert list(decision.record_ids) == ["nca-tip"]
    assert decision.level == search_pb2.DISCLOSURE_LEVEL_SUMMARY

    fetched = _fetch(owners, release_id, ["nca-tip"])
    assert fetched.status.code == OK, fetched.status
    [hit] = fetched.response.hits
    assert hit.record_id == "nca-tip" and hit.disclosure == search_pb2.DISCLOSURE_LEVEL_SUMMARY
    assert not hit.HasField("record")

    # a different record under the same approval: refused
    other = _fetch(owners, release_id, ["nca-red"])
    assert other.status.code == search_pb2.AgencyStatus.CODE_REJECTED
    assert "does not cover" in other.status.reason

    # the approval expires: refused from then on
    client, names = owners.admin()
    try:
        client.update(
            index=names.releases,
            id=release_id,
            refresh="wait_for",
            body={"doc": {"expires": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()}},
        )
    finally:
        client.close()
    expired = _fetch(owners, release_id, ["nca-tip"])
    assert expired.status.code == search_pb2.AgencyStatus.CODE_REJECTED

    node_log = [
        e.event for e in read_entries(owners.fed.agency("nca").directory / "audit" / "node.log")
    ]
    assert any(e["kind"] == "node.release" and e.get("outcome") == "ok" for e in node_log)
    assert any(e["kind"] == "node.search" and e.get("release") == release_id for e in node_log)


def test_a_denial_carries_its_reason_and_probing_learns_nothing(owners: Owners) -> None:
    asked = _ask(owners, releases_pb2.Release(record_id="nca-tip"))
    client, names = owners.admin()
    try:
        decide(
            client,
            names,
            asked.receipt.release_id,
            approve=False,
            by="admin-1",
            reason="Active covert operation; call the duty officer.",
        )
    finally:
        client.close()
    [decision] = owners.decisions({}, wanted=1)
    assert decision.outcome == releases_pb2.Decision.OUTCOME_DENIED
    assert decision.reason == "Active covert operation; call the duty officer."
    assert not decision.record_ids

    missing = _ask(owners, releases_pb2.Release(record_id="nca-nothing"))
    denied = _ask(owners, releases_pb2.Release(record_id="nca-red"))  # red: denied outright
    assert missing.status.code == denied.status.code == search_pb2.AgencyStatus.CODE_REJECTED
    assert missing.status.reason == denied.status.reason


def test_forged_replayed_and_misaddressed_release_requests_are_refused(owners: Owners) -> None:
    tps = owners.fed.agency("tps")
    nca = owners.fed.agency("nca")
    node = releases_pb2_grpc.ReleaseNodeStub(grpc.insecure_channel(nca.node_target))

    def request(**changes: Any) -> Any:
        values: dict[str, Any] = {
            "requester": "tps",
            "audience": "nca",
            "key": load_private_key(tps.directory / "agency.key"),
            "officer_id": "det-4521",
            "purpose": "identify",
            "case_reference": CASE,
            "created": time.time(),
            "validity_s": 60,
        }
        values.update(changes)
        return signed_request(releases_pb2.Release(record_id="nca-tip"), **values)

    good = request()
    node.RequestRelease(good, timeout=10)
    for name, bad, code in (
        ("replayed", good, grpc.StatusCode.UNAUTHENTICATED),
        ("forged", request(key=generate_private_key()), grpc.StatusCode.UNAUTHENTICATED),
        ("misaddressed", request(audience="tps"), grpc.StatusCode.PERMISSION_DENIED),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            node.RequestRelease(bad, timeout=10)
        assert caught.value.code() == code, name
    outcomes = audited_outcomes(nca.directory / "audit" / "node.log", ("node.release",))
    assert outcomes == {"ok": 1, "unauthenticated": 2, "permission_denied": 1}
