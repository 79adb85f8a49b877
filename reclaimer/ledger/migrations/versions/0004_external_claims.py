"""External claims: one row per external change booked, so it is booked once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

Two replicas that both observe somebody else's change of a service's stop state (a
deposed leader's tick overlapping its successor's) each wrote an ``observed`` row: the
change, and its GPU-hours, counted twice. The key is what both derive alike (the
service, its new state, the ledger fact it changes). A new table, so the transitions
table is not rewritten or re-indexed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "external_claims",
        sa.Column("key", sa.String(600), nullable=False),
        sa.Column("transition_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["transition_id"], ["transitions.id"],
                                name=op.f("fk_external_claims_transition_id_transitions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_external_claims")),
    )


def downgrade() -> None:
    op.drop_table("external_claims")
