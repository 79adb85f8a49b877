"""Two replicas write blocked entries for the same edges at once on one PostgreSQL 15.

Two `SqlLedger` objects over one database, each in its own thread: the first holds its
transaction open after inserting its claims until PostgreSQL shows the second waiting
on one of them, then commits. Each edge ends with exactly one claim and one row; the
second replica's entries for the first's edges are refused alone, its others written.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, func, select

from reclaimer.ledger import SqlLedger
from reclaimer.ledger.records import TransitionRecord
from reclaimer.ledger.tables import EdgeClaimRow
from reclaimer.model import ServiceRef, Transition
from tests.ledger.builders import at, transition

pytestmark = pytest.mark.integration
EDGES = 100
FIRST, SECOND = range(0, 60), range(40, EDGES)  # 40..59 written by both


def _held(numbers: range | list[int]) -> list[Transition]:
    return [replace(transition(ServiceRef("team-a", f"m{i:03d}"), blocked="held"),
                    uid=f"uid-{i}") for i in numbers]


def _wait_for_a_lock_waiter(url: str) -> None:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin:
        for _ in range(500):
            (waiting,) = admin.execute("SELECT count(*) FROM pg_locks WHERE NOT granted"
                                       ).fetchone() or (0,)
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the second replica never waited on the first one's claims")


def _hold_open_until_the_other_waits(ledger: SqlLedger, url: str) -> threading.Event:
    """After its first claims insert, ``ledger`` waits for a lock waiter before going on."""
    held = threading.Event()

    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO edge_claims") and not held.is_set():
            held.set()
            _wait_for_a_lock_waiter(url)

    event.listen(ledger._engine, "after_cursor_execute", after)
    return held


def test_two_replicas_at_once_claim_each_edge_once(replicas: tuple[SqlLedger, SqlLedger],
                                                   postgres_url: str) -> None:
    first, second = replicas
    held = _hold_open_until_the_other_waits(first, postgres_url)
    with ThreadPoolExecutor(2) as pool:
        one = pool.submit(first.record_blocked_many, _held(FIRST), actor="one", at=at(0))
        assert held.wait(timeout=30)
        two = pool.submit(second.record_blocked_many, _held(list(SECOND)[::-1]), actor="two",
                          at=at(0))
        won_one: list[TransitionRecord | None] = one.result(timeout=60)
        won_two: list[TransitionRecord | None] = two.result(timeout=60)
    assert None not in won_one
    assert [r is not None for r in won_two[::-1]] == [i >= FIRST.stop for i in SECOND]
    stored = first.history(limit=EDGES * 2)
    assert sorted((r.transition.ref.name, r.actor) for r in stored) == sorted(
        [(f"m{i:03d}", "one") for i in FIRST]
        + [(f"m{i:03d}", "two") for i in SECOND if i >= FIRST.stop])
    with first._engine.connect() as connection:
        claims = connection.execute(select(func.count(), func.count(
            EdgeClaimRow.edge_key.distinct()))).one()
    assert tuple(claims) == (EDGES, EDGES)
