"""Cases, their members, leads, notes and timeline; alerts and each partner's alert cursor."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(128), nullable=False, unique=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("lead_officer", sa.String(128), nullable=False),
        _when("created"),
        _when("updated"),
        sa.Column("version", sa.Integer, nullable=False),
        _when("watched_until", nullable=True),
    )
    op.create_table(
        "case_members",
        sa.Column(
            "case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("officer", sa.String(128), primary_key=True),
    )
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("agency", sa.String(64)),
        sa.Column("record_id", sa.String(128)),
        sa.Column("selector", sa.String(600)),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("added_by", sa.String(128), nullable=False),
        _when("added"),
    )
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        _when("written"),
    )
    op.create_table(
        "timeline",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
        ),
        _when("at"),
        sa.Column("officer", sa.String(128), nullable=False),
        sa.Column("what", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("alert_id", sa.String(64), nullable=False),
        sa.Column("case_reference", sa.String(128), nullable=False),
        sa.Column("disclosure", sa.String(16), nullable=False),
        sa.Column("record_id", sa.String(128)),
        sa.Column("content", sa.JSON, nullable=False),
        _when("received"),
        sa.UniqueConstraint("agency", "alert_id", name="uq_alerts_agency_alert"),
    )
    op.create_table(
        "alert_cursors",
        sa.Column("agency", sa.String(64), primary_key=True),
        sa.Column("cursor", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    for table in ("alert_cursors", "alerts", "timeline", "notes", "leads", "case_members", "cases"):
        op.drop_table(table)
