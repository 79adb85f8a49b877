"""A tick's blocked entries cost the SQL store one commit per `BLOCKED_CHUNK`, not one each.

Counted with SQLAlchemy's engine events on real SQLite and PostgreSQL 15: commits, and
the INSERT statements sent (a multi-row insert is one statement per chunk).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event

from reclaimer.ledger import SqlLedger, protocol
from reclaimer.model import ServiceRef, Transition
from tests.ledger.builders import at, transition
from tests.ledger.conftest import migrated


class Counts:
    def __init__(self) -> None:
        self.commits = 0
        self.inserts: dict[str, int] = {}

    def commit(self, _conn: Any) -> None:
        self.commits += 1

    def statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        words = statement.split()
        if words[:2] == ["INSERT", "INTO"]:
            self.inserts[words[2]] = self.inserts.get(words[2], 0) + 1


@pytest.fixture(params=[
    pytest.param("sqlite", id="sqlite-file"),
    pytest.param("postgres", id="postgres-15", marks=pytest.mark.integration),
])
def counted(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[tuple[SqlLedger, Counts]]:
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    ledger = migrated(url)
    assert isinstance(ledger, SqlLedger)
    counts = Counts()
    event.listen(ledger._engine, "commit", counts.commit)
    event.listen(ledger._engine, "before_cursor_execute", counts.statement)
    yield ledger, counts
    ledger.close()


def _held(n: int) -> list[Transition]:
    return [replace(transition(ServiceRef("team-a", f"m{i}"), blocked="held"), uid=f"uid-{i}")
            for i in range(n)]


@pytest.mark.parametrize("entries", [40, protocol.BLOCKED_CHUNK * 2 + 80])
def test_blocked_entries_cost_one_commit_per_chunk(counted: tuple[SqlLedger, Counts],
                                                   entries: int) -> None:
    """40 entries: 1 commit (40 before); 1,080: 3 commits, 3 claim inserts. The rows'
    insert is one statement per chunk on PostgreSQL; from SQLite, SQLAlchemy gets ids
    back in parameter order only row by row (the table has no sentinel column), so
    there it is one statement per row inside the chunk's transaction: CPU, no commit."""
    ledger, counts = counted
    records = ledger.record_blocked_many(_held(entries), actor="r", at=at(0))
    chunks = math.ceil(entries / protocol.BLOCKED_CHUNK)
    rows = chunks if ledger._engine.dialect.name == "postgresql" else entries
    assert (counts.commits, counts.inserts) == (
        chunks, {"transitions": rows, "edge_claims": chunks})
    assert (None not in records, len(ledger.history(limit=entries + 1))) == (True, entries)


def test_a_refused_edge_costs_its_batch_no_commit(counted: tuple[SqlLedger, Counts]) -> None:
    ledger, counts = counted
    batch = _held(40)
    ledger.record_planned(batch[7], strategy="native", actor="other", at=at(0))
    counts.commits = 0
    records = ledger.record_blocked_many(batch, actor="r", at=at(0))
    assert ([i for i, r in enumerate(records) if r is None], counts.commits) == ([7], 1)
