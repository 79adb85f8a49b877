"""The chunk writes of the ledger contract, over the in-memory store, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reclaimer.errors import LedgerError
from reclaimer.ledger import Ledger, RecordState
from reclaimer.ledger.protocol import PlannedEntry
from reclaimer.model import Action, Reason, Trigger
from tests.ledger.builders import BERT, LLAMA, MISTRAL, at, transition

NATIVE = {"strategy": "native", "stopAnnotation": None}


def _entries(*refs: Any, restore: dict[str, Any] | None = None) -> list[PlannedEntry]:
    return [PlannedEntry(transition(ref), "native", restore) for ref in refs]


def test_a_chunk_is_recorded_planned_and_ids_come_back_in_order(ledger: Ledger) -> None:
    ids = ledger.record_planned_many(_entries(LLAMA, MISTRAL, BERT), actor="r", at=at(0.01))
    stored = {r.id: r for r in ledger.history()}
    assert [(stored[i].transition.ref, stored[i].state, stored[i].actor, stored[i].recorded_at)
            for i in ids if i is not None] == [
        (ref, RecordState.PLANNED, "r", at(0.01)) for ref in (LLAMA, MISTRAL, BERT)]


def test_chunk_rows_read_back_like_single_rows(ledger: Ledger) -> None:
    planned = transition(evidence={"requests": 0, "until": at(1)}, gpus=2)
    (record_id,) = ledger.record_planned_many([PlannedEntry(planned, "native")], actor="r",
                                              at=at(0))
    (stored,) = ledger.history()
    assert (stored.id, stored.transition.edge_key, stored.transition.gpus, stored.strategy,
            stored.transition.evidence) == (
        record_id, planned.edge_key, 2, "native", {"requests": 0, "until": at(1).isoformat()})


def test_an_edge_claimed_before_comes_back_as_none_and_writes_nothing(ledger: Ledger) -> None:
    ledger.record_planned(transition(MISTRAL), strategy="native", actor="other", at=at(0))
    ids = ledger.record_planned_many(_entries(LLAMA, MISTRAL, restore=NATIVE), actor="r",
                                     at=at(0))
    assert (ids[1], sorted(r.actor for r in ledger.history())) == (None, ["other", "r"])
    assert ledger.load_restore_info(MISTRAL, "uid-mistral") is None
    assert ledger.load_restore_info(LLAMA, "uid-llama") == {**NATIVE, "version": 1}


def test_an_edge_twice_in_one_chunk_is_claimed_once(ledger: Ledger) -> None:
    ids = ledger.record_planned_many(_entries(LLAMA, LLAMA), actor="r", at=at(0))
    assert (ids[0] is not None, ids[1], len(ledger.history())) == (True, None, 1)


def test_transitions_without_edge_are_all_recorded(ledger: Ledger) -> None:
    idle = transition(trigger=Trigger.IDLE, reason=Reason.IDLE_TIMEOUT, edge=False)
    ids = ledger.record_planned_many([PlannedEntry(idle, "native")] * 2, actor="r", at=at(0))
    assert (None not in ids, len(set(ids)), len(ledger.history())) == (True, 2, 2)


def test_a_retried_entry_writes_no_row_and_replaces_its_restore_info(ledger: Ledger) -> None:
    (first,) = ledger.record_planned_many(_entries(LLAMA, restore=NATIVE), actor="r", at=at(0))
    again = PlannedEntry(transition(), "native", {"strategy": "native", "stopAnnotation": "no"},
                         record_id=first)
    assert ledger.record_planned_many([again], actor="r", at=at(1)) == [first]
    assert [r.id for r in ledger.history()] == [first]
    assert ledger.load_restore_info(LLAMA, "uid-llama") == {
        "strategy": "native", "stopAnnotation": "no", "version": 1}


@pytest.mark.parametrize("bad", [
    pytest.param(PlannedEntry(transition(MISTRAL), "native", {"x": object()}), id="not-json"),
    pytest.param(PlannedEntry(replace(transition(MISTRAL), at=at(0).replace(tzinfo=None)),
                              "native"), id="naive-instant"),
])
def test_one_bad_entry_refuses_the_whole_chunk(ledger: Ledger, bad: PlannedEntry) -> None:
    with pytest.raises(LedgerError):
        ledger.record_planned_many([*_entries(LLAMA, restore=NATIVE), bad], actor="r",
                                   at=at(0))
    assert (ledger.history(), ledger.load_restore_info(LLAMA, "uid-llama")) == ([], None)


def test_an_empty_chunk_writes_nothing(ledger: Ledger) -> None:
    assert ledger.record_planned_many([], actor="r", at=at(0)) == []
    ledger.mark_applied_many([], at=at(0))
    assert ledger.history() == []


def test_marking_a_chunk_applied_moves_every_row(ledger: Ledger) -> None:
    ids = [i for i in ledger.record_planned_many(_entries(LLAMA, BERT), actor="r", at=at(0))
           if i is not None]
    ledger.mark_applied_many(ids, at=at(0.1))
    assert {(r.state, r.applied_at) for r in ledger.history()} == {
        (RecordState.APPLIED, at(0.1))}
    assert set(ledger.view(at(1)).last_transitions) == {LLAMA, BERT}


def test_applied_rows_are_still_pending_verification(ledger: Ledger) -> None:
    ids = [i for i in ledger.record_planned_many(_entries(LLAMA, BERT), actor="r", at=at(0))
           if i is not None]
    ledger.mark_applied_many(ids, at=at(0.1))
    assert sorted(r.id for r in ledger.pending()) == sorted(ids)


@pytest.mark.parametrize("finish", [
    pytest.param("applied", id="already-applied"),
    pytest.param("failed", id="failed"),
    pytest.param("unknown", id="no-such-row"),
])
def test_one_row_that_may_not_move_refuses_the_whole_chunk(ledger: Ledger,
                                                          finish: str) -> None:
    good, other = ledger.record_planned_many(_entries(LLAMA, BERT), actor="r", at=at(0))
    assert good is not None and other is not None
    if finish == "applied":
        ledger.mark_applied(other, at=at(0.1))
    elif finish == "failed":
        ledger.mark_failed(other, at=at(0.1), error="x")
    with pytest.raises(LedgerError):
        ledger.mark_applied_many([good, other if finish != "unknown" else 4242], at=at(0.2))
    assert next(r.state for r in ledger.history() if r.id == good) is RecordState.PLANNED


def test_the_newest_of_a_chunk_is_the_services_fact(ledger: Ledger) -> None:
    entries = [PlannedEntry(transition(action=Action.START, hours=1, edge=False), "native"),
               PlannedEntry(transition(hours=0, edge=False), "native")]
    ids = [i for i in ledger.record_planned_many(entries, actor="r", at=at(1)) if i]
    ledger.mark_applied_many(ids, at=at(1.1))
    assert ledger.view(at(2)).last_transitions[LLAMA].action is Action.START


def test_a_chunk_never_replaces_a_newer_fact(ledger: Ledger) -> None:
    newer = ledger.record_planned(transition(action=Action.START, hours=2), strategy="native",
                                  actor="r", at=at(2))
    ledger.mark_applied(newer.id, at=at(2))
    ids = [i for i in ledger.record_planned_many(_entries(LLAMA), actor="r", at=at(2.5)) if i]
    ledger.mark_applied_many(ids, at=at(2.6))
    assert ledger.view(at(3)).last_transitions[LLAMA].at == at(2)
