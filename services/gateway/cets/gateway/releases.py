"""The officers' release requests, as this gateway keeps them, and the owners' decisions.

An officer asks a partner (through the federation service, signed) to release a record it
answered below ``full``; the partner's node files the request and answers with a release id,
which is stored here with who asked, why and for which case. The owner's decision is collected
like alerts are (:class:`~cets.gateway.alerts.Collector`): every tick the federation service
pulls each partner's decisions after the cursor stored here and checks the partner's signature;
a partner's decisions and its next cursor are stored in one transaction, and a decision applies
only to a request of this agency still pending here, so a repeated or stray decision changes
nothing. An approval names the records released, the level and the expiry; this gateway lets
the officer who asked fetch exactly those records until then, and the owner's node checks every
such fetch against its own copy of the approval.

Tables (in the case store's database, created by its migrations)::

    release_requests   one row per request: agency, release_id (unique together), officer,
                       purpose, case_reference, case (a case of the store, or none), record_id
                       or selectors, message, requested; and the decision: status (pending,
                       approved, denied), level, record_ids, expires, reason, decided
    release_cursors    each partner's decision cursor
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from cets.gateway.cases.store import CaseError, CaseNotFound, CaseStore, translated
from cets.gateway.cases.tables import metadata
from cets.v1 import releases_pb2, search_pb2

__all__ = [
    "ReleaseBook",
    "ReleaseNotFound",
    "release_cursors",
    "release_requests",
]

release_requests = Table(
    "release_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agency", String(64), nullable=False),
    Column("release_id", String(64), nullable=False),
    Column("officer", String(128), nullable=False),
    Column("purpose", String(512), nullable=False),
    Column("case_reference", String(128), nullable=False),
    Column("case", String(128)),
    Column("record_id", String(128)),
    Column("selectors", JSON, nullable=False),
    Column("message", Text, nullable=False),
    Column("requested", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("level", String(16)),
    Column("record_ids", JSON, nullable=False),
    Column("expires", DateTime(timezone=True)),
    Column("reason", Text),
    Column("decided", DateTime(timezone=True)),
    UniqueConstraint("agency", "release_id", name="uq_release_requests_agency_release"),
    Index("ix_release_requests_officer", "officer"),
)

release_cursors = Table(
    "release_cursors",
    metadata,
    Column("agency", String(64), primary_key=True),
    Column("cursor", String(200), nullable=False),
)

_LEVELS = {
    search_pb2.DISCLOSURE_LEVEL_FULL: "full",
    search_pb2.DISCLOSURE_LEVEL_SUMMARY: "summary",
}


class ReleaseNotFound(CaseNotFound):
    """No such release request of this officer's (said the same for someone else's)."""


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite hands back naive UTC times
        value = value.replace(tzinfo=UTC)
    return value


def _iso(value: datetime | None) -> str | None:
    aware = _aware(value)
    return None if aware is None else aware.isoformat(timespec="seconds").replace("+00:00", "Z")


def _timestamp(value: Any) -> datetime | None:
    return value.ToDatetime(tzinfo=UTC) if value.seconds or value.nanos else None


@dataclass(frozen=True, slots=True)
class ReleaseBook:
    """Release requests and decisions in the case store's database (synchronous calls; the
    REST routes run them in a worker thread, the collector through its async methods)."""

    engine: Engine
    cases: CaseStore | None = None  # where a decision goes on its case's timeline

    def filed(
        self,
        *,
        agency: str,
        release_id: str,
        officer: str,
        purpose: str,
        case_reference: str,
        case: str | None,
        record_id: str | None,
        selectors: Sequence[str],
        message: str,
    ) -> dict[str, Any]:
        """Store a request the owner filed (its receipt named ``release_id``)."""
        with translated("store the release request"):
            try:
                with self.engine.begin() as db:
                    db.execute(
                        insert(release_requests).values(
                            agency=agency,
                            release_id=release_id,
                            officer=officer,
                            purpose=purpose,
                            case_reference=case_reference,
                            case=case,
                            record_id=record_id,
                            selectors=list(selectors),
                            message=message,
                            requested=datetime.now(UTC),
                            status="pending",
                            record_ids=[],
                        )
                    )
            except IntegrityError:
                raise CaseError(f"{agency} answered with a release id already on file") from None
        return self.get(officer, agency, release_id)

    def mine(self, officer: str, *, status: str | None = None) -> list[dict[str, Any]]:
        """The officer's requests, newest first."""
        with translated("list release requests"), self.engine.connect() as db:
            query = select(release_requests).where(release_requests.c.officer == officer)
            if status is not None:
                query = query.where(release_requests.c.status == status)
            rows = db.execute(
                query.order_by(release_requests.c.requested.desc(), release_requests.c.id.desc())
            ).mappings()
            return [_out(r) for r in rows]

    def get(self, officer: str, agency: str, release_id: str) -> dict[str, Any]:
        with translated("read the release request"), self.engine.connect() as db:
            row = (
                db.execute(
                    select(release_requests).where(
                        release_requests.c.agency == agency,
                        release_requests.c.release_id == release_id,
                        release_requests.c.officer == officer,
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            raise ReleaseNotFound(
                f"no release request {release_id[:64]!r} of yours at {agency[:64]!r}"
            )
        return _out(row)

    # --- the collector's sink -------------------------------------------------------------

    async def cursors(self) -> dict[str, str]:
        return await asyncio.to_thread(self._cursors)

    def _cursors(self) -> dict[str, str]:
        with translated("read decision cursors"), self.engine.connect() as db:
            return {r.agency: r.cursor for r in db.execute(select(release_cursors))}

    async def save(
        self, agency: str, decisions: Sequence[releases_pb2.Decision], next_cursor: str
    ) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._save, agency, decisions, next_cursor)

    def _save(
        self, agency: str, decisions: Sequence[releases_pb2.Decision], next_cursor: str
    ) -> list[dict[str, Any]]:
        """Apply a partner's decisions to the requests still pending here, put each on its
        case's timeline, and store the partner's next cursor, in one transaction; the requests
        decided now, as they are now."""
        applied: list[dict[str, Any]] = []
        with translated("store decisions"), self.engine.begin() as db:
            for decision in decisions:
                approved = decision.outcome == releases_pb2.Decision.OUTCOME_APPROVED
                if approved and decision.level not in _LEVELS:
                    continue  # an approval must name full or summary
                values: dict[str, Any] = {
                    "status": "approved" if approved else "denied",
                    "decided": _timestamp(decision.decided) or datetime.now(UTC),
                }
                if approved:
                    values.update(
                        level=_LEVELS[decision.level],
                        record_ids=list(decision.record_ids),
                        expires=_timestamp(decision.expires),
                    )
                else:
                    values["reason"] = decision.reason[:1000]
                done = db.execute(
                    update(release_requests)
                    .where(
                        release_requests.c.agency == agency,
                        release_requests.c.release_id == decision.release_id,
                        release_requests.c.status == "pending",
                    )
                    .values(**values)
                ).rowcount
                if done:
                    row = (
                        db.execute(
                            select(release_requests).where(
                                release_requests.c.agency == agency,
                                release_requests.c.release_id == decision.release_id,
                            )
                        )
                        .mappings()
                        .one()
                    )
                    applied.append(out := _out(row))
                    if self.cases is not None and out["case"]:
                        self.cases.happened_in(
                            db,
                            out["case"],
                            out["officer"],
                            f"release {out['status']}",
                            {"agency": agency, "release": out["release_id"], "level": out["level"]},
                        )
            found = db.execute(
                select(release_cursors.c.agency).where(release_cursors.c.agency == agency)
            ).first()
            if found is None:
                db.execute(insert(release_cursors).values(agency=agency, cursor=next_cursor))
            else:
                db.execute(
                    update(release_cursors)
                    .where(release_cursors.c.agency == agency)
                    .values(cursor=next_cursor)
                )
        return applied


def _out(row: Any) -> dict[str, Any]:
    expires = _aware(row["expires"])
    return {
        "release_id": row["release_id"],
        "agency": row["agency"],
        "officer": row["officer"],
        "purpose": row["purpose"],
        "case_reference": row["case_reference"],
        "case": row["case"],
        "record_id": row["record_id"],
        "selectors": list(row["selectors"] or []),
        "message": row["message"],
        "requested": _iso(row["requested"]),
        "status": row["status"],
        "level": row["level"],
        "record_ids": list(row["record_ids"] or []),
        "expires": _iso(expires),
        "expired": expires is not None and expires <= datetime.now(UTC),
        "reason": row["reason"],
        "decided": _iso(row["decided"]),
    }
