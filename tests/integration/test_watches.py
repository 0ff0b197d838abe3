"""Watches and alerts end to end on a real OpenSearch: tps watches a suspect's e-mail for its
case at every partner; a partner later ingests a tip naming the address in another form; tps
collects the alert at the level that partner's policy allows; nothing is raised twice, lost,
or released to a stranger."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from cets.common import membership as ms
from cets.common.audit import read_entries
from cets.common.background import BackgroundService
from cets.common.keys import generate_private_key, load_private_key
from cets.common.signing import open_answer, signed_request
from cets.core.records import IngestContext
from cets.demo.local import AgencySpec, LocalFederation, build_local_federation, free_ports
from cets.federation.server import FederationServer
from cets.search.background import BackgroundNode
from cets.search.ingest import IngestSummary, ingest_file
from cets.search.store import connect
from cets.search.watches import WatchIndexNames, WatchMatcher, watch_key
from cets.v1 import records_pb2, search_pb2, watches_pb2, watches_pb2_grpc
from helpers import audited_outcomes

pytestmark = pytest.mark.opensearch

OPEN = 'contact = "{name}"\n[defaults]\nmember = "full"\ncoordinator = "summary"\n'
SUMMARY_BUT_RED = """contact = "{name}"
[defaults]
member = "summary"
coordinator = "hit"
[[rule]]
handling = ["red"]
level = "deny"
"""
HIT_ONLY = 'contact = "NCA CEOP Command"\n[defaults]\nmember = "hit"\ncoordinator = "hit"\n'
SPECS = (
    AgencySpec("tps", "Toronto Police Service", "CA", policy=OPEN),
    AgencySpec("rcmp", "Royal Canadian Mounted Police", "CA", policy=SUMMARY_BUT_RED),
    AgencySpec("nca", "National Crime Agency", "GB", policy=HIT_ONLY),
)
WATCHED = "Dale.Angel77@gmail.com"
CASE = "TPS-2026-0042"
CODE = search_pb2.AgencyStatus
EMAIL = records_pb2.SELECTOR_KIND_EMAIL


@dataclass
class Watchers:
    fed: LocalFederation
    federation: str
    prefix: str
    opensearch_url: str

    def stub(self) -> watches_pb2_grpc.FederationWatchesStub:
        return watches_pb2_grpc.FederationWatchesStub(grpc.insecure_channel(self.federation))

    def ingest(self, agency_id: str, records: list[dict[str, Any]], path: Path) -> IngestSummary:
        agency = self.fed.agency(agency_id)
        config = agency.node_config(self.opensearch_url, index_prefix=self.prefix)
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
        client = connect(self.opensearch_url)
        try:
            key = watch_key(load_private_key(agency.directory / "agency.key"))
            return ingest_file(
                path,
                client=client,
                names=config.index,
                ctx=IngestContext(agency.id, agency.card_key, agency.spec.region),
                watches=WatchMatcher(client, WatchIndexNames(config.index), key),
            )
        finally:
            client.close()

    def pull(self, cursors: dict[str, str]) -> watches_pb2.FederatedAlerts:
        return self.stub().PullAlerts(watches_pb2.FederatedAlertPull(cursors=cursors), timeout=10)

    def pull_until(
        self, cursors: dict[str, str], wanted: int, *, seconds: float = 20.0
    ) -> tuple[list[watches_pb2.Alert], dict[str, str]]:
        """Pull (advancing the cursors) until ``wanted`` alerts arrived or time is up."""
        got: list[watches_pb2.Alert] = []
        give_up = time.monotonic() + seconds
        while len(got) < wanted and time.monotonic() < give_up:
            answer = self.pull(cursors)
            for a in answer.answers:
                assert a.status.code == CODE.CODE_OK, a.status
                got.extend(a.batch.alerts)
                cursors[a.status.agency] = a.batch.next_cursor
            if len(got) < wanted:
                time.sleep(0.5)
        return got, cursors


@pytest.fixture
def watchers(opensearch_url: str, tmp_path: Path, agency_id: str) -> Iterator[Watchers]:
    fed = build_local_federation(tmp_path / "federation", list(SPECS))
    prefix = f"w{agency_id}".replace("-", "")[:40]
    with ExitStack() as stack:
        for agency in fed.agencies:
            stack.enter_context(
                BackgroundNode(agency.node_config(opensearch_url, index_prefix=prefix))
            )
        service = stack.enter_context(
            BackgroundService(lambda: FederationServer(fed.agency("tps").federation_config()))
        )
        yield Watchers(fed, service.target, prefix, opensearch_url)


def _watch(stub: watches_pb2_grpc.FederationWatchesStub, *values: str, case: str = CASE) -> Any:
    return stub.SetWatch(
        watches_pb2.FederatedWatchRequest(
            watch=watches_pb2.Watch(
                selectors=[records_pb2.Selector(kind=EMAIL, value=v) for v in values]
            ),
            officer_id="det-4521",
            purpose="identify the account holder",
            case_reference=case,
        ),
        timeout=10,
    )


def _tip(agency: str, email: str, *, record_id: str, handling: str = "amber") -> dict[str, Any]:
    return {
        "id": record_id,
        "type": "tip",
        "text": f"A report names {email} as sharing material",
        "emails": [email],
        "handling": handling,
        "created": "2026-11-30",
    }


def test_a_later_tip_at_a_partner_raises_an_alert_at_that_partners_level(
    watchers: Watchers, tmp_path: Path
) -> None:
    receipt = _watch(watchers.stub(), WATCHED)
    assert {o.status.agency: o.status.code for o in receipt.outcomes} == {
        "tps": CODE.CODE_OK,
        "rcmp": CODE.CODE_OK,
        "nca": CODE.CODE_OK,
    }
    assert all(o.receipt.selectors == 1 for o in receipt.outcomes)
    assert all(o.receipt.case_reference == CASE for o in receipt.outcomes)

    # the partners record the same mailbox, written their own way, after the watch was set
    rcmp = watchers.ingest(
        "rcmp",
        [
            _tip("rcmp", "daleangel77+chat@googlemail.com", record_id="rcmp-tip-1"),
            _tip("rcmp", "DALEANGEL77@gmail.com", record_id="rcmp-red", handling="red"),
            _tip("rcmp", "someone.else@example.org", record_id="rcmp-other"),
        ],
        tmp_path / "rcmp.ndjson",
    )
    nca = watchers.ingest(
        "nca", [_tip("nca", "dale.angel77@GMAIL.com", record_id="nca-tip")], tmp_path / "nca.ndjson"
    )
    # the ingesting agency learns that its new records match a partner's watch, and whose
    assert (rcmp.watched_records, rcmp.watch_alerts, rcmp.watchers) == (2, 2, {"tps": 2})
    assert (nca.watched_records, nca.watchers) == (1, {"tps": 1})

    alerts, cursors = watchers.pull_until({}, wanted=2)
    by_agency = {a.agency: a for a in alerts}
    assert sorted(by_agency) == ["nca", "rcmp"]  # the red record is denied: never handed out
    assert len(alerts) == 2
    summary = by_agency["rcmp"]
    assert summary.case_reference == CASE
    assert summary.disclosure == search_pb2.DISCLOSURE_LEVEL_SUMMARY
    assert summary.hit.record_id == "rcmp-tip-1"
    assert [s.value for s in summary.hit.matched_selectors] == ["daleangel77@gmail.com"]
    assert not summary.hit.HasField("record")  # a summary carries no record contents
    hit_only = by_agency["nca"]
    assert hit_only.disclosure == search_pb2.DISCLOSURE_LEVEL_HIT
    assert not hit_only.HasField("hit") and not hit_only.HasField("raised")
    assert hit_only.case_reference == CASE

    # nothing twice: the next pull from the cursors is empty, and so is re-ingesting
    again = watchers.ingest(
        "nca",
        [_tip("nca", "dale.angel77@GMAIL.com", record_id="nca-tip")],
        tmp_path / "nca2.ndjson",
    )
    assert again.watch_alerts == 0
    time.sleep(3.5)
    later = watchers.pull(cursors)
    assert [a for answer in later.answers for a in answer.batch.alerts] == []

    # both ends recorded the pull: the holder what it released, the watcher what came back
    rcmp_log = list(read_entries(watchers.fed.agency("rcmp").directory / "audit" / "node.log"))
    released = [e.event for e in rcmp_log if e.event["kind"] == "node.alerts"]
    assert any(
        r["record"] == "rcmp-tip-1" and r["level"] == "summary"
        for e in released
        for r in e.get("released", [])
    )
    watches_set = [e.event for e in rcmp_log if e.event["kind"] == "node.watch"]
    assert watches_set and WATCHED.lower() not in json.dumps(watches_set).lower()  # digests only
    tps_log = list(read_entries(watchers.fed.agency("tps").directory / "audit" / "federation.log"))
    kinds = [e.event["kind"] for e in tps_log]
    assert "federation.watch.sent" in kinds and "federation.alerts.answered" in kinds


def test_an_ingest_with_no_watches_here_raises_nothing(watchers: Watchers, tmp_path: Path) -> None:
    summary = watchers.ingest(
        "nca", [_tip("nca", WATCHED, record_id="nca-early")], tmp_path / "early.ndjson"
    )
    assert (summary.indexed, summary.watch_alerts, summary.watchers) == (1, 0, {})


def test_a_closed_case_stops_its_watch(watchers: Watchers, tmp_path: Path) -> None:
    assert all(o.status.code == CODE.CODE_OK for o in _watch(watchers.stub(), WATCHED).outcomes)
    removed = _watch(watchers.stub())  # no selectors: remove the case's watch
    assert all(o.receipt.selectors == 0 for o in removed.outcomes)
    summary = watchers.ingest(
        "rcmp", [_tip("rcmp", WATCHED, record_id="rcmp-late")], tmp_path / "late.ndjson"
    )
    assert summary.watch_alerts == 0


def _node_request(
    watchers: Watchers,
    body: Any,
    *,
    requester: str = "tps",
    audience: str = "rcmp",
    key: Any = None,
    created: float | None = None,
) -> Any:
    signer = key or load_private_key(watchers.fed.agency(requester).directory / "agency.key")
    return signed_request(
        body,
        requester=requester,
        audience=audience,
        key=signer,
        officer_id="det-4521",
        purpose="identify the account holder",
        case_reference=CASE,
        created=time.time() if created is None else created,
        validity_s=60,
    )


def test_forged_replayed_expired_and_misaddressed_requests_are_refused_and_audited(
    watchers: Watchers,
) -> None:
    rcmp = watchers.fed.agency("rcmp")
    node = watches_pb2_grpc.WatchNodeStub(grpc.insecure_channel(rcmp.node_target))
    watch = watches_pb2.Watch(selectors=[records_pb2.Selector(kind=EMAIL, value=WATCHED)])
    pull = watches_pb2.AlertPull()

    good = _node_request(watchers, watch)
    answer = node.SetWatch(good, timeout=10)
    receipt = open_answer(
        answer,
        load_private_key(rcmp.directory / "agency.key").public_key(),
        watches_pb2.WatchReceipt,
    )
    assert receipt.request_nonce == good.context.nonce and receipt.selectors == 1

    cases = {
        "replayed": (good, grpc.StatusCode.UNAUTHENTICATED, "replayed"),
        "forged": (
            _node_request(watchers, watch, key=generate_private_key()),
            grpc.StatusCode.UNAUTHENTICATED,
            "bad signature",
        ),
        "expired": (
            _node_request(watchers, pull, created=time.time() - 3600),
            grpc.StatusCode.UNAUTHENTICATED,
            "expired",
        ),
        "misaddressed": (
            _node_request(watchers, pull, audience="nca"),
            grpc.StatusCode.PERMISSION_DENIED,
            "addressed to",
        ),
    }
    for name, (request, code, reason) in cases.items():
        call = node.SetWatch if isinstance(request, watches_pb2.WatchRequest) else node.PullAlerts
        with pytest.raises(grpc.RpcError) as caught:
            call(request, timeout=10)
        assert caught.value.code() == code, name
        assert reason in (caught.value.details() or ""), name

    # a search's signature never verifies as a watch: same bytes, other kind
    search = _node_request(watchers, search_pb2.Query(text="x"))
    as_watch = watches_pb2.WatchRequest(
        watch=watch, context=search.context, signature=search.signature
    )
    with pytest.raises(grpc.RpcError) as caught:
        node.SetWatch(as_watch, timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED

    outcomes = audited_outcomes(
        rcmp.directory / "audit" / "node.log", ("node.watch", "node.alerts")
    )
    assert (outcomes["ok"], outcomes["unauthenticated"], outcomes["permission_denied"]) == (1, 4, 1)


def test_a_revoked_partners_watches_are_dropped_at_the_next_start(
    watchers: Watchers, opensearch_url: str
) -> None:
    assert all(o.status.code == CODE.CODE_OK for o in _watch(watchers.stub(), WATCHED).outcomes)
    root = watchers.fed.root
    document = ms.set_status(ms.read_document(root / "membership.json"), "tps", "revoked")
    signed = ms.sign(document, load_private_key(root / "admin.key"))
    (root / "membership.json").write_bytes(ms.dump_document(signed))

    nca = watchers.fed.agency("nca")
    config = nca.node_config(opensearch_url, index_prefix=watchers.prefix)
    client = connect(opensearch_url)
    names = WatchIndexNames(config.index)
    try:
        client.indices.refresh(index=names.watches)
        assert client.count(index=names.watches)["count"] == 1
        # a second node of the same agency starting with the new membership drops the watch
        second = dataclasses.replace(
            nca.node_config(opensearch_url, index_prefix=watchers.prefix),
            listen=f"127.0.0.1:{free_ports(1)[0]}",
            audit_log=nca.directory / "audit" / "node-2.log",
        )
        with BackgroundNode(second):
            pass
        client.indices.refresh(index=names.watches)
        assert client.count(index=names.watches)["count"] == 0
    finally:
        client.close()
