"""Cases through the REST API, and the investigation story end to end: an officer at tps opens
a case, pins a hit and the suspect's e-mail, watches it at every partner; nca later records a
tip naming the address in another form; within the poll interval the case shows nca's alert at
nca's level, and nca's ingest said whom to contact. Real nodes, real OpenSearch, real
federation service, a real gateway with its case store; nothing faked."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from httpx import Client as Http

from cets.common.audit import AuditLog, read_entries
from cets.common.keys import load_private_key
from cets.core.records import IngestContext
from cets.gateway.api import Gateway, create_app
from cets.gateway.cases.store import CaseStore, connect, migrate
from cets.gateway.tokens import issue_token
from cets.search.ingest import ingest_file
from cets.search.store import connect as opensearch
from cets.search.watches import WatchIndexNames, WatchMatcher, watch_key
from helpers import ServedApp
from stacks import Stack, suspect_records, three_agencies

pytestmark = pytest.mark.opensearch

PREFIX = "cases"
CASE = "TPS-2026-0099"


@pytest.fixture(scope="module")
def stack(opensearch_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with three_agencies(
        opensearch_url, tmp_path_factory.mktemp("cases"), suspect_records, index_prefix=PREFIX
    ) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(stack: Stack) -> Iterator[Http]:
    store = CaseStore(connect(f"sqlite:///{stack.root / 'cases.db'}"))
    migrate(store.engine)
    app = create_app(
        Gateway(
            agency_id="tps",
            officer_key=stack.issuer.public_key(),
            federation_target=stack.federations["tps"],
            audit=AuditLog(stack.root / "gateway-cases.log"),
            cursor_key=b"k" * 32,
            rate_limit="1000/minute",
            cases=store,
            alert_poll_s=5.0,
        )
    )
    with ServedApp(app) as client:
        yield client


def auth(stack: Stack, officer: str = "det-4521", agency: str = "tps") -> dict[str, str]:
    token = issue_token(stack.issuer, officer=officer, agency=agency, roles=["officer"])
    return {"Authorization": f"Bearer {token}"}


def test_the_investigation_story(stack: Stack, gateway: Http, opensearch_url: str) -> None:
    me = auth(stack)
    created = gateway.post(
        "/v1/cases",
        json={"reference": CASE, "title": "Dale Angelo", "members": ["det-7"]},
        headers=me,
    )
    assert created.status_code == 201, created.text
    found = gateway.post(
        "/v1/search",
        json={
            "query": {"selectors": ["email:dark.angel77@gmail.com"]},
            "purpose": "identify the account holder",
            "case_reference": CASE,
        },
        headers=me,
    ).json()
    rcmp_hit = next(h for h in found["results"] if h["agency"] == "rcmp")
    pinned = gateway.post(
        f"/v1/cases/{CASE}/leads",
        json={
            "kind": "hit",
            "agency": "rcmp",
            "record_id": rcmp_hit["record_id"],
            "content": rcmp_hit,
        },
        headers=me,
    )
    assert pinned.status_code == 201, pinned.text
    gateway.post(
        f"/v1/cases/{CASE}/leads",
        json={"kind": "selector", "selector": "email:dark.angel77@gmail.com"},
        headers=me,
    ).raise_for_status()
    watched = gateway.post(
        f"/v1/cases/{CASE}/watch", json={"purpose": "new reports on the suspect"}, headers=me
    )
    assert watched.status_code == 200, watched.text
    assert {a: s["status"] for a, s in watched.json()["agencies"].items()} == {
        "tps": "ok",
        "rcmp": "ok",
        "nca": "ok",
    }

    # later, nca records a tip naming the same mailbox written its own way
    nca = stack.fed.agency("nca")
    config = nca.node_config(opensearch_url, index_prefix=PREFIX)
    tip = stack.root / "nca-later.ndjson"
    tip.write_text(
        json.dumps(
            {
                "id": "nca-late-tip",
                "type": "tip",
                "created": "2026-12-01",
                "text": "New report",
                "emails": ["Dark.Angel.77+x@gmail.com"],
            }
        )
        + "\n"
    )
    client = opensearch(opensearch_url)
    try:
        summary = ingest_file(
            tip,
            client=client,
            names=config.index,
            ctx=IngestContext(nca.id, nca.card_key, nca.spec.region),
            watches=WatchMatcher(
                client,
                WatchIndexNames(config.index),
                watch_key(load_private_key(nca.directory / "agency.key")),
            ),
        )
    finally:
        client.close()
    assert summary.watchers == {"tps": 1}  # nca learns whom to contact

    case: dict[str, Any] = {}
    give_up = time.monotonic() + 30  # the poll interval is 5 s, alerts settle 3 s
    while time.monotonic() < give_up:
        case = gateway.get(f"/v1/cases/{CASE}", headers=me).json()
        if case["alerts"]:
            break
        time.sleep(1)
    [alert] = case["alerts"]
    assert (alert["agency"], alert["disclosure"], alert["record_id"]) == ("nca", "hit", None)
    whats = [e["what"] for e in case["timeline"]]
    assert whats[:1] == ["created"] and "searched" in whats and "watch set" in whats
    assert "alert" in whats
    assert gateway.get("/v1/alerts", headers=me).json()[0]["alert_id"] == alert["alert_id"]
    # a colleague on the case sees it; an officer not on it, or of another agency, does not
    assert gateway.get(f"/v1/cases/{CASE}", headers=auth(stack, "det-7")).status_code == 200
    assert gateway.get(f"/v1/cases/{CASE}", headers=auth(stack, "det-9")).status_code == 404
    assert gateway.get("/v1/alerts", headers=auth(stack, "det-9")).json() == []

    report = gateway.get(f"/v1/cases/{CASE}/report", params={"format": "html"}, headers=me)
    assert report.status_code == 200 and "text/html" in report.headers["content-type"]
    assert "@media print" in report.text and CASE in report.text

    closed = gateway.post(f"/v1/cases/{CASE}/close", json={"version": case["version"]}, headers=me)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["watched_until"] is None

    kinds = [
        e.event.get("action")
        for e in read_entries(stack.root / "gateway-cases.log")
        if e.event["kind"] == "gateway.case"
    ]
    assert kinds[:1] == ["created"] and {"lead added", "watch set", "closed"} <= set(kinds)


def test_stale_edits_and_bad_input_get_clear_errors(stack: Stack, gateway: Http) -> None:
    me = auth(stack)
    case = gateway.post(
        "/v1/cases", json={"reference": "TPS-EDIT", "title": "t"}, headers=me
    ).json()
    first = gateway.patch(
        "/v1/cases/TPS-EDIT", json={"version": case["version"], "title": "A"}, headers=me
    )
    stale = gateway.patch(
        "/v1/cases/TPS-EDIT", json={"version": case["version"], "title": "B"}, headers=me
    )
    assert first.status_code == 200
    assert stale.status_code == 409 and "now at version 2" in stale.json()["error"]
    assert gateway.get("/v1/cases/TPS-EDIT", headers=me).json()["title"] == "A"
    again = gateway.post("/v1/cases", json={"reference": "TPS-EDIT", "title": "t"}, headers=me)
    assert again.status_code == 409
    for bad in (
        {"reference": "has space", "title": "t"},
        {"reference": "TPS-X", "title": ""},
        {"reference": "TPS-X", "title": "t", "extra": 1},
    ):
        assert gateway.post("/v1/cases", json=bad, headers=me).status_code == 422
    lead = gateway.post(
        "/v1/cases/TPS-EDIT/leads", json={"kind": "selector", "selector": "nonsense"}, headers=me
    )
    assert lead.status_code == 400 and "KIND:VALUE" in lead.json()["error"]
    no_selectors = gateway.post(
        "/v1/cases/TPS-EDIT/watch", json={"purpose": "watch it"}, headers=me
    )
    assert no_selectors.status_code == 400
    assert gateway.get("/v1/cases", headers={}).status_code == 401
    assert gateway.get("/v1/cases/TPS-EDIT", headers=auth(stack, agency="rcmp")).status_code == 401


def test_the_case_routes_keep_the_gateways_body_and_selector_rules(
    stack: Stack, gateway: Http
) -> None:
    me = auth(stack)
    made = gateway.post("/v1/cases", json={"reference": "TPS-RULES", "title": "t"}, headers=me)
    assert made.status_code == 201, made.text
    headers = {**me, "Content-Type": "application/json"}
    broken = gateway.post("/v1/cases/TPS-RULES/notes", content=b'{"text": "a",, }', headers=headers)
    assert broken.status_code == 400, broken.text
    error = broken.json()["error"]
    assert error.startswith("the request body is not valid JSON:") and "at character 13" in error
    huge = json.dumps({"text": "x" * (2 * 1024 * 1024)}).encode()
    capped = gateway.post("/v1/cases/TPS-RULES/notes", content=huge, headers=headers)
    assert capped.status_code == 413 and "longer than 1024 KiB" in capped.json()["error"]
    long_value = gateway.post(
        "/v1/cases/TPS-RULES/leads",
        json={"kind": "selector", "selector": "username:" + "u" * 513},
        headers=me,
    )
    assert long_value.status_code == 400, long_value.text
    assert "selector" in long_value.json()["error"] and "512" in long_value.json()["error"]
    longest = gateway.post(
        "/v1/cases/TPS-RULES/leads",
        json={"kind": "selector", "selector": "username:" + "u" * 512},
        headers=me,
    )
    assert longest.status_code == 201, longest.text
    notes = gateway.get("/v1/cases/TPS-RULES", headers=me).json()["notes"]
    assert notes == []  # neither refused note was kept
