"""A tick's blocked entries go to the ledger in one batch (`Ledger.record_blocked_many`):
one commit per `BLOCKED_CHUNK` on a real SQLite file, counted, not timed (was one commit
each: 7.0 s of an 18.9 s first tick at 10,000 ISVCs). What is written, and the log line
for an edge another replica recorded, stay what they were."""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event

from reclaimer.errors import LedgerUnavailable
from reclaimer.ledger import RecordState, SqlLedger, engine, protocol
from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger
from reclaimer.service.metrics import ServiceMetrics
from reclaimer.service.recording import BlockedRecorder
from reclaimer.service.scheduler import AlwaysLeader
from reclaimer.service.term import WriteGuard
from tests.ledger.conftest import migrated

NOW = datetime(2030, 4, 1, 17, 0, tzinfo=UTC)
ENTRIES = protocol.BLOCKED_CHUNK * 2 + 80


def _held(i: int) -> Transition:
    return Transition(ref=ServiceRef("team", f"m{i:04d}"), uid=f"u{i}", action=Action.STOP,
                      trigger=Trigger.SCHEDULE, reason=Reason.HELD, policy="p", at=NOW,
                      edge_key=f"p|u{i}|{NOW.isoformat()}|stop", blocked="held by alice")


def _deferred(i: int) -> Transition:
    return Transition(ref=ServiceRef("team", f"m{i:04d}"), uid=f"u{i}", action=Action.STOP,
                      trigger=Trigger.IDLE, reason=Reason.DEFERRED_BUSY, policy="p", at=NOW,
                      blocked="busy")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def ledger(url: str) -> Iterator[SqlLedger]:
    store = migrated(url)
    assert isinstance(store, SqlLedger)
    yield store
    store.close()


def test_a_ticks_blocked_entries_cost_one_commit_per_chunk(ledger: SqlLedger) -> None:
    """1,080 entries: 3 commits (1,080 before)."""
    commits: list[None] = []
    event.listen(ledger._engine, "commit", lambda _conn: commits.append(None))
    entries = [_held(i) if i % 3 else _deferred(i) for i in range(ENTRIES)]
    written = BlockedRecorder(ledger, actor="r").record(entries, at=NOW)
    assert (written, len(commits)) == (entries, math.ceil(ENTRIES / protocol.BLOCKED_CHUNK))
    stored = sorted(ledger.history(limit=ENTRIES + 1), key=lambda r: r.id)
    assert [(r.transition, r.state, r.actor) for r in stored] == [
        (t, RecordState.SKIPPED, "r") for t in entries]


def test_an_edge_another_replica_recorded_is_logged_and_the_rest_written(
        ledger: SqlLedger, url: str, caplog: pytest.LogCaptureFixture) -> None:
    other = SqlLedger.open(url)
    try:
        BlockedRecorder(other, actor="other").record([_held(2)], at=NOW)
    finally:
        other.close()
    entries = [_held(1), _held(2), _deferred(3)]
    with caplog.at_level(logging.INFO, logger="reclaimer.loop"):
        written = BlockedRecorder(ledger, actor="r").record(entries, at=NOW)
    assert written == entries
    assert [r.getMessage() for r in caplog.records] == [
        "edge of team/m0002 already recorded by another replica"]
    assert sorted((r.transition.ref.name, r.actor) for r in ledger.history()) == [
        ("m0001", "r"), ("m0002", "other"), ("m0003", "r")]


def test_a_deferral_whose_write_the_database_refused_is_written_by_the_next_tick(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process holds SQLite's write lock past the busy timeout (shortened to
    0.2 s) during a tick: the tick fails with `LedgerUnavailable` and nothing is written.
    The same deferral next tick, once the lock is free, must be written; before the fix
    `_is_new` had already remembered it as written, so it was never recorded."""
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 200)
    store = migrated(url)
    recorder = BlockedRecorder(store, actor="r")
    entries = [_deferred(1), _held(2)]
    other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(LedgerUnavailable):
            recorder.record(entries, at=NOW)
        other.execute("ROLLBACK")
        assert store.history() == []
        assert recorder.record(entries, at=NOW) == entries
        assert sorted(r.transition.ref.name for r in store.history()) == ["m0001", "m0002"]
    finally:
        other.close()
        store.close()


def test_a_guard_that_turns_mid_batch_leaves_the_later_chunks_to_the_next_tick(
        ledger: SqlLedger) -> None:
    """The guard is asked before each chunk: the first is written, the rest are not,
    and their deferrals are news again when writing is allowed (review r-blk20)."""
    answers = iter([None, "the leader lease was not renewed within its safety margin"])
    entries = [_held(i) if i % 3 else _deferred(i) for i in range(ENTRIES)]
    recorder = BlockedRecorder(ledger, actor="r")
    first = recorder.record(entries, at=NOW, may_write=lambda: next(answers))
    assert (first, len(ledger.history(limit=ENTRIES + 1))) == (
        entries[:protocol.BLOCKED_CHUNK], protocol.BLOCKED_CHUNK)
    later = recorder.record(entries, at=NOW)
    assert [t.ref for t in later if t.edge_key is None] == [
        t.ref for t in entries[protocol.BLOCKED_CHUNK:] if t.edge_key is None]


def test_a_budget_that_allows_one_chunk_a_tick_writes_everything_in_as_many_ticks(
        ledger: SqlLedger) -> None:
    """Review r-fence (held): the real `WriteGuard` whose budget is spent after one chunk,
    every tick. The edges written are not proposed again (decide reads them as applied),
    the refused deferrals are news again: 1,080 entries are all written, each once, in
    3 ticks, one chunk a tick (a tick whose budget is spent before its first chunk
    writes nothing, and acts on nothing either)."""
    clock = [0.0]
    guard = WriteGuard(AlwaysLeader(), stopping=threading.Event(), budget=0.5,
                       metrics=ServiceMetrics(), monotonic=lambda: clock[0])
    recorder, entries = BlockedRecorder(ledger, actor="r"), [
        _held(i) if i % 3 else _deferred(i) for i in range(ENTRIES)]

    def may_write() -> str | None:
        why = guard()
        clock[0] += 1.0  # one chunk spends the tick's budget
        return why
    ticks = 0
    while len(ledger.history(limit=ENTRIES + 1)) < ENTRIES and ticks < 10:
        applied = {r.transition.edge_key for r in ledger.history(limit=ENTRIES + 1)}
        guard.begin_tick()
        recorder.record([t for t in entries if t.edge_key is None or t.edge_key not in applied],
                        at=NOW, may_write=may_write)
        ticks += 1
    refs = sorted(r.transition.ref.name for r in ledger.history(limit=ENTRIES + 1))
    assert (ticks, refs) == (math.ceil(ENTRIES / protocol.BLOCKED_CHUNK),
                             sorted(t.ref.name for t in entries))
