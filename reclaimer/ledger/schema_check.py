"""Schema versions: upgrade to head, and refuse to run on a schema behind it.

Alembic reads its scripts from the package (``reclaimer/ledger/migrations``), so
`reclaimer db upgrade` works from any directory and from an installed wheel.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from reclaimer.errors import LedgerError, LedgerUnavailable, SchemaBehind
from reclaimer.ledger.engine import (
    display,
    first_line,
    make_engine,
    require_directory,
    sqlite_path,
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: URL) -> Config:
    """A config that needs no alembic.ini; the URL travels as an attribute, not as an
    ini value, so a ``%`` in a password is not read as interpolation."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url.render_as_string(hide_password=False)
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config(URL.create("sqlite"))).get_current_head()
    if head is None:
        raise LedgerError("the ledger migrations have no head revision")
    return head


def upgrade(url: URL, revision: str = "head") -> None:
    _run(url, lambda config: command.upgrade(config, revision))


def downgrade(url: URL, revision: str) -> None:
    _run(url, lambda config: command.downgrade(config, revision))


def _run(url: URL, step: object) -> None:
    """Map a dead database to `LedgerUnavailable` whichever alembic step hit it."""
    config = alembic_config(url)
    try:
        step(config)  # type: ignore[operator]
    except SQLAlchemyError as exc:
        raise LedgerUnavailable(f"cannot migrate database {display(url)}: "
                                f"{first_line(exc)}") from exc


def current_revision(engine: Engine, url: URL) -> str | None:
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise LedgerUnavailable(f"cannot reach database {display(url)}: "
                                f"{first_line(exc)}") from exc


def require_head(url: URL) -> Engine:
    """An engine on a database whose schema is at head, or a typed refusal.

    A SQLite file that does not exist is refused before connecting: connecting would
    create it, and a refusal must leave nothing behind.
    """
    hint = f"run `reclaimer db upgrade --db {display(url)}`"
    require_directory(url)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise SchemaBehind(f"database {display(url)} does not exist yet: {hint}")
    probe = _read_only(path) if path is not None else make_engine(url)
    try:
        current, head = current_revision(probe, url), head_revision()
    finally:
        if path is not None:
            probe.dispose()
    if current != head:
        probe.dispose()
        raise SchemaBehind(f"database {display(url)} schema is at {current or 'nothing'}, "
                           f"this release needs {head}: {hint}")
    return probe if path is None else make_engine(url)


def _read_only(path: Path) -> Engine:
    """A plain read-only SQLite connection for the check: the engine's pragmas switch
    the file to WAL, which is a write, and a refused start must write nothing."""
    return create_engine("sqlite://", poolclass=NullPool, creator=lambda: sqlite3.connect(
        f"file:{path}?mode=ro", uri=True))
