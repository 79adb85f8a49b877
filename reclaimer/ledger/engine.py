"""Database URLs and engines: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL.

Every connection problem becomes `LedgerUnavailable` with a one-line message that names
the URL without its password, so operators can paste it into a ticket.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from reclaimer.errors import LedgerUnavailable

DEFAULT_URL = "sqlite:///reclaimer.db"
ENV_VAR = "RECLAIMER_DATABASE"
BUSY_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_S = 5
# The ledger's pages are small and hot; with the default random_page_cost (4, for
# spinning disks) PostgreSQL filters a whole month of every namespace rather than walk
# one namespace's index (benchmarks/RESULTS.md). Session-level: other users of the
# database are not affected.
POSTGRES_OPTIONS = "-c random_page_cost=1.1"
# Execution option on connections that only read: SQLite then begins a deferred
# transaction instead of taking the write lock.
READ_ONLY = "reclaimer_read_only"


def parse_url(raw: str) -> URL:
    """A URL the ledger supports; ``postgresql://`` means psycopg 3."""
    try:
        url = make_url(raw.strip())
    except (ArgumentError, ValueError) as exc:
        raise LedgerUnavailable(f"malformed database URL {_scrub(raw)!r}: {exc}") from exc
    if url.get_backend_name() == "sqlite":
        if url.drivername != "sqlite" or not url.database:
            raise LedgerUnavailable(f"malformed database URL {_scrub(raw)!r}: use sqlite:///PATH")
        return url
    if url.get_backend_name() == "postgresql" and url.drivername in (
            "postgresql", "postgresql+psycopg"):
        if not url.host or not url.database:
            raise LedgerUnavailable(f"malformed database URL {display(url)!r}: "
                                    "use postgresql+psycopg://USER@HOST[:PORT]/DB")
        return url.set(drivername="postgresql+psycopg")
    raise LedgerUnavailable(f"unsupported database URL {display(url)!r}: "
                            "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")


def display(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _scrub(raw: str) -> str:
    """Hide a password in a URL that could not even be parsed."""
    head, sep, tail = raw.partition("@")
    if not sep or "://" not in head:
        return raw
    scheme, _, userinfo = head.partition("://")
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{tail}" if ":" in userinfo else raw


def sqlite_path(url: URL) -> Path | None:
    """The file behind a SQLite URL (None for in-memory databases)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(str(url.database))


def make_engine(url: URL) -> Engine:
    try:
        if url.get_backend_name() == "sqlite":
            return _sqlite_engine(url)
        return create_engine(url, pool_pre_ping=True, connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S, "options": POSTGRES_OPTIONS})
    except (SQLAlchemyError, NoSuchModuleError) as exc:
        raise LedgerUnavailable(f"cannot use database {display(url)}: {exc}") from exc


def require_directory(url: URL) -> None:
    """SQLite says only "unable to open database file"; say which directory is missing."""
    path = sqlite_path(url)
    if path is not None and not path.parent.is_dir():
        raise LedgerUnavailable(f"cannot use database {display(url)}: "
                                f"directory {path.parent} does not exist")


def _sqlite_engine(url: URL) -> Engine:
    require_directory(url)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the HTTP probes read while the loop writes; foreign keys are off by
    default in SQLite; the busy timeout makes a second replica wait, not fail."""
    dbapi_connection.isolation_level = None  # transactions are begun by _sqlite_begin
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    """Writers take the lock up front: a deferred transaction that upgrades to writing
    gets SQLITE_BUSY at once, without waiting, when another process writes."""
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def first_line(exc: BaseException) -> str:
    """The driver's own words, one line: the CLI promises one-line errors."""
    cause = exc.__cause__ or exc
    words = str(cause).strip()
    return words.splitlines()[0] if words else type(cause).__name__
