"""A deposed leader books from a view older than its successor's: never a second row.

Its tick read the ledger, then its successor booked a person's start and stop (and the
person started again); the deposed leader, past its lease guard, books the start it saw
with its old view. Its key names the fact it read (our stop), which the successor's
booking of that same start took: nothing written. The successor's later start, after a
later fact, is booked. Two replicas on one PostgreSQL 15 database.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from reclaimer.executor.executor import always_allowed
from reclaimer.ledger import SqlLedger
from reclaimer.model import Action, DeploymentMode, LedgerView, Service, ServiceState
from reclaimer.service.recording import external_changes, record_external
from tests.ledger.builders import LLAMA, at, transition

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _llama(state: ServiceState) -> Service:
    return Service(ref=LLAMA, uid="uid-llama", mode=DeploymentMode.STANDARD, state=state,
                   created_at=at(-24), stop_changed_by="kubectl")


def _tick(ledger: SqlLedger, state: ServiceState, *, now: datetime,
          view: LedgerView | None = None) -> None:
    """One tick's booking: observe ``state``, compare with ``view`` (else read now)."""
    view = view if view is not None else ledger.view(now)
    record_external(ledger, external_changes([_llama(state)], view, now=now), view=view,
                    may_write=always_allowed)


def test_a_deposed_leaders_older_view_books_nothing_its_successor_booked(
        replicas: tuple[SqlLedger, SqlLedger]) -> None:
    deposed, leader = replicas
    ours = deposed.record_planned(transition(hours=1), strategy="annotation", actor="test",
                                  at=at(1))
    deposed.mark_applied(ours.id, at=at(1))
    old = deposed.view(at(2))  # the deposed leader's tick reads, and sees llama running
    for hours, state in ((2.1, ServiceState.RUNNING), (2.2, ServiceState.STOPPED)):
        _tick(leader, state, now=at(hours))
    _tick(deposed, ServiceState.RUNNING, now=at(2), view=old)
    _tick(leader, ServiceState.RUNNING, now=at(2.3))
    booked = [(r.transition.action, r.transition.at) for r in reversed(leader.history())]
    assert booked == [(Action.STOP, at(1)), (Action.START, at(2.1)),
                      (Action.STOP, at(2.2)), (Action.START, at(2.3))]
