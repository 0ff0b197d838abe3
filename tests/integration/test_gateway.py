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


METRICS_TOKEN = "metrics-scraper-token-0123456789"


def make_client(stack: Stack, *, rate_limit: str = "100/minute", name: str = "g") -> ServedApp:
    return stack.serve_gateway(
        rate_limit=rate_limit, audit=f"gateway-{name}", metrics_token=METRICS_TOKEN
    )


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
    metrics = api.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert "cets_gateway_searches" in metrics.text
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


def test_an_oversized_selector_is_a_400_naming_it_checked_at_the_gateway(
    api: Http, stack: Stack
) -> None:
    one_huge = search(api, stack, {"query": {"selectors": ["username:" + "a" * 70_000]}})
    assert one_huge.status_code == 400, one_huge.text
    assert "selectors[0]" in one_huge.json()["error"]
    assert "longer than 512 characters" in one_huge.json()["error"]
    many_long = [f"username:{i}" + "b" * 1100 for i in range(64)]
    reply = search(api, stack, {"query": {"selectors": many_long}})
    assert reply.status_code == 400 and "selectors[0]" in reply.json()["error"], reply.text
    pivot = api.post(
        "/v1/pivot",
        headers=token(stack),
        json={"selectors": many_long, "purpose": "pivot check", "case_reference": "C-1"},
    )
    assert pivot.status_code == 400 and "selectors[0]" in pivot.json()["error"], pivot.text
    long_target = search(api, stack, {"query": {"text": "x"}, "targets": ["t" * 1000] * 100})
    assert long_target.status_code == 422 and "targets" in long_target.json()["error"]
    schema = api.get("/openapi.json").json()["components"]["schemas"]
    for model, field in (("QueryIn", "selectors"), ("PivotIn", "selectors")):
        assert schema[model]["properties"][field]["items"]["maxLength"] == len("username:") + 512


def test_the_largest_valid_search_reaches_every_agency(api: Http, stack: Stack) -> None:
    # every field at its longest, in four-byte characters: refused for what it says, not its size
    wide = "\U0001f600"
    body = {
        "query": {
            "text": wide * 1000,
            "name": wide * 200,
            "selectors": [f"username:{i:02d}" + wide * 510 for i in range(64)],
        },
        "purpose": wide * 512,
        "case_reference": wide * 128,
    }
    reply = search(api, stack, body)
    assert reply.status_code in (200, 400), reply.text
    assert "larger than" not in reply.text and "failed" not in reply.text


def test_request_bodies_are_capped(api: Http, stack: Stack) -> None:
    huge = b'{"query": {"text": "' + b"x" * (10 * 1024 * 1024) + b'"}}'
    headers = {**token(stack), "Content-Type": "application/json"}
    declared = api.post("/v1/search", content=huge, headers=headers)
    assert declared.status_code == 413, declared.text
    assert "longer than 1024 KiB" in declared.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(huge), 64 * 1024):
            yield huge[start : start + 64 * 1024]

    streamed = api.post("/v1/search", content=chunks(), headers=headers)
    assert streamed.status_code == 413, streamed.text


def test_a_body_that_is_not_json_says_where_and_why(api: Http, stack: Stack) -> None:
    headers = {**token(stack), "Content-Type": "application/json"}
    reply = api.post("/v1/search", content=b'{"query": {"text": "x"},, }', headers=headers)
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error.startswith("the request body is not valid JSON:"), error
    assert "at character 24" in error


def test_searches_refused_as_invalid_do_not_use_up_the_quota(stack: Stack) -> None:
    with make_client(stack, rate_limit="2/minute", name="quota") as client:
        refused = [
            search(client, stack, {"query": {}}),  # the gateway's own check
            search(client, stack, {"query": {"selectors": ["email:nope"]}}),  # the federation's
            search(client, stack, {"query": {"text": "x"}, "targets": ["interpol-x"]}),
            search(client, stack, {"query": {"text": "x"}, "cursor": "not-a-cursor"}),
            search(client, stack, {"query": {"text": "x"}, "purpose": ""}),  # 422
        ]
        assert [r.status_code for r in refused] == [400, 400, 400, 400, 422]
        codes = [search(client, stack, {"query": {"text": "x"}}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = search(client, stack, {"query": {"text": "x"}})
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        metrics = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    counted = {
        line.split('outcome="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in metrics.text.splitlines()
        if line.startswith("cets_gateway_searches_total{")
    }
    assert counted == {"refused": 4.0, "ok": 2.0, "limited": 2.0}


def test_metrics_are_for_the_holder_of_the_metrics_token_only(api: Http, stack: Stack) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, token(stack)):
        reply = api.get("/metrics", headers=headers)
        assert reply.status_code == 401, reply.text
        assert "metrics token" in reply.json()["error"]
        assert "cets_gateway" not in reply.text
    with ServedApp(stack.gateway_app(audit="gateway-nometrics")) as closed:
        off = closed.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert off.status_code == 403 and "CETS_GATEWAY_METRICS_TOKEN_FILE" in off.json()["error"]


def test_released_records_use_the_apis_words_not_protobuf_enum_names(
    api: Http, stack: Stack
) -> None:
    params = {"purpose": "record words check", "case_reference": "TPS-2026-00042"}
    reply = api.get("/v1/records/tps/tps-person", params=params, headers=token(stack))
    assert reply.status_code == 200, reply.text
    envelope = reply.json()["record"]["envelope"]
    assert envelope["type"] == "person"
    assert envelope["handling"] in {"clear", "green", "amber", "amber+strict", "red"}
    assert "HANDLING_" not in reply.text and "RECORD_TYPE_" not in reply.text


def test_the_command_line_has_types_dates_paging_pivot_and_record_detail(
    api: Http, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    from click.testing import CliRunner

    from cets.cli import cli

    monkeypatch.setenv("CETS_OFFICER_TOKEN", token(stack)["Authorization"].removeprefix("Bearer "))
    monkeypatch.setenv("CETS_GATEWAY_URL", str(api.base_url))
    why = ["--purpose", "command line check", "--case", "TPS-2026-00042"]

    def cets(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    typed = cets("search", "--selector", "email:darkangel77@gmail.com", "--type", "tip", *why)
    assert "tps-tip" in typed and "tps-person" not in typed
    assert "* holds an identifier you searched for" in typed  # what the * after a rank means
    dated = cets(
        "search", "hosting", "link", "--created-from", "2025-03-15", "--agency", "tps", *why
    )
    assert "tps-chat-" in dated and "tps-tip" not in dated
    before = cets(
        "search", "hosting", "link", "--created-to", "2025-03-15", "--agency", "tps", *why
    )
    assert "tps-tip" in before and "tps-chat-" not in before

    first = cets("search", "hosting", "link", "--agency", "tps", "--page-size", "5", *why)
    (cursor,) = re.findall(r"--cursor (\S+)", first)
    second = cets(
        "search", "hosting", "link", "--agency", "tps", "--page-size", "5", "--cursor", cursor, *why
    )
    ranks = re.findall(r"^\s+(\d+)[ *] tps", second, re.M)
    assert ranks[0] == "6"

    pivoted = cets("pivot", "phone:+14165550142", *why)
    assert "rcmp-phone" in pivoted and "tps-phone" in pivoted

    detail = cets("record", "tps", "tps-person", *why)
    assert "tps/tps-person  person  (full)" in detail and "Dale Angelo" in detail
    refused = CliRunner().invoke(cli, ["record", "rcmp", "rcmp-person", *why])
    assert refused.exit_code == 1 and "does not release this record in full" in refused.output

    highlighted = cets("search", "hosting", "link", "--agency", "tps", *why)
    assert "[hosting]" not in highlighted and "[link]" not in highlighted
    assert "\x1b" not in highlighted  # bold only on a terminal
