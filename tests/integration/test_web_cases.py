"""Cases on the officers' web page, in a real browser against a real federation and a real
gateway with its case store: open a case, search under its reference, add hits to it, see them
with their links, notes and timeline; watch the suspect's e-mail at every partner; rcmp later
records a tip naming the address in another form; the alert arrives in the page by itself (the
badge in the top bar, the case's alert list) at rcmp's level. Then the printable report."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_web_page as web
from test_web_page import SEARCHED, fill_search, sign_in, submit

from stacks import Stack, three_agencies_fixture

pytestmark = pytest.mark.opensearch

# a federation of its own (its indices, its case store); the page's browser and tabs
running = three_agencies_fixture(web.records, index_prefix="webcases", name="running")
browser, page, problems = web.browser, web.page, web.problems

REFERENCE = "TPS-2026-00077"
HOSTILE_NOTE = '<img src=x id="injected-note"> asked <b id="bold-note">RCMP</b>'
LATER_TIP = {
    "id": "rcmp-late-tip",
    "type": "tip",
    "created": "2026-12-01",
    "text": "New report on the same mailbox",
    "emails": ["Dark.Angel.77+new@googlemail.com"],  # the watched address, written another way
}


@pytest.fixture(scope="module")
def stack(running: Stack) -> Iterator[dict[str, Any]]:
    store = running.case_store()
    with running.serve_gateway(cases=store, alert_poll_s=5.0) as http:
        yield {
            "url": str(http.base_url).rstrip("/"),
            "http": http,
            "token": running.token(officer="det-4521"),
            "running": running,
        }


def test_an_officer_opens_a_case_watches_it_and_sees_a_partners_alert_arrive(
    page: Any, stack: dict[str, Any], problems: list[str], tmp_path: Path
) -> None:
    page.add_init_script("window.print = () => { window.__printed = (window.__printed || 0) + 1; }")
    page.reload()
    sign_in(page, stack["token"])
    assert page.locator("#alert-count").is_hidden()  # nothing new yet

    page.get_by_role("button", name="Cases", exact=True).click()
    page.locator("#nc-reference").fill(REFERENCE)
    page.get_by_label("Title").fill("Dale Angelo, online luring")
    page.get_by_label("Members").fill("det-2")
    page.get_by_role("button", name="Open case").click()
    page.locator("#case-title").filter(has_text=REFERENCE).wait_for()
    assert "det-2, det-4521" in page.locator("#case-meta").inner_text()
    page.locator(f'#case-list [data-reference="{REFERENCE}"]').first.wait_for()

    # search under the case and add hits to it
    page.get_by_role("button", name="Search", exact=True).click()
    fill_search(page, selectors=SEARCHED, case=REFERENCE)
    submit(page)
    page.locator("#results .result").first.wait_for()
    for record in ("tps-person", "rcmp-person"):
        row = page.locator(f'#results .result[data-record="{record}"]')
        row.get_by_role("button", name="Add to case").click()
        row.get_by_role("button", name=f"Added to {REFERENCE}").wait_for()
    assert page.locator("#pin-case").input_value() == REFERENCE  # the case the search names
    assert page.locator("#detail").is_hidden()  # adding is not opening the record
    page.get_by_role("button", name="Save this search to the case").click()
    page.get_by_role("button", name=f"Saved to {REFERENCE}").wait_for()

    page.get_by_role("button", name="Cases", exact=True).click()
    page.wait_for_function("() => document.querySelectorAll('#case-hits .pinned-hit').length == 2")
    hits = page.locator("#case-hits .pinned-hit")
    assert {h.get_attribute("data-record") for h in hits.element_handles()} == {
        "tps-person",
        "rcmp-person",
    }
    rcmp = page.locator('#case-hits .pinned-hit[data-record="rcmp-person"]')
    assert "summary" in rcmp.locator(".badge").inner_text().lower()
    assert "pinned by det-4521" in rcmp.inner_text()
    graph = page.locator("#case-graph svg")  # the two agencies' records share the address
    assert graph.locator("g.node").count() == 2
    assert SEARCHED in page.locator("#case-links").inner_text()
    assert SEARCHED in page.locator("#case-searches").inner_text()
    timeline = page.locator("#case-timeline").inner_text()
    assert "det-4521: searched (online luring investigation)" in timeline
    assert "det-4521: lead added hit rcmp/rcmp-person" in timeline

    page.get_by_label("New note").fill(HOSTILE_NOTE)
    page.get_by_role("button", name="Add note").click()
    page.locator("#case-notes .note-text").first.wait_for()
    assert page.locator("#case-notes .note-text").first.inner_text() == HOSTILE_NOTE
    assert page.locator("#injected-note, #bold-note").count() == 0  # text, never markup

    # the suspect's address, from the pinned hit, becomes a selector of interest; watch it
    tps = page.locator('#case-hits .pinned-hit[data-record="tps-person"]')
    tps.get_by_role("button", name=f"Add {SEARCHED} to the selectors of interest").click()
    page.locator("#case-selectors code", has_text=SEARCHED).wait_for()
    page.get_by_label("Why watch").fill("new reports on the suspect")
    page.get_by_role("button", name="Watch at every partner").click()
    page.locator('#watch-outcome [data-agency="rcmp"]').wait_for()
    assert page.locator("#watch-outcome").inner_text().count(" ok") == 3
    page.locator("#case-meta", has_text="watched at every partner until").wait_for()
    assert page.locator("#case-alerts .alert-item").count() == 0

    # later, rcmp records a tip naming the address its own way; its ingest says whom to tell
    summary = stack["running"].ingest_watched("rcmp", [LATER_TIP])
    assert summary.watchers == {"tps": 1}
    raised = time.monotonic()

    # the alert arrives in the page by itself: the badge, and the case's alert list
    page.locator("#alert-count", has_text="1").wait_for(timeout=60_000)
    page.locator('#case-alerts .alert-item[data-agency="rcmp"]').wait_for(timeout=20_000)
    arrived = time.monotonic() - raised
    alert = page.locator("#case-alerts .alert-item").inner_text()
    assert "rcmp/rcmp-late-tip" in alert and "summary" in alert  # rcmp's level for tps
    assert SEARCHED in alert  # the watched selector it matched
    assert "alert from rcmp" in page.locator("#case-timeline").inner_text()
    assert arrived < 45, arrived
    page.screenshot(path=str(tmp_path / "case-alert.png"), full_page=True)

    page.get_by_role("button", name="Alerts: 1 new").click()
    listed = page.locator('#alert-list .alert-item[data-agency="rcmp"]')
    listed.wait_for()
    assert REFERENCE in listed.inner_text()
    assert page.locator("#alert-count").is_hidden()  # looked at now
    listed.get_by_role("button", name=f"case {REFERENCE}").click()
    page.locator("#case-title").filter(has_text=REFERENCE).wait_for()

    # the printable report: on the page, printed alone under the print stylesheet
    page.get_by_role("button", name="Print report").click()
    report = page.locator("#case-report")
    report.get_by_role("heading", name=f"Case report: {REFERENCE}").wait_for()
    assert page.evaluate("() => window.__printed") == 1
    text = report.inner_text()
    for expected in ("tps-person", "rcmp-person", SEARCHED, "rcmp-late-tip", HOSTILE_NOTE):
        assert expected in text
    assert "Dale Angelo" in text  # what tps released in full when it was pinned
    page.emulate_media(media="print")
    assert page.locator("#cases-view").is_hidden() and page.locator(".topbar").is_hidden()
    assert report.is_visible()
    assert report.get_by_role("button", name="Print").is_hidden()
    page.emulate_media(media="screen")
    report.get_by_role("button", name="Close report").click()

    # and the gateway's own printable HTML report, saved as a file
    with page.expect_download() as download:
        page.get_by_role("button", name="Save printable report (HTML)").click()
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert "@media print" in saved and REFERENCE in saved and "rcmp-late-tip" in saved
    assert "<img src=x" not in saved  # the note escaped

    assert problems == []


def test_an_officer_not_on_the_case_sees_neither_it_nor_its_alerts(
    stack: dict[str, Any],
) -> None:
    http, running = stack["http"], stack["running"]
    other = {"Authorization": f"Bearer {running.token(officer='det-9')}"}
    assert http.get(f"/v1/cases/{REFERENCE}", headers=other).status_code == 404
    assert http.get("/v1/alerts", headers=other).json() == []
    assert http.get("/v1/cases", headers=other).json() == []
