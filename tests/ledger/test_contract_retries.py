"""Issue 14 cases 4 and 5 in the ledger contract, over memory, SQLite and PostgreSQL:
a permanent failure keeps its edge, and a retried row tells the attempt that acted."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reclaimer.ledger import Ledger, RecordState
from reclaimer.ledger.protocol import PlannedEntry
from reclaimer.model import Reason, Trigger
from tests.ledger.builders import BERT, LLAMA, at, transition


@pytest.mark.parametrize(("keep_claim", "claimed"), [
    pytest.param(True, True, id="permanent-keeps-the-edge"),
    pytest.param(False, False, id="default-gives-it-back"),
])
def test_case5_a_permanent_failure_keeps_its_edge(ledger: Ledger, keep_claim: bool,
                                                  claimed: bool) -> None:
    record = ledger.record_planned(transition(), strategy="native", actor="r", at=at(0))
    ledger.mark_failed(record.id, at=at(0.1), error="403 Forbidden", keep_claim=keep_claim)
    (stored,) = ledger.history()
    assert (stored.state, stored.error) == (RecordState.FAILED, "403 Forbidden")
    assert (transition().edge_key in ledger.view(at(0.2)).applied_edge_keys) is claimed


def test_case4_a_kept_row_takes_the_retrys_time_and_evidence(ledger: Ledger) -> None:
    first = transition(evidence={"lateSeconds": 0.0})
    (record_id,) = ledger.record_planned_many([PlannedEntry(first, "native")], actor="r",
                                              at=at(0))
    retry = replace(first, at=at(0.5), trigger=Trigger.CATCH_UP, reason=Reason.CAUGHT_UP,
                    evidence={"lateSeconds": 1800.0}, gpus=2)
    again = ledger.record_planned_many([PlannedEntry(retry, "native", record_id=record_id)],
                                       actor="r", at=at(0.5))
    assert record_id is not None and again == [record_id]
    ledger.mark_applied(record_id, at=at(0.5))
    (stored,) = ledger.history()
    assert (stored.transition.at, stored.transition.trigger, stored.transition.reason,
            dict(stored.transition.evidence), stored.transition.gpus,
            stored.recorded_at) == (at(0.5), Trigger.CATCH_UP, Reason.CAUGHT_UP,
                                    {"lateSeconds": 1800.0}, 2, at(0))
    assert ledger.view(at(1)).last_transitions[first.ref].at == at(0.5)


def test_case4_a_settled_row_is_not_reused_and_the_rest_of_the_chunk_is(
        ledger: Ledger) -> None:
    (record_id,) = ledger.record_planned_many([PlannedEntry(transition(), "native")],
                                              actor="r", at=at(0))
    assert record_id is not None
    ledger.mark_abandoned(record_id, at=at(0.1), error="settled by another replica")
    retry = PlannedEntry(replace(transition(), at=at(0.2)), "native", record_id=record_id,
                         restore={"strategy": "native", "stopAnnotation": None})
    other = PlannedEntry(transition(BERT), "native")
    results = ledger.record_planned_many([retry, other], actor="r", at=at(0.2))
    stored = {r.id: r for r in ledger.history()}
    assert results[0] is None and results[1] in stored
    assert (stored[record_id].state, stored[record_id].transition.at) == (
        RecordState.ABANDONED, at(0))
    assert ledger.load_restore_info(LLAMA, "uid-llama") is None


def _reuse(ledger: Ledger, record_id: int, *, actor: str, when: float) -> None:
    retry = replace(transition(evidence={"lateSeconds": when}), at=at(when))
    assert ledger.record_planned_many([PlannedEntry(retry, "native", record_id=record_id)],
                                      actor=actor, at=at(when)) == [record_id]


@pytest.mark.parametrize(("reusers", "actor", "evidence"), [
    pytest.param(["replica-new"], "replica-new",
                 {"lateSeconds": 0.5, "plannedBy": "replica-old"}, id="next-leader"),
    pytest.param(["replica-new", "replica-new"], "replica-new",
                 {"lateSeconds": 1.0, "plannedBy": "replica-old"}, id="its-own-retry"),
    pytest.param(["replica-new", "replica-third"], "replica-third",
                 {"lateSeconds": 1.0, "plannedBy": "replica-old"}, id="a-third-leader"),
    pytest.param(["replica-old"], "replica-old", {"lateSeconds": 0.5}, id="same-actor"),
])
def test_a_kept_row_reused_by_another_actor_names_who_finished_it(
        ledger: Ledger, reusers: list[str], actor: str, evidence: dict[str, object]) -> None:
    """A dead leader's untouched edge row, reused by the next leader's decision: the row
    says who acted, and keeps who planned it in its evidence."""
    (record_id,) = ledger.record_planned_many([PlannedEntry(transition(), "native")],
                                              actor="replica-old", at=at(0))
    assert record_id is not None
    for step, reuser in enumerate(reusers, start=1):
        _reuse(ledger, record_id, actor=reuser, when=step / 2)
    (stored,) = ledger.history()
    assert (stored.actor, dict(stored.transition.evidence)) == (actor, evidence)
