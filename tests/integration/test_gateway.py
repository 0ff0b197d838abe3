"""The officers' REST API end to end: gateway → federation service → three real nodes on a
real OpenSearch. Merged ranking, statuses, links, pivot, pagination, disclosure, bad input."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from httpx import Client as Http

from cets.common.audit import read_entries
from cets.common.keys import generate_private_key
from cets.gateway.tokens import issue_token
from helpers import ServedApp
from stacks import Stack, suspect_records, three_agencies_fixture

pytestmark = pytest.mark.opensearch

PHONE = {"tps": "(416) 555-0142", "rcmp": "+1 416 555 0142"}


def records(agency: str) -> list[dict[str, Any]]:
    rows = suspect_records(agency)
    if agency in PHONE:
        rows.append(
            {
                "id": f"{agency}-phone",
                "type": "phone",
                "number": PHONE[agency],
                "subscriber_name": "D. Angelo",
                "created": "2025-03-01",
            }
        )
    rows += [
        {
            "id": f"{agency}-chat-{i:02d}",
            "type": "chat_message",
            "sender": f"user{i}_{agency}",
            "text": f"hosting link number {i} " + "upload " * (i % 5),
            "created": "2025-04-01",
        }
        for i in range(18)
    ]
    return rows


stack = three_agencies_fixture(records, index_prefix="gw")


def make_client(stack: Stack, *, rate_limit: str = "100/minute", name: str = "g") -> ServedApp:
    return stack.serve_gateway(rate_limit=rate_limit, audit=f"gateway-{name}")


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[Http]:
    with make_client(stack) as client:
        yield client


def token(stack: Stack, **kwargs: Any) -> dict[str, str]:
    values: dict[str, Any] = {"officer": "det-4521", "agency": "tps"}
    values.update(kwargs)
    key = values.pop("key", stack.issuer)
    return {"Authorization": "Bearer " + issue_token(key, **values)}


def search(api: Http, stack: Stack, body: dict[str, Any], **token_args: Any) -> Any:
    full = {"purpose": "online luring investigation", "case_reference": "TPS-2026-00042", **body}
    return api.post("/v1/search", json=full, headers=token(stack, **token_args))


def test_one_merged_list_from_every_agency_with_statuses_and_links(api: Http, stack: Stack) -> None:
    reply = search(api, stack, {"query": {"selectors": ["email:darkangel77@gmail.com"]}})
    assert reply.status_code == 200, reply.text
    page = reply.json()
    statuses = {a["agency"]: a for a in page["agencies"]}
    assert {a: s["status"] for a, s in statuses.items()} == {"tps": "ok", "rcmp": "ok", "nca": "ok"}
    assert statuses["nca"]["withheld_hits"] == 2 and statuses["nca"]["disclosure"] == "hit"
    results = page["results"]
    assert {(r["agency"], r["record_id"]) for r in results} == {
        ("tps", "tps-person"),
        ("tps", "tps-tip"),
        ("rcmp", "rcmp-person"),
        ("rcmp", "rcmp-tip"),
    }
    assert all(r["exact"] for r in results)
    assert [r["rank"] for r in results] == [1, 2, 3, 4]
    by_agency = {r["agency"] for r in results[:2]}
    assert by_agency == {"tps", "rcmp"}  # fused fairly: each agency's best first
    rcmp = [r for r in results if r["agency"] == "rcmp"]
    assert all(
        r["disclosure"] == "summary" and r["record"] is None and not r["title"] for r in rcmp
    )
    tps = [r for r in results if r["agency"] == "tps"]
    assert all(r["disclosure"] == "full" and r["record"] for r in tps)
    (entity,) = page["links"]  # the same person at two agencies, found by one identifier
    assert entity["agencies"] == ["rcmp", "tps"]
    assert "email:darkangel77@gmail.com" in entity["selectors"]
    assert {tuple(r) for r in entity["evidence"][0]["records"]} >= {
        ("tps", "tps-tip"),
        ("rcmp", "rcmp-tip"),
    }


def test_pivot_searches_every_agency_for_one_records_identifiers(api: Http, stack: Stack) -> None:
    first = search(api, stack, {"query": {"name": "Dale Angelo"}, "targets": ["tps"]}).json()
    person = next(r for r in first["results"] if r["record_id"] == "tps-person")
    reply = api.post(
        "/v1/pivot",
        headers=token(stack),
        json={
            "selectors": person["selectors"],
            "purpose": "pivot on a suspect",
            "case_reference": "TPS-2026-00042",
        },
    )
    assert reply.status_code == 200, reply.text
    found = {(r["agency"], r["record_id"]) for r in reply.json()["results"]}
    assert ("rcmp", "rcmp-person") in found and ("tps", "tps-tip") in found


def test_pages_have_no_duplicates_and_no_gaps(api: Http, stack: Stack) -> None:
    body = {"query": {"text": "hosting link"}, "targets": ["tps"], "page_size": 50}
    everything = [(r["agency"], r["record_id"]) for r in search(api, stack, body).json()["results"]]
    assert len(everything) == 19
    seen: list[tuple[str, str]] = []
    cursor = None
    for _ in range(10):
        reply = search(api, stack, {**body, "page_size": 6, "cursor": cursor}).json()
        seen += [(r["agency"], r["record_id"]) for r in reply["results"]]
        cursor = reply["next_cursor"]
        if cursor is None:
            break
    assert seen == everything


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"query": {"text": "x"}, "purpose": ""}, 422, "purpose"),
        ({"query": {"text": "x"}, "cursor": "not-a-cursor"}, 400, "bad cursor"),
        ({"query": {"text": "x" * 5000}}, 422, "query.text"),
        ({"query": {"text": "x"}, "targets": ["interpol-x"]}, 400, "unknown agency 'interpol-x'"),
        ({"query": {}}, 400, "give at least one of"),
        ({"query": {"selectors": ["fax:123"]}}, 400, "selector must be KIND:VALUE"),
        ({"query": {"selectors": ["email:nope"]}}, 400, "not a valid e-mail address"),
        ({"query": {"text": "x", "created_from": "2025-01-01T00:00:00"}}, 400, "time zone"),
        ({"query": {"text": "x"}, "colour": "red"}, 422, "colour"),
    ],
)
def test_bad_input_is_a_4xx_with_a_reason(
    api: Http, stack: Stack, body: dict[str, Any], status: int, message: str
) -> None:
    reply = search(api, stack, body)
    assert reply.status_code == status, reply.text
    assert message in reply.json()["error"]


def test_a_cursor_from_another_query_is_refused(api: Http, stack: Stack) -> None:
    first = search(
        api, stack, {"query": {"text": "hosting link"}, "targets": ["tps"], "page_size": 3}
    )
    cursor = first.json()["next_cursor"]
    assert cursor
    other = search(api, stack, {"query": {"text": "upload"}, "targets": ["tps"], "cursor": cursor})
    assert other.status_code == 400 and "bad cursor" in other.json()["error"]


def test_no_anonymous_search(api: Http, stack: Stack) -> None:
    body = {"query": {"text": "x"}, "purpose": "p" * 5, "case_reference": "C"}
    cases = [
        ({}, "officer token is required"),
        ({"Authorization": "Bearer garbage"}, "malformed"),
        (token(stack, key=generate_private_key()), "does not verify"),
        (token(stack, agency="rcmp"), "not issued by 'tps'"),
        (token(stack, now=time.time() - 10 * 3600, ttl_s=3600), "expired"),
    ]
    for headers, message in cases:
        reply = api.post("/v1/search", json=body, headers=headers)
        assert reply.status_code == 401, (message, reply.text)
        assert message in reply.json()["error"]


def test_searches_are_rate_limited_per_officer(stack: Stack) -> None:
    with make_client(stack, rate_limit="2/minute", name="limited") as client:
        codes = [search(client, stack, {"query": {"text": "x"}}).status_code for _ in range(3)]
        other = search(client, stack, {"query": {"text": "x"}}, officer="det-9999").status_code
    assert codes == [200, 200, 429] and other == 200


def test_operations_endpoints_and_the_published_schema(api: Http) -> None:
    assert api.get("/v1/health").json() == {"status": "ok"}
    assert "cets_gateway_searches" in api.get("/metrics").text
    schema = api.get("/openapi.json").json()
    assert {"/v1/search", "/v1/pivot", "/v1/health"} <= set(schema["paths"])


def test_every_search_is_in_the_gateways_audit_log(api: Http, stack: Stack) -> None:
    search(api, stack, {"query": {"text": "hosting link"}, "purpose": "gateway audit check"})
    entries = [e.event for e in read_entries(stack.root / "gateway-g.log")]
    mine = [e for e in entries if e["purpose"] == "gateway audit check"]
    assert len(mine) == 1 and mine[0]["officer"] == "det-4521" and mine[0]["shown"]


def test_a_record_in_detail_as_far_as_its_owner_releases_it(api: Http, stack: Stack) -> None:
    params = {"purpose": "record detail check", "case_reference": "TPS-2026-00042"}
    full = api.get("/v1/records/tps/tps-person", params=params, headers=token(stack))
    assert full.status_code == 200, full.text
    assert full.json()["record"]["person"]["name"] == "Dale Angelo"
    summary_only = api.get("/v1/records/rcmp/rcmp-person", params=params, headers=token(stack))
    assert summary_only.status_code == 404
    assert "does not release this record in full" in summary_only.json()["error"]
    assert "Royal Canadian Mounted Police" in summary_only.json()["error"]
    unknown = api.get("/v1/records/interpol-x/r1", params=params, headers=token(stack))
    assert unknown.status_code == 400 and "unknown agency" in unknown.json()["error"]
    no_purpose = api.get("/v1/records/tps/tps-person", headers=token(stack))
    assert no_purpose.status_code == 422 and "purpose" in no_purpose.json()["error"]


def test_ready_when_the_federation_service_serves(api: Http) -> None:
    assert api.get("/v1/ready").json() == {"status": "ready"}


def test_officers_can_search_from_the_command_line(
    api: Http, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from cets.cli import cli

    monkeypatch.setenv("CETS_OFFICER_TOKEN", token(stack)["Authorization"].removeprefix("Bearer "))
    result = CliRunner().invoke(
        cli,
        [
            "search",
            "--gateway",
            str(api.base_url),
            "--selector",
            "email:darkangel77@gmail.com",
            "--purpose",
            "command line check",
            "--case",
            "TPS-2026-00042",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "tps-person" in result.stdout and "rcmp-tip" in result.stdout
    assert "1 cross-agency links:" in result.stdout
    assert "nca      ok" in result.stdout
