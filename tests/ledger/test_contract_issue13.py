"""The two reads `decide()` gets for issue 13, on memory, SQLite and PostgreSQL 15.

``deferred_since``: the first ``DeferredBusy`` row of each edge (case 3: where
``maxDefer`` starts). ``recent_idle_stops``: idle stops made lately (case 10: the
mass-idle breaker across ticks), failed ones left out.
"""

from __future__ import annotations

from reclaimer.ledger import Ledger
from reclaimer.model import Action, Reason, Trigger
from tests.ledger.builders import BERT, LLAMA, MISTRAL, at, transition

EDGE = "team-a/office-hours|uid-llama|2026-03-02T08:00:00+00:00|stop"


def test_deferred_since_is_the_first_deferral_of_each_edge(ledger: Ledger) -> None:
    for hours in (0.5, 0.0, 1.0):
        deferred = transition(LLAMA, hours=hours, reason=Reason.DEFERRED_BUSY, edge=False,
                              blocked="deferred: busy", evidence={"edgeKey": EDGE})
        ledger.record_blocked(deferred, actor="r", at=at(hours))
    assert dict(ledger.view(at(2)).deferred_since) == {EDGE: at(0)}


def test_recent_idle_stops_are_made_ones_within_the_hour(ledger: Ledger) -> None:
    for ref, hours, fail in ((LLAMA, 1.5, False), (MISTRAL, 1.9, True), (BERT, 0.5, False)):
        idle = transition(ref, hours=hours, trigger=Trigger.IDLE, reason=Reason.IDLE_TIMEOUT,
                          edge=False, action=Action.STOP)
        record = ledger.record_planned(idle, strategy="native", actor="r", at=at(hours))
        if fail:
            ledger.mark_failed(record.id, at=at(hours), error="403")
        else:
            ledger.mark_applied(record.id, at=at(hours))
    assert dict(ledger.view(at(2)).recent_idle_stops) == {LLAMA: at(1.5)}
