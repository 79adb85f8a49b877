"""An external change is booked once per key, on every store and across replicas.

Two replicas that both observed somebody else's change (a deposed leader's tick
overlapping its successor's) each wrote an ``observed`` row: two rows for one fact, the
GPU-hours of the stop and who stopped it counted twice. The key is what both derive
alike (`reclaimer.service.recording.external_key`); the ledger claims it with the row.
The contract runs over the in-memory store, SQLite on a file and PostgreSQL 15; the race
over two `SqlLedger` objects on one PostgreSQL 15 database, the first holding its
transaction open until the second waits on its claim.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from reclaimer.ledger import Ledger, SqlLedger
from reclaimer.ledger.tables import ExternalClaimRow
from reclaimer.model import Action, Reason, Transition, Trigger
from tests.ledger.builders import at, transition
from tests.ledger.locks import hold_open_until_the_other_waits

pytestmark = pytest.mark.timeout(60)


def _flip(hours: float) -> Transition:
    return transition(action=Action.START, trigger=Trigger.EXTERNAL,
                      reason=Reason.EXTERNAL_CHANGE, policy=None, edge=False, hours=hours)


def _book(ledger: Ledger, hours: float, key: str) -> object:
    return ledger.record_external(_flip(hours), field_manager="kubectl", at=at(hours),
                                  key=key)


@pytest.mark.parametrize(("keys", "rows"), [
    pytest.param(("start-after-stop@8", "start-after-stop@8"), 1, id="one-key-one-row"),
    pytest.param(("start-after-stop@8", "start-after-none"), 2, id="two-keys-two-rows"),
])
def test_an_external_change_is_booked_once_per_key(ledger: Ledger, keys: tuple[str, str],
                                                   rows: int) -> None:
    for n, key in enumerate(keys):
        _book(ledger, 1 + n, key)
    assert len(ledger.history()) == rows


def test_a_change_booked_before_comes_back_none_and_leaves_the_first_fact(
        ledger: Ledger) -> None:
    _book(ledger, 1, "k")
    again = _book(ledger, 2, "k")
    assert (again, ledger.view(at(3)).last_transitions[_flip(1).ref].at) == (None, at(1))


@pytest.mark.integration
def test_two_replicas_booking_one_change_at_once_write_one_row(
        replicas: tuple[SqlLedger, SqlLedger], postgres_url: str) -> None:
    first, second = replicas
    held = hold_open_until_the_other_waits(first, postgres_url, table="external_claims")
    with ThreadPoolExecutor(2) as pool:
        one = pool.submit(_book, first, 1, "k")
        assert held.wait(timeout=30)
        two = pool.submit(_book, second, 1.01, "k")
        booked = (one.result(timeout=30) is not None, two.result(timeout=30))
    with first._engine.connect() as connection:
        claims = connection.execute(select(func.count(ExternalClaimRow.key))).scalar_one()
    assert (booked, len(first.history()), claims) == ((True, None), 1, 1)
