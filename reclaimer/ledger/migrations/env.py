"""Alembic environment: runs online against the engine reclaimer itself would build.

The URL comes from ``config.attributes["url"]`` (set by `reclaimer db upgrade`) or,
for the plain ``alembic`` command, from ``RECLAIMER_DATABASE`` or the default.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from reclaimer.ledger.engine import DEFAULT_URL, ENV_VAR, make_engine, parse_url
from reclaimer.ledger.tables import metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _configure(given)
        return
    raw = context.config.attributes.get("url") or os.environ.get(ENV_VAR) or DEFAULT_URL
    engine = make_engine(parse_url(str(raw)))
    try:
        with engine.connect() as connection:
            _configure(connection)
    finally:
        engine.dispose()


run_online()
