"""Two replicas on one PostgreSQL 15 database, made to meet on a claim's lock.

The first `SqlLedger` holds its transaction open right after its first insert into a
claims table, until PostgreSQL shows another session waiting on a lock; so the second
replica's write is known to have reached the claim while the first one's is uncommitted.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
from sqlalchemy import event

from reclaimer.ledger import SqlLedger


def wait_for_a_lock_waiter(url: str) -> None:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin:
        for _ in range(500):
            (waiting,) = admin.execute("SELECT count(*) FROM pg_locks WHERE NOT granted"
                                       ).fetchone() or (0,)
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the second replica never waited on the first one's claims")


def hold_open_until_the_other_waits(ledger: SqlLedger, url: str, *,
                                    table: str) -> threading.Event:
    """After its first insert into ``table``, ``ledger`` waits for a lock waiter before
    going on; the event is set when it starts waiting."""
    held = threading.Event()

    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith(f"INSERT INTO {table}") and not held.is_set():
            held.set()
            wait_for_a_lock_waiter(url)

    event.listen(ledger._engine, "after_cursor_execute", after)
    return held
