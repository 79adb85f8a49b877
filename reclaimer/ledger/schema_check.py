"""Schema versions: upgrade to head, and refuse to run on a schema behind it.

Alembic reads its scripts from the package (``reclaimer/ledger/migrations``), so
`reclaimer db upgrade` works from any directory and from an installed wheel.

The service's start-up check (`require_head`) does not load alembic: with Mako and
Pygments it is about 11 MiB resident for the life of the process, for one read of
``alembic_version`` at start. The check compares that row with `HEAD`, which a test
holds equal to alembic's own head (`head_revision`); alembic is imported only to
migrate and by the CLI.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from reclaimer.errors import LedgerError, LedgerUnavailable, SchemaAhead, SchemaBehind
from reclaimer.ledger.engine import (
    READ_ONLY,
    display,
    first_line,
    make_engine,
    require_directory,
    sqlite_path,
)

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
HEAD = "0004"
"""The newest revision in ``migrations/versions``: what `require_head` asks for."""
VERSION_TABLE = "alembic_version"
_VERSIONS = text(f"SELECT version_num FROM {VERSION_TABLE}")


def alembic_config(url: URL) -> Config:
    """A config that needs no alembic.ini; the URL travels as an attribute, not as an
    ini value, so a ``%`` in a password is not read as interpolation. Its stdout is
    the one of this call: alembic's default is ``sys.stdout`` as it was when alembic
    was imported, which a test capturing output at that moment closes afterwards."""
    from alembic.config import Config  # noqa: PLC0415 - module docstring

    config = Config(stdout=sys.stdout)
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url.render_as_string(hide_password=False)
    return config


def head_revision() -> str:
    """Alembic's head, from the scripts (`HEAD` is what the service checks against)."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - module docstring

    head = ScriptDirectory.from_config(alembic_config(URL.create("sqlite"))).get_current_head()
    if head is None:
        raise LedgerError("the ledger migrations have no head revision")
    return head


def upgrade(url: URL, revision: str = "head") -> None:
    """Refuses a schema a newer release migrated in one line (`SchemaAhead`): alembic
    would fail on a revision it has no script for, and a rollback's init container
    must say what to do, not print a traceback."""
    from alembic import command  # noqa: PLC0415 - module docstring

    _refuse_ahead(url)
    _run(url, lambda config: command.upgrade(config, revision))


def _refuse_ahead(url: URL) -> None:
    require_directory(url)
    engine = make_engine(url)
    try:
        current = current_revision(engine, url)
    finally:
        engine.dispose()
    if current is not None and is_ahead(current):
        raise _ahead(url, current)


def _ahead(url: URL, current: str) -> SchemaAhead:
    """The one line a process of this release says on a schema a later one migrated."""
    return SchemaAhead(f"database {display(url)} schema is at {current}, newer than this "
                       f"release's {HEAD}: a newer reclaimer migrated it; run that "
                       f"release, or its `reclaimer db downgrade --to {HEAD}` first")


def downgrade(url: URL, revision: str) -> None:
    from alembic import command  # noqa: PLC0415 - module docstring

    _run(url, lambda config: command.downgrade(config, revision))


def _run(url: URL, step: object) -> None:
    """Map a dead database to `LedgerUnavailable` whichever alembic step hit it, and
    alembic's own refusal (a revision it does not know) to one line."""
    from alembic.util.exc import CommandError  # noqa: PLC0415 - module docstring

    config = alembic_config(url)
    try:
        step(config)  # type: ignore[operator]
    except SQLAlchemyError as exc:
        raise LedgerUnavailable(f"cannot migrate database {display(url)}: "
                                f"{first_line(exc)}") from exc
    except CommandError as exc:
        raise LedgerError(f"cannot migrate database {display(url)}: {first_line(exc)}"
                          ) from exc


def current_revision(engine: Engine, url: URL) -> str | None:
    """The row of ``alembic_version`` (None without the table or the row), read as
    alembic's ``MigrationContext.get_current_revision`` reads it; this history is
    linear, so more than one row is a database this release did not migrate."""
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(VERSION_TABLE):
                return None
            rows = [str(row) for row in connection.execute(_VERSIONS).scalars()]
    except SQLAlchemyError as exc:
        raise LedgerUnavailable(f"cannot reach database {display(url)}: "
                                f"{first_line(exc)}") from exc
    if len(rows) > 1:
        raise LedgerError(f"database {display(url)} has {len(rows)} schema versions "
                          f"({', '.join(sorted(rows))}); this release has one line")
    return rows[0] if rows else None


def is_ahead(revision: str) -> bool:
    """Revisions are numbered in order (``0001``, ``0002``, ...), so one above `HEAD`
    is a later release's."""
    return revision.isdigit() and int(revision) > int(HEAD)


def schema_refusal(engine: Engine) -> str | None:
    """Why this release must not write to the ledger now, or None when its schema is
    the one this release migrates to.

    A rolling upgrade runs the new release's `db upgrade` (an init container) while an
    old replica still leads; that replica's code knows nothing of what the new schema
    added (a claim to take, a column to fill), so it must stop writing until it is
    replaced, and a schema that cannot be read is no proof that it may go on. Checked
    once per tick by the write guard: one small query, read-only (on SQLite a deferred
    transaction: it never waits for another writer's lock, which would cost the tick
    the busy timeout and then refuse it).
    """
    try:
        with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            return refusal_in(connection)
    except SQLAlchemyError as exc:
        return f"the ledger's schema version cannot be read: {first_line(exc)}"


def refusal_in(connection: Connection) -> str | None:
    """`schema_refusal`, read on ``connection``. Every write transaction asks it again
    just before it commits: PostgreSQL's `db upgrade` runs in one transaction, and
    until it commits the version reads as this release's while the tables it alters
    are locked; a write that waited on that lock reads the new version here, and is
    rolled back rather than made under it. On SQLite the writer holds the lock, so
    no migration runs between this read and the commit."""
    versions = sorted(str(row) for row in connection.execute(_VERSIONS).scalars())
    if versions == [HEAD]:
        return None
    found = ", ".join(versions) or "nothing"
    if len(versions) == 1 and is_ahead(versions[0]):
        return (f"the ledger's schema is at {found}, newer than this release's {HEAD}: a "
                "newer reclaimer migrated it; this process writes nothing until it is "
                "replaced by that release")
    return (f"the ledger's schema is at {found}, not this release's {HEAD}; this process "
            "writes nothing until `reclaimer db upgrade` brings it back")


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
        current = current_revision(probe, url)
        if current is not None and is_ahead(current):
            raise _ahead(url, current)
        if current != HEAD:
            raise SchemaBehind(f"database {display(url)} schema is at "
                               f"{current or 'nothing'}, this release needs {HEAD}: {hint}")
    except LedgerError:
        probe.dispose()
        raise
    if path is None:
        return probe
    probe.dispose()
    return make_engine(url)


def _read_only(path: Path) -> Engine:
    """A plain read-only SQLite connection for the check: the engine's pragmas switch
    the file to WAL, which is a write, and a refused start must write nothing."""
    return create_engine("sqlite://", poolclass=NullPool, creator=lambda: sqlite3.connect(
        f"file:{path}?mode=ro", uri=True))
