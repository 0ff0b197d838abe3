"""The case store: cases, their leads, notes and timeline, and the alerts that reach them.

A relational database behind SQLAlchemy 2 (Core): SQLite by default, a file beside the
gateway's audit log, so nothing else needs to run; PostgreSQL in deployment
(``CETS_GATEWAY_DATABASE_URL``). The schema is created and upgraded by Alembic migrations
shipped in this package (:func:`migrate`), at the gateway's start.

Access: an officer sees a case only if it is of this agency and the officer is one of its
members; any other case is :class:`CaseNotFound`, exactly as one that does not exist. Every
change bumps the case's ``version``; an update that names an older version is
:class:`StaleCase` and changes nothing, so two officers never overwrite each other silently.
SQLAlchemy's errors are translated here and nowhere else. The calls are synchronous; the REST
adapter runs them in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from google.protobuf import json_format
from sqlalchemy import Connection, Engine, create_engine, delete, event, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from cets.core.errors import CetsError
from cets.gateway.cases.tables import (
    alert_cursors,
    alerts,
    case_members,
    cases,
    leads,
    notes,
    timeline,
)
from cets.v1 import watches_pb2

__all__ = [
    "CaseConflict",
    "CaseError",
    "CaseNotFound",
    "CaseStore",
    "StaleCase",
    "StoreUnavailable",
    "connect",
    "migrate",
]

MIGRATIONS = Path(__file__).parent / "migrations"
MAX_MEMBERS = 50


class CaseError(CetsError):
    """Root of the case store's errors; messages are safe to show the officer."""


class CaseNotFound(CaseError):
    """No such case, or not one this officer may see (said the same way)."""


class StaleCase(CaseError):
    """The case changed since the version the officer last read."""

    def __init__(self, message: str, current: int) -> None:
        super().__init__(message)
        self.current = current


class CaseConflict(CaseError):
    """A case with that reference exists already, or the lead is pinned already."""


class StoreUnavailable(CaseError):
    """The database cannot be reached or written."""


def connect(url: str) -> Engine:
    """An engine for ``url``; SQLite files get foreign keys and a write-ahead log."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi: Any, _: Any) -> None:
            cursor = dbapi.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (safe on every start)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with translated("prepare the case store"), engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def translated(action: str) -> Iterator[None]:
    """The one place the case database's errors become the store's: unreachable or failing
    SQL is :class:`StoreUnavailable`, the store's own errors pass through."""
    try:
        yield
    except CaseError:
        raise
    except OperationalError:
        raise StoreUnavailable(f"the case store is unavailable; could not {action}") from None
    except SQLAlchemyError as exc:
        raise StoreUnavailable(
            f"the case store failed to {action} ({type(exc).__name__})"
        ) from None


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive times: they were stored as UTC
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class CaseStore:
    engine: Engine

    # --- cases --------------------------------------------------------------------------------

    def create(
        self, *, reference: str, title: str, lead: str, members: Sequence[str]
    ) -> dict[str, Any]:
        now = _now()
        people = sorted({lead, *members})
        if len(people) > MAX_MEMBERS:
            raise CaseError(f"a case has at most {MAX_MEMBERS} members")
        with translated("create the case"):
            try:
                with self.engine.begin() as db:
                    case_id = db.execute(
                        insert(cases).values(
                            reference=reference,
                            title=title,
                            status="open",
                            lead_officer=lead,
                            created=now,
                            updated=now,
                            version=1,
                        )
                    ).inserted_primary_key[0]  # type: ignore[index]
                    db.execute(
                        insert(case_members), [{"case_id": case_id, "officer": o} for o in people]
                    )
                    self._log(db, case_id, lead, "created", {"title": title, "members": people})
            except IntegrityError:
                raise CaseConflict(f"a case {reference!r} exists already") from None
        return self.show(reference, lead)

    def mine(self, officer: str) -> list[dict[str, Any]]:
        with translated("list cases"), self.engine.connect() as db:
            rows = db.execute(
                select(cases)
                .join(case_members, case_members.c.case_id == cases.c.id)
                .where(case_members.c.officer == officer)
                .order_by(cases.c.updated.desc())
            ).mappings()
            return [self._summary(r) for r in rows]

    def show(self, reference: str, officer: str) -> dict[str, Any]:
        with translated("read the case"), self.engine.connect() as db:
            case = self._visible(db, reference, officer)
            return self._full(db, case)

    def update(
        self,
        reference: str,
        officer: str,
        *,
        version: int,
        title: str | None = None,
        members: Sequence[str] | None = None,
        status: str | None = None,
    ) -> dict[str, Any]:
        """Change title, members or status, if the case is still at ``version``."""
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = title
        if status is not None:
            changes["status"] = status
        with translated("update the case"), self.engine.begin() as db:
            case = self._visible(db, reference, officer)
            self._bump(db, case, version=version, **changes)
            if members is not None:
                people = sorted({case["lead_officer"], *members})
                if len(people) > MAX_MEMBERS:
                    raise CaseError(f"a case has at most {MAX_MEMBERS} members")
                db.execute(delete(case_members).where(case_members.c.case_id == case["id"]))
                db.execute(
                    insert(case_members), [{"case_id": case["id"], "officer": o} for o in people]
                )
                changes["members"] = people
            what = "closed" if status == "closed" else "reopened" if status == "open" else "updated"
            self._log(db, case["id"], officer, what, changes)
            return self._full(db, self._visible(db, reference, officer))

    # --- leads, notes, the timeline -------------------------------------------------------------

    def add_lead(
        self,
        reference: str,
        officer: str,
        *,
        kind: str,
        content: Mapping[Any, Any],
        agency: str | None = None,
        record_id: str | None = None,
        selector: str | None = None,
    ) -> dict[str, Any]:
        with translated("add the lead"), self.engine.begin() as db:
            case = self._visible(db, reference, officer)
            duplicate = db.execute(
                select(leads.c.id).where(
                    leads.c.case_id == case["id"],
                    leads.c.kind == kind,
                    leads.c.agency.is_(agency) if agency is None else leads.c.agency == agency,
                    leads.c.record_id.is_(record_id)
                    if record_id is None
                    else leads.c.record_id == record_id,
                    leads.c.selector.is_(selector)
                    if selector is None
                    else leads.c.selector == selector,
                )
            ).first()
            if duplicate is not None and kind != "search":
                raise CaseConflict("that lead is on the case already")
            lead_id = db.execute(
                insert(leads).values(
                    case_id=case["id"],
                    kind=kind,
                    agency=agency,
                    record_id=record_id,
                    selector=selector,
                    content=dict(content),
                    added_by=officer,
                    added=_now(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            self._bump(db, case)
            detail = {"lead": lead_id, "kind": kind, "agency": agency, "record": record_id}
            if selector:
                detail["selector"] = selector
            self._log(db, case["id"], officer, "lead added", detail)
            return self._full(db, self._visible(db, reference, officer))

    def remove_lead(self, reference: str, officer: str, lead_id: int) -> dict[str, Any]:
        with translated("remove the lead"), self.engine.begin() as db:
            case = self._visible(db, reference, officer)
            gone = db.execute(
                delete(leads).where(leads.c.id == lead_id, leads.c.case_id == case["id"])
            ).rowcount
            if not gone:
                raise CaseNotFound(f"the case has no lead {lead_id}")
            self._bump(db, case)
            self._log(db, case["id"], officer, "lead removed", {"lead": lead_id})
            return self._full(db, self._visible(db, reference, officer))

    def add_note(self, reference: str, officer: str, text: str) -> dict[str, Any]:
        with translated("add the note"), self.engine.begin() as db:
            case = self._visible(db, reference, officer)
            db.execute(
                insert(notes).values(case_id=case["id"], text=text, author=officer, written=_now())
            )
            self._bump(db, case)
            self._log(db, case["id"], officer, "note added", {"length": len(text)})
            return self._full(db, self._visible(db, reference, officer))

    def searched(self, reference: str, officer: str, detail: Mapping[Any, Any]) -> bool:
        """Put a federated search run for the case on its timeline (False: no such case for
        this officer, which is allowed: a reference need not name a case here)."""
        return self.happened(reference, officer, "searched", detail)

    def happened(self, reference: str, officer: str, what: str, detail: Mapping[Any, Any]) -> bool:
        """Put something done for the case elsewhere (a search, a release request or its
        decision) on its timeline; False when ``officer`` has no such case."""
        with translated(f"record '{what}'"), self.engine.begin() as db:
            return self.happened_in(db, reference, officer, what, detail)

    def happened_in(
        self, db: Connection, reference: str, officer: str, what: str, detail: Mapping[Any, Any]
    ) -> bool:
        """:meth:`happened` inside the caller's transaction (the release book records an
        owner's decision and its timeline entry together, so one is never seen without the
        other)."""
        try:
            case = self._visible(db, reference, officer)
        except CaseNotFound:
            return False
        self._log(db, case["id"], officer, what, dict(detail))
        return True

    def set_watched(
        self, reference: str, officer: str, until: datetime | None, detail: Mapping[Any, Any]
    ) -> None:
        with translated("record the watch"), self.engine.begin() as db:
            case = self._visible(db, reference, officer)
            db.execute(update(cases).where(cases.c.id == case["id"]).values(watched_until=until))
            self._bump(db, case)
            what = "watch set" if until is not None else "watch removed"
            self._log(db, case["id"], officer, what, dict(detail))

    # --- alerts ------------------------------------------------------------------------------

    async def cursors(self) -> dict[str, str]:
        return await asyncio.to_thread(self._cursors)

    def _cursors(self) -> dict[str, str]:
        with translated("read alert cursors"), self.engine.connect() as db:
            return {r.agency: r.cursor for r in db.execute(select(alert_cursors))}

    async def save(self, agency: str, batch: Sequence[watches_pb2.Alert], next_cursor: str) -> int:
        return await asyncio.to_thread(self._save, agency, batch, next_cursor)

    def _save(self, agency: str, batch: Sequence[watches_pb2.Alert], next_cursor: str) -> int:
        """Store a partner's alerts and its next cursor in one transaction."""
        new = 0
        with translated("store alerts"), self.engine.begin() as db:
            known = {
                r.alert_id
                for r in db.execute(
                    select(alerts.c.alert_id).where(
                        alerts.c.agency == agency,
                        alerts.c.alert_id.in_([a.alert_id for a in batch]),
                    )
                )
            }
            now = _now()
            for alert in batch:
                if alert.alert_id in known:
                    continue
                known.add(alert.alert_id)
                level = json_format.MessageToDict(alert).get("disclosure", "")
                db.execute(
                    insert(alerts).values(
                        agency=agency,
                        alert_id=alert.alert_id,
                        case_reference=alert.case_reference,
                        disclosure=level.removeprefix("DISCLOSURE_LEVEL_").lower(),
                        record_id=alert.hit.record_id if alert.HasField("hit") else None,
                        content=json_format.MessageToDict(alert, preserving_proto_field_name=True),
                        received=now,
                    )
                )
                case_id = db.execute(
                    select(cases.c.id).where(cases.c.reference == alert.case_reference)
                ).scalar()
                if case_id is not None:
                    self._log(
                        db,
                        case_id,
                        "-",
                        "alert",
                        {"agency": agency, "alert": alert.alert_id, "level": level},
                    )
                new += 1
            found = db.execute(
                select(alert_cursors.c.agency).where(alert_cursors.c.agency == agency)
            ).first()
            if found is None:
                db.execute(insert(alert_cursors).values(agency=agency, cursor=next_cursor))
            else:
                db.execute(
                    update(alert_cursors)
                    .where(alert_cursors.c.agency == agency)
                    .values(cursor=next_cursor)
                )
        return new

    def alerts_for(self, officer: str, reference: str | None = None) -> list[dict[str, Any]]:
        """Alerts of the officer's cases (of one case), newest first."""
        with translated("read alerts"), self.engine.connect() as db:
            query = (
                select(alerts)
                .join(cases, cases.c.reference == alerts.c.case_reference)
                .join(case_members, case_members.c.case_id == cases.c.id)
                .where(case_members.c.officer == officer)
                .order_by(alerts.c.received.desc(), alerts.c.id.desc())
            )
            if reference is not None:
                query = query.where(cases.c.reference == reference)
            return [
                {
                    "agency": r.agency,
                    "alert_id": r.alert_id,
                    "case_reference": r.case_reference,
                    "disclosure": r.disclosure,
                    "record_id": r.record_id,
                    "content": r.content,
                    "received": _iso(r.received),
                }
                for r in db.execute(query)
            ]

    # --- inside --------------------------------------------------------------------------------

    def _visible(self, db: Connection, reference: str, officer: str) -> Mapping[Any, Any]:
        row = (
            db.execute(
                select(cases)
                .join(case_members, case_members.c.case_id == cases.c.id)
                .where(cases.c.reference == reference, case_members.c.officer == officer)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise CaseNotFound(f"no case {reference[:128]!r} that you are a member of")
        return row

    def _bump(
        self, db: Connection, case: Mapping[Any, Any], *, version: int | None = None, **changes: Any
    ) -> None:
        expected = case["version"] if version is None else version
        done = db.execute(
            update(cases)
            .where(cases.c.id == case["id"], cases.c.version == expected)
            .values(version=cases.c.version + 1, updated=_now(), **changes)
        ).rowcount
        if not done:
            current = db.execute(select(cases.c.version).where(cases.c.id == case["id"])).scalar()
            raise StaleCase(
                f"the case changed since version {expected} (it is now at version {current}); "
                "reload it and make your change again",
                int(current or 0),
            )

    def _log(
        self, db: Connection, case_id: int, officer: str, what: str, detail: Mapping[Any, Any]
    ) -> None:
        db.execute(
            insert(timeline).values(
                case_id=case_id, at=_now(), officer=officer, what=what, detail=dict(detail)
            )
        )

    def _summary(self, row: Mapping[Any, Any]) -> dict[str, Any]:
        return {
            "reference": row["reference"],
            "title": row["title"],
            "status": row["status"],
            "lead_officer": row["lead_officer"],
            "created": _iso(row["created"]),
            "updated": _iso(row["updated"]),
            "version": row["version"],
            "watched_until": _iso(row["watched_until"]),
        }

    def _full(self, db: Connection, case: Mapping[Any, Any]) -> dict[str, Any]:
        case_id = case["id"]
        members = [
            r.officer
            for r in db.execute(
                select(case_members.c.officer)
                .where(case_members.c.case_id == case_id)
                .order_by(case_members.c.officer)
            )
        ]
        lead_rows = db.execute(
            select(leads).where(leads.c.case_id == case_id).order_by(leads.c.id)
        ).mappings()
        note_rows = db.execute(
            select(notes).where(notes.c.case_id == case_id).order_by(notes.c.id)
        ).mappings()
        events = db.execute(
            select(timeline).where(timeline.c.case_id == case_id).order_by(timeline.c.id)
        ).mappings()
        return {
            **self._summary(case),
            "members": members,
            "leads": [
                {
                    "id": r["id"],
                    "kind": r["kind"],
                    "agency": r["agency"],
                    "record_id": r["record_id"],
                    "selector": r["selector"],
                    "content": r["content"],
                    "added_by": r["added_by"],
                    "added": _iso(r["added"]),
                }
                for r in lead_rows
            ],
            "notes": [
                {"text": r["text"], "author": r["author"], "written": _iso(r["written"])}
                for r in note_rows
            ],
            "timeline": [
                {
                    "at": _iso(r["at"]),
                    "officer": r["officer"],
                    "what": r["what"],
                    "detail": r["detail"],
                }
                for r in events
            ],
        }
