"""Notices: one row per StopPlanned notice sent, so a restart never sends it twice.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

NAME = 253


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("key", sa.String(600), nullable=False),
        sa.Column("namespace", sa.String(NAME), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("uid", sa.String(64), nullable=False),
        sa.Column("policy", sa.String(NAME), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_notices")),
    )
    op.create_index(op.f("ix_notices_sent_at"), "notices", ["sent_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_notices_sent_at"), table_name="notices")
    op.drop_table("notices")
