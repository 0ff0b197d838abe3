"""Release requests this agency's officers made of partners, their decisions, and each
partner's decision cursor (see cets.gateway.releases)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "release_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("release_id", sa.String(64), nullable=False),
        sa.Column("officer", sa.String(128), nullable=False),
        sa.Column("purpose", sa.String(512), nullable=False),
        sa.Column("case_reference", sa.String(128), nullable=False),
        sa.Column("case", sa.String(128)),
        sa.Column("record_id", sa.String(128)),
        sa.Column("selectors", sa.JSON, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        _when("requested"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("level", sa.String(16)),
        sa.Column("record_ids", sa.JSON, nullable=False),
        _when("expires", nullable=True),
        sa.Column("reason", sa.Text),
        _when("decided", nullable=True),
        sa.UniqueConstraint("agency", "release_id", name="uq_release_requests_agency_release"),
    )
    op.create_index("ix_release_requests_officer", "release_requests", ["officer"])
    op.create_table(
        "release_cursors",
        sa.Column("agency", sa.String(64), primary_key=True),
        sa.Column("cursor", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("release_cursors")
    op.drop_index("ix_release_requests_officer", "release_requests")
    op.drop_table("release_requests")
