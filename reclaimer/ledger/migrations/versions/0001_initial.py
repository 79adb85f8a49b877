"""The initial ledger schema: transitions, edge claims, service facts, holds, restore info.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Written out in full rather than importing reclaimer's tables: a released migration
must keep meaning the same thing when the models move on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

NAME = 253
INDEXES = {
    "ix_transitions_service": ["namespace", "name", "at", "id"],
    "ix_transitions_namespace_at": ["namespace", "at", "id"],
    "ix_transitions_at": ["at"],
    "ix_transitions_state": ["state"],
    "ix_transitions_edge_key": ["edge_key"],
}


def _stamp(column: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(column, sa.DateTime(timezone=True), nullable=nullable)


def _row_id(column: str, **kwargs: object) -> sa.Column[object]:
    return sa.Column(column, sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                     nullable=False, **kwargs)  # type: ignore[arg-type]


def _service(*, uid: bool = False) -> list[sa.Column[object]]:
    columns: list[sa.Column[object]] = [
        sa.Column("namespace", sa.String(NAME), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
    ]
    if uid:
        columns.append(sa.Column("uid", sa.String(64), nullable=False))
    return columns


def _create_transitions() -> None:
    op.create_table(
        "transitions",
        _row_id("id", autoincrement=True),
        sa.Column("state", sa.String(16), nullable=False),
        *_service(uid=True),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("policy", sa.String(NAME), nullable=True),
        sa.Column("edge_key", sa.String(600), nullable=True),
        sa.Column("strategy", sa.String(32), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(NAME), nullable=False),
        sa.Column("blocked", sa.Text(), nullable=True),
        _stamp("at"), _stamp("recorded_at"), _stamp("applied_at", nullable=True),
        _stamp("verified_at", nullable=True), _stamp("ended_at", nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transitions")),
    )
    for index, columns in INDEXES.items():
        op.create_index(index, "transitions", columns)


def _transition_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["transition_id"], ["transitions.id"], ondelete="CASCADE",
                                   name=op.f(f"fk_{table}_transition_id_transitions"))


def upgrade() -> None:
    _create_transitions()
    op.create_table(
        "edge_claims",
        sa.Column("edge_key", sa.String(600), nullable=False),
        _row_id("transition_id"), _stamp("claimed_at"),
        _transition_fk("edge_claims"),
        sa.PrimaryKeyConstraint("edge_key", name=op.f("pk_edge_claims")),
    )
    op.create_index("ix_edge_claims_claimed_at", "edge_claims", ["claimed_at", "edge_key"])
    op.create_table(
        "service_facts",
        *_service(uid=True),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        _stamp("at"), _row_id("transition_id"),
        _transition_fk("service_facts"),
        sa.PrimaryKeyConstraint("namespace", "name", name=op.f("pk_service_facts")),
    )
    _create_holds_and_restore_info()


def _create_holds_and_restore_info() -> None:
    op.create_table(
        "holds",
        *_service(), _stamp("until"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("who", sa.String(NAME), nullable=False),
        _stamp("created_at"),
        sa.PrimaryKeyConstraint("namespace", "name", name=op.f("pk_holds")),
    )
    op.create_table(
        "restore_info",
        *_service(uid=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("info", sa.JSON(), nullable=False),
        _stamp("saved_at"),
        sa.PrimaryKeyConstraint("namespace", "name", "uid", name=op.f("pk_restore_info")),
    )


def downgrade() -> None:
    for table in ("restore_info", "holds", "service_facts", "edge_claims", "transitions"):
        op.drop_table(table)
