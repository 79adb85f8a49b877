"""The KServe kind of each service: InferenceService, LLMInferenceService, InferenceGraph.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

An InferenceService and an LLMInferenceService may share a name in one namespace, so
the kind joins namespace and name wherever a service is a key (service facts, holds,
restore information) and every transition row says which kind it acted on. Rows that
exist already are InferenceServices: that was the only kind observed before.

SQLite cannot alter a primary key in place; batch mode copies those tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

KIND = 32
DEFAULT_KIND = "InferenceService"
KEYED = {"service_facts": ("namespace", "name", "kind"),
         "holds": ("namespace", "name", "kind"),
         "restore_info": ("namespace", "name", "kind", "uid")}


def _kind() -> sa.Column[str]:
    return sa.Column("kind", sa.String(KIND), nullable=False, server_default=DEFAULT_KIND)


def upgrade() -> None:
    with op.batch_alter_table("transitions") as batch:
        batch.add_column(_kind())
    for table, key in KEYED.items():
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.add_column(_kind())
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", list(key))


def downgrade() -> None:
    """Only InferenceService rows can go back: the old keys cannot tell kinds apart."""
    for table in (*KEYED, "transitions"):
        op.execute(sa.text(f"DELETE FROM {table} WHERE kind != :kind").bindparams(
            kind=DEFAULT_KIND))
    for table, key in KEYED.items():
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", [k for k in key if k != "kind"])
            batch.drop_column("kind")
    with op.batch_alter_table("transitions") as batch:
        batch.drop_column("kind")
