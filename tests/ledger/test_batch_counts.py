"""A chunk costs the SQL store one transaction and a fixed set of statements."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event

from reclaimer.ledger import SqlLedger
from reclaimer.ledger.protocol import PlannedEntry
from reclaimer.model import ServiceRef, Transition
from tests.ledger.builders import at, transition
from tests.ledger.conftest import migrated

CHUNK = 40


class Statements:
    """Every statement the engine sends, by its first words (``INSERT INTO edge_claims``)."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        words = statement.split()
        self.seen[" ".join(words[:3] if words[0] in ("INSERT", "DELETE") else words[:2])] += 1

    def __getitem__(self, key: str) -> int:
        return self.seen[key]


@pytest.fixture
def counted(sqlite_url: str) -> Iterator[tuple[SqlLedger, Statements]]:
    ledger = migrated(sqlite_url)
    assert isinstance(ledger, SqlLedger)
    log = Statements()
    event.listen(ledger._engine, "before_cursor_execute", log)
    yield ledger, log
    ledger.close()


def _chunk() -> list[Transition]:
    return [replace(transition(ServiceRef("team-a", f"m{i}")), uid=f"uid-{i}")
            for i in range(CHUNK)]


def _planned(transitions: list[Transition]) -> list[PlannedEntry]:
    return [PlannedEntry(t, "native", {"strategy": "native"}) for t in transitions]


def test_a_planned_chunk_is_one_transaction(counted: tuple[SqlLedger, Statements]) -> None:
    ledger, log = counted
    ledger.record_planned_many(_planned(_chunk()), actor="r", at=at(0))
    assert (log["BEGIN IMMEDIATE"], log["INSERT INTO edge_claims"],
            log["INSERT INTO restore_info"], log["DELETE FROM transitions"]) == (1, 1, 1, 0)


def test_a_lost_claim_costs_one_delete(counted: tuple[SqlLedger, Statements]) -> None:
    ledger, log = counted
    chunk = _chunk()
    ledger.record_planned(chunk[3], strategy="native", actor="other", at=at(0))
    log.seen.clear()
    ids = ledger.record_planned_many(_planned(chunk), actor="r", at=at(0))
    assert (ids.count(None), log["BEGIN IMMEDIATE"], log["DELETE FROM transitions"]) == (1, 1, 1)


def test_an_applied_chunk_is_one_transaction_of_three_statements(
        counted: tuple[SqlLedger, Statements]) -> None:
    """Three, and the schema's version read before the commit (r-schema6: a migration
    that committed while the transaction waited rolls it back)."""
    ledger, log = counted
    ids = [i for i in ledger.record_planned_many(_planned(_chunk()), actor="r", at=at(0)) if i]
    log.seen.clear()
    ledger.mark_applied_many(ids, at=at(0.1))
    assert log.seen == Counter({"BEGIN IMMEDIATE": 1, "SELECT transitions.id,": 1,
                                "UPDATE transitions": 1, "INSERT INTO service_facts": 1,
                                "SELECT version_num": 1})
