"""A tick's blocked entries in one batch, over the in-memory store, SQLite and PostgreSQL.

`record_blocked_many` keeps what `record_blocked` promised per entry: an entry whose edge
is already claimed is refused alone (None, nothing written) and the others are written.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reclaimer.errors import EdgeAlreadyClaimed, LedgerError
from reclaimer.ledger import Ledger, RecordState, protocol
from reclaimer.model import Reason, ServiceRef, Transition, Trigger
from tests.ledger.builders import BERT, LLAMA, MISTRAL, at, transition


def _held(ref: ServiceRef = LLAMA, evidence: dict[str, Any] | None = None) -> Transition:
    return transition(ref, blocked="held by alice", evidence=evidence)


def _deferred(ref: ServiceRef = LLAMA) -> Transition:
    return transition(ref, trigger=Trigger.IDLE, reason=Reason.DEFERRED_BUSY, edge=False,
                      blocked="busy")


def test_every_entry_of_a_batch_is_written_skipped_in_order(ledger: Ledger) -> None:
    batch = [_held(LLAMA), _deferred(MISTRAL), _held(BERT)]
    records = ledger.record_blocked_many(batch, actor="r", at=at(0.01))
    assert [(r.transition.ref, r.state, r.actor, r.recorded_at) if r else None
            for r in records] == [(t.ref, RecordState.SKIPPED, "r", at(0.01)) for t in batch]
    stored = sorted(ledger.history(), key=lambda r: r.id)
    assert stored == records
    assert ledger.view(at(1)).applied_edge_keys == {batch[0].edge_key, batch[2].edge_key}


def test_a_claimed_edge_is_refused_alone_and_writes_nothing(ledger: Ledger) -> None:
    ledger.record_planned(transition(MISTRAL), strategy="native", actor="other", at=at(0))
    records = ledger.record_blocked_many([_held(LLAMA), _held(MISTRAL), _held(BERT)],
                                         actor="r", at=at(0))
    assert [r is not None for r in records] == [True, False, True]
    assert sorted((r.transition.ref.name, r.actor, r.state) for r in ledger.history()) == [
        ("bert", "r", RecordState.SKIPPED), ("llama", "r", RecordState.SKIPPED),
        ("mistral", "other", RecordState.PLANNED)]


def test_an_edge_twice_in_one_batch_is_claimed_by_the_first(ledger: Ledger) -> None:
    first, second = _held(LLAMA), _held(LLAMA, evidence={"second": True})
    records = ledger.record_blocked_many([first, second, _held(BERT)], actor="r", at=at(0))
    assert (records[0] is not None, records[1], records[2] is not None) == (True, None, True)
    assert [r.transition.evidence for r in ledger.history() if r.transition.ref == LLAMA] == [{}]


def test_entries_without_edge_are_all_written(ledger: Ledger) -> None:
    records = ledger.record_blocked_many([_deferred(), _deferred()], actor="r", at=at(0))
    assert (None not in records, len(ledger.history())) == (True, 2)


def test_an_empty_batch_writes_nothing(ledger: Ledger) -> None:
    assert ledger.record_blocked_many([], actor="r", at=at(0)) == []
    assert ledger.history() == []


def test_a_naive_instant_refuses_the_whole_batch(ledger: Ledger) -> None:
    naive = replace(_held(MISTRAL), at=at(0).replace(tzinfo=None))
    with pytest.raises(LedgerError):
        ledger.record_blocked_many([_held(LLAMA), naive], actor="r", at=at(0))
    assert ledger.history() == []


def test_a_batch_claims_what_single_calls_then_refuse(ledger: Ledger) -> None:
    ledger.record_blocked_many([_held(LLAMA)], actor="r", at=at(0))
    with pytest.raises(EdgeAlreadyClaimed):
        ledger.record_blocked(_held(LLAMA), actor="r", at=at(0))
    assert len(ledger.history()) == 1


def test_an_edge_claimed_in_an_earlier_chunk_is_refused_in_a_later_one(
        ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocol, "BLOCKED_CHUNK", 2)
    batch = [_held(LLAMA), _held(BERT), _deferred(MISTRAL), _held(LLAMA), _held(MISTRAL)]
    records = ledger.record_blocked_many(batch, actor="r", at=at(0))
    assert [r is not None for r in records] == [True, True, True, False, True]
    assert [r.transition.ref for r in sorted(ledger.history(), key=lambda r: r.id)] == [
        LLAMA, BERT, MISTRAL, MISTRAL]
