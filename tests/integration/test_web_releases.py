"""Staged release in a real browser (Chromium, as in test_web_page.py): an officer at tps sees
that nca only counted its match, asks nca to release it from the page; nca's administrator,
in nca's own gateway's page, approves it in full; the officer's page shows the approval and
opens the record. Real nodes, federation services, gateways and OpenSearch."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cets.common.keys import write_public_key
from cets.demo.local import AgencySpec
from cets.gateway.cases.store import CaseStore, connect, migrate
from helpers import ServedApp
from stacks import OPEN, gateway_app, local_stack

pytestmark = pytest.mark.opensearch

HIT_ONLY = 'contact = "NCA CEOP Command"\n[defaults]\nmember = "hit"\ncoordinator = "hit"\n'
SPECS = (
    AgencySpec("tps", "Toronto Police Service", "CA", policy=OPEN),
    AgencySpec("nca", "National Crime Agency", "GB", policy=HIT_ONLY),
)
EMAIL = "dale.angel77@gmail.com"
SECRET = "Subscriber paid with a card ending 4242"
CHROMIUM = Path(os.environ.get("CETS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]


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


@pytest.fixture(scope="module")
def sites(opensearch_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("web-releases")
    with local_stack(
        opensearch_url, root, SPECS, index_prefix="webrel", drop_indices=True
    ) as stack:
        officers = root / "officers.pub"
        write_public_key(officers, stack.issuer)
        stack.ingest(
            {
                "nca": [
                    {
                        "id": "nca-tip",
                        "type": "tip",
                        "text": f"{SECRET}; account {EMAIL}",
                        "emails": [EMAIL],
                        "created": "2026-11-30",
                    }
                ]
            }
        )
        urls = {}
        for agency in ("tps", "nca"):
            stack.start_node(agency, officer_key_file=officers)
            stack.start_federation(agency)
            store = CaseStore(connect(f"sqlite:///{root / f'{agency}-cases.db'}"))
            migrate(store.engine)
            app = gateway_app(
                agency,
                stack.issuer,
                stack.federations[agency],
                root / f"{agency}-gateway.log",
                rate_limit="1000/minute",
                cases=store,
                alert_poll_s=0.5,
                node_target=stack.fed.agency(agency).node_target,
            )
            http = stack.enter_context(ServedApp(app))
            urls[agency] = str(http.base_url).rstrip("/")
        yield {
            "urls": urls,
            "officer": stack.token(officer="det-4521", agency="tps"),
            "admin": stack.token(officer="admin-1", agency="nca", roles=["admin"]),
        }


def open_page(browser: Any, url: str, problems: list[str]) -> Any:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(30_000)
    tab = context.new_page()
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" else None,
    )
    tab.goto(url + "/")
    return tab


def sign_in(page: Any, token: str) -> None:
    page.get_by_label("Officer token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#q-purpose").wait_for()


def test_request_release_approve_it_as_the_owner_and_see_the_record(
    browser: Any, sites: Any, tmp_path: Path
) -> None:
    problems: list[str] = []  # script and console errors, CSP violations among them
    officer = open_page(browser, sites["urls"]["tps"], problems)
    sign_in(officer, sites["officer"])
    officer.locator("#q-selectors").fill(f"email:{EMAIL}")
    officer.locator("#q-purpose").fill("identify the account holder")
    officer.locator("#q-case").fill("TPS-2026-0042")
    officer.get_by_role("button", name="Search all agencies").click()
    offer = officer.locator('#release-offers .request-release[data-agency="nca"]')
    offer.wait_for()
    assert "1 withheld" in offer.inner_text()
    offer.click()
    assert officer.locator("#release-purpose").input_value() == "identify the account holder"
    assert officer.locator("#release-case").input_value() == "TPS-2026-0042"
    officer.locator("#release-message").fill("Our suspect: who pays for the account?")
    officer.get_by_role("button", name="Send the request").click()
    mine = officer.locator('#release-list .release[data-agency="nca"]')
    mine.wait_for()
    assert "pending" in mine.locator(".release-state").inner_text().lower()
    assert officer.locator("#release-admin").is_hidden()  # an officer, no administrator

    admin = open_page(browser, sites["urls"]["nca"], problems)
    sign_in(admin, sites["admin"])
    admin.get_by_role("button", name="Show release requests").click()
    waiting = admin.locator("#admin-list .admin-request")
    waiting.wait_for()
    assert "tps (det-4521) asks for nca-tip" in waiting.inner_text()
    assert "Our suspect: who pays for the account?" in waiting.inner_text()
    waiting.locator(".admin-level").select_option("full")
    waiting.locator(".admin-days").fill("7")
    admin.screenshot(path=str(tmp_path / "admin.png"), full_page=True)
    waiting.get_by_role("button", name="Approve").click()
    admin.get_by_text("No requests are waiting.").wait_for()

    # the officer's page refreshes while a request is pending; the decision arrives
    mine.locator(".state-approved").wait_for(timeout=45_000)
    assert "approved at full" in mine.inner_text().lower()
    mine.get_by_role("button", name="Open nca-tip").click()
    detail = officer.locator("#detail")
    detail.wait_for()
    assert detail.locator("#detail-title").inner_text() == "nca/nca-tip"
    assert SECRET in detail.inner_text()  # the record itself, released under the approval
    assert "Released to you by nca at full" in detail.locator(".release-note").inner_text()
    officer.screenshot(path=str(tmp_path / "released.png"), full_page=True)
    assert problems == []
