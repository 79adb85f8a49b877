"""Two replicas write blocked entries for the same edges at once on one PostgreSQL 15.

Two `SqlLedger` objects over one database, each in its own thread: the first holds its
transaction open after inserting its claims until PostgreSQL shows the second waiting
on one of them, then commits. Each edge ends with exactly one claim and one row; the
second replica's entries for the first's edges are refused alone, its others written.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from reclaimer.ledger import SqlLedger
from reclaimer.ledger.records import TransitionRecord
from reclaimer.ledger.tables import EdgeClaimRow
from reclaimer.model import ServiceRef, Transition
from tests.ledger.builders import at, transition
from tests.ledger.locks import hold_open_until_the_other_waits

pytestmark = pytest.mark.integration
EDGES = 100
FIRST, SECOND = range(0, 60), range(40, EDGES)  # 40..59 written by both


def _held(numbers: range | list[int]) -> list[Transition]:
    return [replace(transition(ServiceRef("team-a", f"m{i:03d}"), blocked="held"),
                    uid=f"uid-{i}") for i in numbers]


def test_two_replicas_at_once_claim_each_edge_once(replicas: tuple[SqlLedger, SqlLedger],
                                                   postgres_url: str) -> None:
    first, second = replicas
    held = hold_open_until_the_other_waits(first, postgres_url, table="edge_claims")
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
