"""Entries retried every tick (deferred, breaker) are written once per reason, found by
one lookup per entry: counted, not timed (an edge tick at 50,000 ISVCs blocks thousands)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reclaimer.ledger import MemoryLedger
from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger
from reclaimer.service.recording import BlockedRecorder
from tests.fixtures.counting import count_calls

NOW = datetime(2030, 4, 1, 17, 0, tzinfo=UTC)
ENTRIES = 200


def _blocked(i: int, reason: Reason = Reason.MASS_IDLE_BREAKER) -> Transition:
    return Transition(ref=ServiceRef("team", f"m{i:04d}"), uid=f"u{i}", action=Action.STOP,
                      trigger=Trigger.IDLE, reason=reason, policy="p", at=NOW,
                      blocked="breaker open")


def test_each_entry_costs_one_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """200 new blocked entries: at most one ref comparison each (about 20,000 before,
    the written keys rebuilt for each)."""
    recorder = BlockedRecorder(MemoryLedger(), actor="test")
    compared = count_calls(monkeypatch, ServiceRef, "__eq__")
    written = recorder.record([_blocked(i) for i in range(ENTRIES)], at=NOW)
    again = recorder.record([_blocked(i) for i in range(ENTRIES)], at=NOW)
    monkeypatch.undo()
    assert (len(written), again) == (ENTRIES, [])
    assert len(compared) <= 2 * ENTRIES


def test_a_new_reason_or_a_forgotten_service_is_written_again() -> None:
    recorder = BlockedRecorder(MemoryLedger(), actor="test")
    recorder.record([_blocked(0), _blocked(1), _blocked(2)], at=NOW)
    recorder.forget([_blocked(1).ref])
    fresh = recorder.record([_blocked(0, Reason.DEFERRED_BUSY), _blocked(1), _blocked(2)],
                            at=NOW)
    assert [(t.ref.name, t.reason) for t in fresh] == [
        ("m0000", Reason.DEFERRED_BUSY), ("m0001", Reason.MASS_IDLE_BREAKER)]
    assert recorder.record([_blocked(0)], at=NOW) == [_blocked(0)]  # back to the first reason
