"""The gateway's side of staged release without partners: requests stored in the case store's
database (a SQLite file), decisions applied once and only to this agency's pending requests,
each partner's cursor kept with them, the collector's refusals reported, what a fetch under an
approval is refused for, and the administrators' role in officer tokens."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cets.gateway.alerts import Collected, Collector
from cets.gateway.api import _release_problem
from cets.gateway.cases.store import CaseStore, connect, migrate
from cets.gateway.releases import ReleaseBook, ReleaseNotFound
from cets.gateway.tokens import ADMIN, issue_token, verify_token
from cets.v1 import releases_pb2, search_pb2

OK = search_pb2.AgencyStatus.CODE_OK
APPROVED, DENIED = releases_pb2.Decision.OUTCOME_APPROVED, releases_pb2.Decision.OUTCOME_DENIED


@pytest.fixture
def book(tmp_path: Path) -> ReleaseBook:
    engine = connect(f"sqlite:///{tmp_path / 'cases.db'}")
    migrate(engine)
    return ReleaseBook(engine)


def _file(
    book: ReleaseBook, release_id: str, officer: str = "det-1", case: str | None = None
) -> dict[str, Any]:
    return book.filed(
        agency="nca",
        release_id=release_id,
        officer=officer,
        purpose="identify",
        case_reference="TPS-1",
        case=case,
        record_id=None,
        selectors=["email:a@b.org"],
        message="",
    )


def _approval(release_id: str, *, agency: str = "nca", days: int = 1) -> releases_pb2.Decision:
    decision = releases_pb2.Decision(
        release_id=release_id,
        agency=agency,
        outcome=APPROVED,
        level=search_pb2.DISCLOSURE_LEVEL_SUMMARY,
        record_ids=["nca-tip"],
    )
    decision.expires.FromDatetime(datetime.now(UTC) + timedelta(days=days))
    decision.decided.FromDatetime(datetime.now(UTC))
    return decision


def test_a_decision_applies_once_and_only_to_a_pending_request_of_ours(book: ReleaseBook) -> None:
    assert _file(book, "r1")["status"] == "pending"
    _file(book, "r2")
    deny = releases_pb2.Decision(release_id="r2", agency="nca", outcome=DENIED, reason="no")
    applied = asyncio.run(book.save("nca", [_approval("r1"), deny, _approval("stray")], "c1"))
    assert [(r["release_id"], r["status"]) for r in applied] == [
        ("r1", "approved"),
        ("r2", "denied"),
    ]
    again = asyncio.run(
        book.save("nca", [releases_pb2.Decision(release_id="r1", outcome=DENIED)], "c2")
    )
    assert again == []  # a decision is final: the approval stands
    approved = book.get("det-1", "nca", "r1")
    assert (approved["level"], approved["record_ids"], approved["expired"]) == (
        "summary",
        ["nca-tip"],
        False,
    )
    assert book.get("det-1", "nca", "r2")["reason"] == "no"
    assert asyncio.run(book.cursors()) == {"nca": "c2"}
    with pytest.raises(ReleaseNotFound):
        book.get("det-2", "nca", "r1")  # someone else's request: not found, like none at all
    assert [r["release_id"] for r in book.mine("det-1", status="pending")] == []
    assert {r["release_id"] for r in book.mine("det-1")} == {"r1", "r2"}


def test_a_decision_is_on_its_case_timeline_as_soon_as_it_is_seen(tmp_path: Path) -> None:
    """The decision and its timeline entry are one transaction: no reader sees one without
    the other (an officer who sees 'approved' finds it on the case)."""
    engine = connect(f"sqlite:///{tmp_path / 'cases.db'}")
    migrate(engine)
    cases = CaseStore(engine)
    cases.create(reference="TPS-1", title="t", lead="det-1", members=[])
    book = ReleaseBook(engine, cases)
    _file(book, "r1", case="TPS-1")
    [applied] = asyncio.run(book.save("nca", [_approval("r1")], "c1"))
    assert applied["status"] == "approved"
    timeline = cases.show("TPS-1", "det-1")["timeline"]
    assert [(e["what"], e["detail"]) for e in timeline if e["what"].startswith("release")] == [
        ("release approved", {"agency": "nca", "release": "r1", "level": "summary"})
    ]


def test_an_approval_that_names_no_level_it_may_release_is_ignored(book: ReleaseBook) -> None:
    _file(book, "r1")
    bad = _approval("r1")
    bad.level = search_pb2.DISCLOSURE_LEVEL_HIT
    assert asyncio.run(book.save("nca", [bad], "c1")) == []
    assert book.get("det-1", "nca", "r1")["status"] == "pending"


def test_what_a_fetch_under_a_release_is_refused_for() -> None:
    held = {
        "release_id": "r1",
        "status": "approved",
        "record_ids": ["nca-tip"],
        "expired": False,
        "expires": "2026-12-04T00:00:00Z",
    }
    assert _release_problem(held, "nca-tip") == ""
    assert "does not cover" in _release_problem(held, "nca-other")
    assert "expired" in _release_problem({**held, "expired": True}, "nca-tip")
    assert "pending" in _release_problem({**held, "status": "pending"}, "nca-tip")


class _Partners:
    def __init__(self, answers: list[releases_pb2.DecisionsFrom]) -> None:
        self.answers = answers

    async def pull(self, cursors: Mapping[str, str]) -> releases_pb2.FederatedDecisions:
        return releases_pb2.FederatedDecisions(answers=self.answers)


def test_the_collector_stores_decisions_and_reports_partners_that_failed(
    book: ReleaseBook,
) -> None:
    _file(book, "r1")
    answers = [
        releases_pb2.DecisionsFrom(
            status=search_pb2.AgencyStatus(agency="nca", code=OK),
            batch=releases_pb2.DecisionBatch(
                agency="nca", decisions=[_approval("r1")], next_cursor="c1"
            ),
        ),
        releases_pb2.DecisionsFrom(
            status=search_pb2.AgencyStatus(
                agency="rcmp",
                code=search_pb2.AgencyStatus.CODE_ERROR,
                reason="bad answer signature",
            )
        ),
        releases_pb2.DecisionsFrom(  # one partner speaking for another: refused
            status=search_pb2.AgencyStatus(agency="fbi", code=OK),
            batch=releases_pb2.DecisionBatch(
                agency="fbi", decisions=[_approval("r1", agency="nca")]
            ),
        ),
    ]
    reports: list[Collected] = []

    class Sink:
        async def cursors(self) -> dict[str, str]:
            return await book.cursors()

        async def save(self, agency: str, items: Any, next_cursor: str) -> int:
            return len(await book.save(agency, items, next_cursor))

    async def report(done: Collected) -> None:
        reports.append(done)

    collector: Collector[releases_pb2.Decision] = Collector(
        _Partners(answers).pull,
        Sink(),
        interval_s=60,
        items=lambda batch: batch.decisions,
        owner=lambda d: d.agency,
        collected=report,
    )
    done = asyncio.run(collector.collect())
    assert (done.new, done.failed) == (1, ("fbi", "rcmp"))
    assert done.reasons["rcmp"] == "bad answer signature"
    assert reports == [done]
    assert book.get("det-1", "nca", "r1")["status"] == "approved"


def test_an_administrator_is_an_officer_with_the_admin_role() -> None:
    key = Ed25519PrivateKey.generate()
    token = issue_token(key, officer="admin-1", agency="nca", roles=["officer", ADMIN])
    assert verify_token(token, key.public_key(), agency="nca").roles == {"officer", ADMIN}
