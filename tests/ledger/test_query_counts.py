"""The SQL store's reads cost a fixed number of statements, however long the history."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from reclaimer.ledger import SqlLedger
from reclaimer.model import Action
from tests.ledger.builders import BERT, LLAMA, MISTRAL, at, transition
from tests.ledger.conftest import migrated


class StatementLog:
    """Counts the SELECTs an engine sends, through SQLAlchemy's own cursor event."""

    def __init__(self) -> None:
        self.selects = 0

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.selects += statement.lstrip().upper().startswith("SELECT")


@pytest.fixture
def counted(sqlite_url: str) -> Iterator[tuple[SqlLedger, StatementLog]]:
    ledger = migrated(sqlite_url)
    assert isinstance(ledger, SqlLedger)
    for hours, ref in enumerate([LLAMA, MISTRAL, BERT] * 20):
        action = Action.STOP if hours % 2 == 0 else Action.START
        record = ledger.record_planned(transition(ref, action=action, hours=hours),
                                       strategy="native", actor="r", at=at(hours))
        ledger.mark_applied(record.id, at=at(hours))
    log = StatementLog()
    event.listen(ledger._engine, "before_cursor_execute", log)
    yield ledger, log
    ledger.close()


@pytest.mark.parametrize(("read", "selects"), [
    pytest.param(lambda ledger: ledger.view(at(60)), 5, id="view"),  # + deferrals, idle stops
    pytest.param(lambda ledger: ledger.history(namespace="team-a", since=at(30)), 1,
                 id="history"),
    pytest.param(lambda ledger: ledger.pending(), 1, id="pending"),
    pytest.param(lambda ledger: ledger.stops_in_force(), 1, id="stops-in-force"),
    pytest.param(lambda ledger: ledger.report(since=at(10), now=at(60)), 1, id="report"),
])
def test_reads_are_a_fixed_number_of_statements(
        counted: tuple[SqlLedger, StatementLog], read: Any, selects: int) -> None:
    ledger, log = counted
    read(ledger)
    assert log.selects == selects


def test_view_reads_per_service_facts_not_history(
        counted: tuple[SqlLedger, StatementLog]) -> None:
    ledger, _ = counted
    assert {ref: last.at for ref, last in ledger.view(at(60)).last_transitions.items()} == {
        LLAMA: at(57), MISTRAL: at(58), BERT: at(59)}
