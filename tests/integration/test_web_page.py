"""The officers' web page in a real browser: Chromium driven by Playwright, against a gateway
over a real federation of three nodes on a real OpenSearch. Sign in, search, statuses, merged
results, the links graph, record detail, pivot, refusals shown to the officer, and a page that
keeps every record's text as text under a strict Content-Security-Policy."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cets.common.imagehash import hash_image
from cets.core import pdq
from cets.demo import scenes
from stacks import Stack, suspect_records, three_agencies_fixture

pytestmark = pytest.mark.opensearch

# Debian's chromium package; another Chromium can be named with CETS_CHROMIUM.
CHROMIUM = Path(os.environ.get("CETS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SEARCHED = "email:darkangel77@gmail.com"
HOSTILE = '<img src=x id="injected"> swapped files & <b id="bold">links</b>'
CARD = "4111 1111 1111 1111"
PURPOSE = "online luring investigation"
CASE = "TPS-2026-00042"


PICTURE_SEED = 12


def _resized_copy() -> bytes:
    return scenes.encode(scenes.transform(scenes.draw_scene(PICTURE_SEED), "resize_50"))


def records(agency: str) -> list[dict[str, Any]]:
    rows = suspect_records(agency)
    if agency == "tps":
        rows.append(
            {
                "id": "tps-image",
                "type": "media_hash",
                "pdq": hash_image(_resized_copy()).pdq,
                "created": "2025-05-01",
            }
        )
        rows[0]["phones"] = ["(416) 555-0142"]  # only a pivot on this person finds rcmp-phone
        rows.append(
            {
                "id": "tps-chat",
                "type": "chat_message",
                "sender": "trader_x",
                "text": HOSTILE,
                "created": "2025-03-01",
            }
        )
        rows += [
            {
                "id": f"tps-upload-{i:02d}",
                "type": "chat_message",
                "sender": f"uploader{i}",
                "text": f"upload batch number {i}",
                "created": "2025-04-01",
            }
            for i in range(24)
        ]
        rows.append(
            {
                "id": "tps-card",
                "type": "payment_card",
                "card_number": CARD,
                "holder_name": "K. Trader",
                "created": "2025-05-01",
            }
        )
    if agency == "rcmp":
        rows.append(  # released to tps as a summary: its identifiers are not listed
            {
                "id": "rcmp-payment",
                "type": "card_transaction",
                "card_number": CARD,
                "merchant": "Hosting Co",
                "amount": 12.5,
                "currency": "CAD",
                "email": "trader.k@example.org",
                "created": "2025-05-02",
            }
        )
        rows.append(
            {
                "id": "rcmp-phone",
                "type": "phone",
                "number": "+1 416 555 0142",
                "subscriber_name": "D. Angelo",
                "created": "2025-03-01",
            }
        )
    return rows


running = three_agencies_fixture(records, index_prefix="web", name="running")


@pytest.fixture(scope="module")
def stack(running: Stack) -> Iterator[dict[str, Any]]:
    # with a case store, as every gateway has one: the page asks it for alerts
    with running.serve_gateway(cases=running.case_store("web-cases"), alert_poll_s=5.0) as http:
        yield {
            "url": str(http.base_url).rstrip("/"),
            "http": http,
            "token": running.token(officer="det-4521"),
        }


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"Chromium is missing ({CHROMIUM}): install it with `make browser`"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def problems() -> list[str]:
    """Script errors and console errors (Content-Security-Policy violations among them)."""
    return []


@pytest.fixture
def page(browser: Any, stack: dict[str, Any], problems: list[str]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(20_000)
    tab = context.new_page()
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    tab.goto(stack["url"] + "/")
    yield tab
    context.close()


def sign_in(page: Any, token: str) -> None:
    page.get_by_label("Officer token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Purpose").wait_for()


def fill_search(
    page: Any, *, selectors: str = "", text: str = "", purpose: str = PURPOSE, case: str = CASE
) -> None:
    page.get_by_label("Free text").fill(text)
    page.get_by_label("Identifiers").fill(selectors)
    page.get_by_label("Purpose").fill(purpose)
    page.get_by_label("Case reference").fill(case)


def submit(page: Any) -> None:
    page.get_by_role("button", name="Search all agencies").click()


def result_keys(page: Any) -> set[tuple[str, str]]:
    rows = page.locator("#results .result").evaluate_all(
        "items => items.map(li => [li.dataset.agency, li.dataset.record])"
    )
    return {(agency, record) for agency, record in rows}


def test_an_officer_searches_sees_links_opens_a_record_and_pivots(
    page: Any, stack: dict[str, Any], problems: list[str], tmp_path: Path
) -> None:
    sign_in(page, stack["token"])
    assert "det-4521" in page.locator("#who-text").inner_text()
    storage = page.evaluate("() => [localStorage.length, Object.keys(sessionStorage)]")
    assert storage == [0, ["cets.officer-token"]]  # the token lives in the tab only
    assert stack["token"] not in page.url

    fill_search(page, selectors=SEARCHED)
    submit(page)
    results = page.locator("#results .result")
    results.first.wait_for()

    assert result_keys(page) == {
        ("tps", "tps-person"),
        ("tps", "tps-tip"),
        ("rcmp", "rcmp-person"),
        ("rcmp", "rcmp-tip"),
    }
    assert results.locator(".rank").all_inner_texts() == ["#1", "#2", "#3", "#4"]
    tps_row = page.locator('.result[data-record="tps-person"]')
    assert tps_row.locator(".agency-tag").inner_text() == "tps"
    assert tps_row.locator(".badge").inner_text().lower() == "full"
    assert "Dale Angelo" in tps_row.locator(".result-title").inner_text()
    assert SEARCHED in tps_row.locator(".matched").inner_text()
    rcmp_row = page.locator('.result[data-record="rcmp-tip"]')
    assert rcmp_row.locator(".badge").inner_text().lower() == "summary"
    assert rcmp_row.locator(".result-title").inner_text().startswith("summary only — contact rcmp")

    chips = {
        chip.get_attribute("data-agency"): chip
        for chip in page.locator("#agencies .chip").element_handles()
    }
    assert set(chips) == {"tps", "rcmp", "nca"}
    for chip in chips.values():
        assert chip.query_selector(".chip-status").inner_text().lower() == "ok"
        assert "ms" in (chip.get_attribute("title") or "")
    nca = chips["nca"].inner_text()
    assert "2 withheld" in nca and "National Crime Agency" in nca

    graph = page.locator("#graph svg")
    nodes = graph.locator("g.node")
    assert nodes.count() == 4
    assert set(nodes.evaluate_all("gs => gs.map(g => g.dataset.agency)")) == {"tps", "rcmp"}
    assert graph.locator("path.edge").count() >= 1
    assert SEARCHED in graph.locator("text.edge-label").first.inner_html()
    assert SEARCHED in page.locator("#links").inner_text()

    page.screenshot(path=str(tmp_path / "results.png"), full_page=True)

    tps_row.locator(".result-title").click()
    detail = page.locator("#detail")
    detail.wait_for()
    assert detail.locator("#detail-title").inner_text() == "tps/tps-person"
    record_table = detail.locator("table.kv").nth(1).inner_text()
    assert "Dale Angelo" in record_table
    page.screenshot(path=str(tmp_path / "detail.png"))

    page.get_by_role("button", name="Pivot").click()
    page.locator("#pivot-banner").wait_for()
    assert "tps/tps-person" in page.locator("#pivot-banner").inner_text()
    page.locator('.result[data-record="rcmp-phone"]').wait_for()  # found by the person's phone
    assert ("rcmp", "rcmp-person") in result_keys(page)
    labels = page.locator("#graph text.edge-label").all_text_contents()
    assert any("phone:+14165550142" in label for label in labels)
    assert detail.is_hidden()
    page.screenshot(path=str(tmp_path / "pivot.png"), full_page=True)

    assert problems == []  # no script errors, no Content-Security-Policy violations


def test_more_results_adds_the_next_page(page: Any, stack: dict[str, Any]) -> None:
    sign_in(page, stack["token"])
    fill_search(page, text="upload batch")
    submit(page)
    rows = page.locator("#results .result")
    rows.first.wait_for()
    assert rows.count() == 20
    more = page.get_by_role("button", name="More results")
    more.click()
    page.wait_for_function("() => document.querySelectorAll('#results .result').length > 20")
    assert rows.locator(".rank").all_inner_texts() == [f"#{n}" for n in range(1, 25)]
    assert len(result_keys(page)) == 24
    assert more.is_hidden()


def test_a_search_needs_a_purpose(page: Any, stack: dict[str, Any], tmp_path: Path) -> None:
    searches: list[str] = []
    page.on("request", lambda r: searches.append(r.url) if "/v1/search" in r.url else None)
    sign_in(page, stack["token"])
    fill_search(page, selectors=SEARCHED, purpose="")
    submit(page)
    purpose = page.get_by_label("Purpose")
    assert purpose.evaluate("input => input.validity.valueMissing") is True
    assert page.locator("#results .result").count() == 0
    assert searches == []  # the browser stopped it

    fill_search(page, selectors=SEARCHED, purpose="   ")  # blank to the gateway
    submit(page)
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "purpose" in alert.inner_text()
    assert "refused" in alert.inner_text()
    assert len(searches) == 1
    page.screenshot(path=str(tmp_path / "refused.png"))


def test_a_bad_token_shows_the_gateways_reason(page: Any) -> None:
    sign_in(page, "not-a-real-token")
    fill_search(page, selectors=SEARCHED)
    submit(page)
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "the token is malformed" in alert.inner_text()
    assert page.get_by_label("Officer token").is_visible()  # asked to sign in again
    assert page.evaluate("() => sessionStorage.length") == 0


def test_record_text_is_shown_as_text_never_as_markup(page: Any, stack: dict[str, Any]) -> None:
    sign_in(page, stack["token"])
    fill_search(page, text="swapped files")
    submit(page)
    row = page.locator('.result[data-record="tps-chat"]')
    row.wait_for()
    highlights = row.locator(".highlights dd")
    shown = highlights.first.inner_text()
    assert "<img" in shown and "&" in shown and '<b id="bold">' in shown
    assert row.locator("mark").count() >= 1
    assert page.locator("#injected, #bold").count() == 0
    assert highlights.first.evaluate(
        "dd => [...dd.querySelectorAll('*')].every(e => e.tagName === 'MARK')"
    )


def test_the_page_and_its_assets_are_served_with_a_strict_policy(stack: dict[str, Any]) -> None:
    http = stack["http"]
    page = http.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    for asset, kind in [("/static/app.js", "javascript"), ("/static/app.css", "text/css")]:
        reply = http.get(asset)
        assert reply.status_code == 200 and kind in reply.headers["content-type"]
    assert "/" not in http.get("/openapi.json").json()["paths"]
    markup = page.text.lower()
    assert not re.search(r"\son[a-z]+\s*=", markup)  # no inline event handlers
    assert not re.search(r"\sstyle\s*=|<style|<script>", markup)  # no inline style or script
    assert not re.search(r"(src|href)=\"(https?:)?//", markup)  # nothing from elsewhere
    script = http.get("/static/app.js").text
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


def test_a_dropped_image_is_hashed_at_the_gateway_and_its_copies_found(
    page: Any, stack: dict[str, Any], problems: list[str], tmp_path: Path
) -> None:
    picture = tmp_path / "found.png"
    original = scenes.encode(scenes.draw_scene(PICTURE_SEED))
    picture.write_bytes(original)
    uploads: list[str] = []
    page.on("request", lambda r: uploads.append(r.url) if r.method == "POST" else None)
    sign_in(page, stack["token"])
    page.locator("#q-image").set_input_files(str(picture))
    page.get_by_text("Image hashed").wait_for()
    assert "it was not kept" in page.locator("#image-status").inner_text()
    assert page.locator("#q-image").evaluate("input => input.files.length") == 0
    fill_search(page)
    submit(page)
    row = page.locator('.result[data-record="tps-image"]')
    row.wait_for()
    distance = pdq.hamming(hash_image(original).pdq, hash_image(_resized_copy()).pdq)
    shown = row.locator(".distance").inner_text()
    assert f"{distance} bits apart" in shown and "% similar" in shown
    assert [u.rsplit("/", 2)[-2:] for u in uploads] == [["images", "hash"], ["v1", "search"]]
    page.get_by_role("button", name="Remove image").click()
    assert page.locator("#image-status").inner_text() == ""
    assert problems == []


def test_a_summary_record_pivots_on_what_it_matched_and_cards_read_as_cards(
    page: Any, stack: dict[str, Any], problems: list[str]
) -> None:
    sign_in(page, stack["token"])
    fill_search(page, selectors=f"card:{CARD}")
    submit(page)
    summary = page.locator('.result[data-record="rcmp-payment"]')
    summary.wait_for()
    assert summary.locator(".badge").inner_text().lower() == "summary"
    matched = summary.locator(".matched code")
    assert matched.all_inner_texts() == ["card ending 1111"]  # tps released the card in full
    assert "never stored or shared" in (matched.first.get_attribute("title") or "")

    summary.locator(".result-title").click()
    page.locator("#detail").wait_for()
    pivot = page.get_by_role("button", name="Pivot")
    assert pivot.is_enabled()
    assert page.locator("#pivot-note").is_hidden()
    pivot.click()
    page.locator("#pivot-banner").wait_for()
    banner = page.locator("#pivot-banner").inner_text()
    assert "rcmp/rcmp-payment" in banner and "card ending 1111" in banner
    page.locator('.result[data-record="tps-card"]').wait_for()
    assert problems == []


def test_a_card_no_released_record_explains_is_labelled_by_a_short_fingerprint(
    page: Any, stack: dict[str, Any]
) -> None:
    sign_in(page, stack["token"])
    fill_search(page, selectors=f"card:{CARD}")
    page.locator("#types input[value='card_transaction']").check()  # only rcmp's summary
    submit(page)
    row = page.locator('.result[data-record="rcmp-payment"]')
    row.wait_for()
    (label,) = row.locator(".matched code").all_inner_texts()
    assert re.fullmatch(r"card \(fingerprint [0-9a-f]{8}…\)", label), label
