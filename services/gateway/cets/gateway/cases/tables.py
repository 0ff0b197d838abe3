"""The case store's tables (SQLAlchemy Core), as the migrations in ``migrations/`` create them.

A case belongs to this gateway's agency. Its leads are pinned hits (with what was released at
the time), saved searches and selectors of interest; notes and the timeline are append-only;
``version`` counts every change, for optimistic concurrency. Alerts from partners' watches and
each partner's alert cursor live here too, so collecting them is durable.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "alert_cursors",
    "alerts",
    "case_members",
    "cases",
    "leads",
    "metadata",
    "notes",
    "timeline",
]

metadata = MetaData()

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reference", String(128), nullable=False, unique=True),
    Column("title", String(300), nullable=False),
    Column("status", String(16), nullable=False),
    Column("lead_officer", String(128), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("watched_until", DateTime(timezone=True)),
)

case_members = Table(
    "case_members",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("officer", String(128), primary_key=True),
)

leads = Table(
    "leads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),  # hit, search, selector
    Column("agency", String(64)),
    Column("record_id", String(128)),
    Column("selector", String(600)),
    Column("content", JSON, nullable=False),  # the hit as released, or the saved query
    Column("added_by", String(128), nullable=False),
    Column("added", DateTime(timezone=True), nullable=False),
)

notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("text", Text, nullable=False),
    Column("author", String(128), nullable=False),
    Column("written", DateTime(timezone=True), nullable=False),
)

timeline = Table(
    "timeline",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("officer", String(128), nullable=False),
    Column("what", String(64), nullable=False),
    Column("detail", JSON, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agency", String(64), nullable=False),
    Column("alert_id", String(64), nullable=False),
    Column("case_reference", String(128), nullable=False),
    Column("disclosure", String(16), nullable=False),
    Column("record_id", String(128)),
    Column("content", JSON, nullable=False),
    Column("received", DateTime(timezone=True), nullable=False),
    UniqueConstraint("agency", "alert_id", name="uq_alerts_agency_alert"),
)

alert_cursors = Table(
    "alert_cursors",
    metadata,
    Column("agency", String(64), primary_key=True),
    Column("cursor", String(200), nullable=False),
)
