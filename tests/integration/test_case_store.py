"""The case store on a real SQLite file and a real PostgreSQL server (started by the suite):
migrations from empty, cases and their leads, access only for members, optimistic concurrency
that never loses a change, alerts stored once with their cursor."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from cets.gateway.cases.store import (
    CaseConflict,
    CaseNotFound,
    CaseStore,
    StaleCase,
    connect,
    migrate,
)
from cets.v1 import search_pb2, watches_pb2


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = connect(f"sqlite:///{tmp_path / 'cases.db'}")
    else:
        url: str = request.getfixturevalue("postgres_url")
        name = f"cases_{secrets.token_hex(4)}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as db:
            db.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        engine = connect(url.rsplit("/", 1)[0] + f"/{name}")
    migrate(engine)
    migrate(engine)  # a second start changes nothing
    yield engine
    engine.dispose()


def test_a_case_holds_its_leads_notes_and_timeline(engine: Engine) -> None:
    store = CaseStore(engine)
    case = store.create(
        reference="TPS-1", title="Luring, east end", lead="det-1", members=["det-2"]
    )
    assert (case["status"], case["version"], case["members"]) == ("open", 1, ["det-1", "det-2"])
    hit = {"agency": "rcmp", "record_id": "r-9", "disclosure": "summary", "title": ""}
    case = store.add_lead("TPS-1", "det-2", kind="hit", agency="rcmp", record_id="r-9", content=hit)
    case = store.add_lead("TPS-1", "det-1", kind="selector", selector="email:a@b.org", content={})
    case = store.add_note("TPS-1", "det-1", "Spoke to the RCMP analyst.")
    assert [lead["kind"] for lead in case["leads"]] == ["hit", "selector"]
    assert case["leads"][0]["content"] == hit
    assert case["notes"][0]["author"] == "det-1"
    assert [e["what"] for e in case["timeline"]] == [
        "created",
        "lead added",
        "lead added",
        "note added",
    ]
    with pytest.raises(CaseConflict):
        store.add_lead("TPS-1", "det-1", kind="hit", agency="rcmp", record_id="r-9", content=hit)
    case = store.remove_lead("TPS-1", "det-1", case["leads"][0]["id"])
    assert [lead["kind"] for lead in case["leads"]] == ["selector"]
    with pytest.raises(CaseConflict):
        store.create(reference="TPS-1", title="again", lead="det-9", members=[])


def test_only_members_see_a_case_and_others_cannot_tell_it_exists(engine: Engine) -> None:
    store = CaseStore(engine)
    store.create(reference="TPS-2", title="t", lead="det-1", members=[])
    for attempt in (
        lambda: store.show("TPS-2", "det-3"),
        lambda: store.add_note("TPS-2", "det-3", "x"),
        lambda: store.show("TPS-404", "det-1"),
    ):
        with pytest.raises(CaseNotFound) as caught:
            attempt()
        assert "that you are a member of" in str(caught.value)
    assert [c["reference"] for c in store.mine("det-1")] == ["TPS-2"]
    assert store.mine("det-3") == []


def test_two_officers_editing_at_once_never_lose_a_change(engine: Engine) -> None:
    store = CaseStore(engine)
    read = store.create(reference="TPS-3", title="first", lead="det-1", members=["det-2"])
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def edit(officer: str, title: str) -> None:
        barrier.wait()
        try:
            store.update("TPS-3", officer, version=read["version"], title=title)
            outcomes.append(title)
        except StaleCase as exc:
            outcomes.append(f"stale:{exc.current}")

    threads = [threading.Thread(target=edit, args=a) for a in (("det-1", "A"), ("det-2", "B"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [o for o in outcomes if not o.startswith("stale")]
    assert len(won) == 1 and outcomes.count("stale:2") == 1, outcomes
    assert store.show("TPS-3", "det-1")["title"] == won[0]
    closed = store.update("TPS-3", "det-1", version=2, status="closed")
    assert closed["status"] == "closed" and closed["timeline"][-1]["what"] == "closed"


def test_alerts_are_stored_once_with_their_cursor(engine: Engine) -> None:
    store = CaseStore(engine)
    store.create(reference="TPS-4", title="t", lead="det-1", members=[])
    batch = [
        watches_pb2.Alert(
            alert_id="a" * 32,
            agency="nca",
            case_reference="TPS-4",
            disclosure=search_pb2.DISCLOSURE_LEVEL_HIT,
        )
    ]
    assert asyncio.run(store.save("nca", batch, "c1")) == 1
    assert asyncio.run(store.save("nca", batch, "c2")) == 0  # the same alert again
    assert asyncio.run(store.cursors()) == {"nca": "c2"}
    [alert] = store.alerts_for("det-1")
    assert (alert["agency"], alert["disclosure"], alert["case_reference"]) == (
        "nca",
        "hit",
        "TPS-4",
    )
    assert store.alerts_for("det-9") == []
    assert store.show("TPS-4", "det-1")["timeline"][-1]["what"] == "alert"
