"""Our own row dated before an external fact another replica's clock put ahead of it.

A deposed leader whose clock is ahead books a person's start at its 18:05 (real 17:55)
and is fenced before it acts; its successor, its clock right, stops the model at the
18:00 edge. External rows are dated no earlier than the service's fact (h-ext5, r-ext5),
our own rows at the tick, and the fact is the row with the latest ``at``: it stays the
person's start. The ledger then says the model runs while it is stopped by us: our stop
is not in force (`stops_in_force`), and the report closes the weekend's stop at 18:05.
Left: the fact ordered by ``at`` across clocks is the design (a late settle of an older
row must not overwrite a newer fact); ordering facts by row, or dating our rows no
earlier than the fact, changes every writer and is not a review's fix.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from reclaimer.ledger import Ledger
from reclaimer.model import Action, Reason, Trigger
from tests.ledger.builders import LLAMA, at, transition

pytestmark = pytest.mark.timeout(60)


@pytest.mark.xfail(strict=True, reason=(
    "the service's fact is its row with the latest `at` whichever replica's clock dated "
    "it: our stop dated before a skewed external start never becomes the fact (r-ext5)"))
def test_our_stop_after_a_skewed_external_start_is_the_services_fact(ledger: Ledger) -> None:
    person = transition(action=Action.START, trigger=Trigger.EXTERNAL,
                        reason=Reason.EXTERNAL_CHANGE, policy=None, edge=False, hours=10.1)
    ledger.record_external(person, field_manager="kubectl", at=at(10.1), key="k")
    ours = ledger.record_planned(transition(hours=10), strategy="annotation", actor="test",
                                 at=at(10))
    ledger.mark_applied(ours.id, at=at(10))
    monday = at(10) + timedelta(days=2)
    fact = ledger.view(monday).last_transitions[LLAMA]
    hours = ledger.report(since=at(0), now=monday).total_gpu_hours
    in_force = [r.id for r in ledger.stops_in_force()]
    assert (fact.action, in_force, hours) == (Action.STOP, [ours.id], 48.0)
