"""A person starts llama while a stop of ours (a CLI's, still verifying) is unsettled.

The row is pending, so the loop books no external change for llama while it is (the
row's writer may still be at work); once recovery settles it (failed: KServe never
reported the stop done), the person's start is booked once, after that row, and the
ledger's fact is that start. Sandbox over HTTP,
the loop with its `TermKeeper`, a real ledger (SQLite, PostgreSQL 15).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from reclaimer.ledger import Ledger
from reclaimer.ledger.records import WAIT_KEY, RecordState
from reclaimer.model import Action
from tests.fixtures.sandbox import MakeSandbox
from tests.service.test_external_fencing import _booked
from tests.service.test_external_key_collisions import _person_sets
from tests.service.test_mid_term_recovery import BEGIN, LLAMA, Led, one_replica

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


@pytest.fixture
def alone(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> Iterator[Led]:
    found = one_replica(make_sandbox, tmp_path, store)
    yield found
    found.world.close()


def test_a_start_by_hand_over_a_stop_still_settling_is_booked_once_after_it(
        alone: Led) -> None:
    alone.tick(BEGIN)
    cli = alone.manual(Action.STOP, actor="bob@laptop", at=BEGIN + timedelta(minutes=1),
                       evidence={"via": "cli", WAIT_KEY: 300})
    _person_sets(alone.world, None)
    for minutes in (2, 4, 8, 9, 10, 20, 30, 31):
        alone.tick(BEGIN + timedelta(minutes=minutes))
    ledger = alone.world.ledger
    rows = [(r.id, r.transition.action, r.state) for r in reversed(ledger.history())
            if r.transition.action is Action.START or r.id == cli]
    fact = ledger.view(BEGIN + timedelta(minutes=31)).last_transitions[LLAMA]
    booked = [action for action, _, _ in _booked(ledger)]
    assert (rows[1:], booked, fact.transition_id) == (
        [(cli, Action.STOP, RecordState.FAILED), (rows[-1][0], Action.START,
                                                  RecordState.OBSERVED)],
        [Action.START], rows[-1][0])
