"""Attacks on the fence of a tick's blocked entries (review r-fence of 8ce3130).

The lease is renewed by a thread of its own (`LeaderElector.run`), so the guard may
refuse one chunk of a tick and allow the next: a renewal that came late (an API server
slow for more than the margin) but in time, the same term."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reclaimer.ledger import Ledger
from reclaimer.model import Action, Reason
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import (
    FRIDAY_STOP,
    OFFICE_HOURS,
    LoopWorld,
    build,
    busy_until,
    quiet,
    scenario,
)
from tests.service.test_blocked_fencing import Fenced, fence, lease_lapses, led_by_elector
from tests.service.test_mid_term_recovery import BEGIN, LLAMA
from tests.service.test_mid_term_recovery_attacks import LEASE

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
TUESDAY_START = datetime(2030, 4, 2, 6, 1, tzinfo=UTC)  # 08:01 CEST
"""Monday's start and stop passed unseen; Tuesday's start is decided, both are missed."""


@pytest.fixture
def running(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> Iterator[Fenced]:
    """llama governed by office hours, stopped by the Friday 19:00 edge (applied)."""
    found = led_by_elector(make_sandbox, tmp_path, store)
    world = found.led.world
    found.tick(FRIDAY_STOP)
    assert _stops(world) == [(Reason.SCHEDULE_STOP, FRIDAY_STOP)]
    yield found
    world.close()


def _stops(world: LoopWorld) -> list[tuple[Reason, datetime]]:
    return [(r.transition.reason, r.transition.at) for r in world.ledger.history()
            if r.transition.action is Action.STOP and r.transition.ref == LLAMA]


def _renewed_once_refused(fenced: Fenced) -> Callable[[], str | None]:
    """The real guard; after its first refusal the renewal thread gets through."""
    refused: list[str] = []

    def guard() -> str | None:
        why = fenced.guard()
        if why is not None and not refused:
            refused.append(why)
            assert fenced.elector.try_acquire_or_renew()
        return why
    return guard


def test_missed_edges_refused_are_recorded_when_the_latest_edge_acts(running: Fenced) -> None:
    """The guard refuses the missed entries, then allows Tuesday's start: the missed
    edges must still be recorded by a later tick (on 8ce3130 they never are: the start
    is applied, and an applied latest edge ends the search for missed ones)."""
    assert running.elector.try_acquire_or_renew()
    running.guard.begin_tick()
    time.sleep(1.2)
    running.led.world.reconciler.parts.executor.guard = _renewed_once_refused(running)
    running.led.tick(TUESDAY_START)
    running.led.world.reconciler.parts.executor.guard = running.guard
    running.tick(TUESDAY_START + timedelta(minutes=1))
    running.tick(TUESDAY_START + timedelta(minutes=2))
    missed = [r.transition.evidence.get("edgeAt") for r in running.led.world.ledger.history()
              if r.transition.reason is Reason.MISSED]
    assert sorted(str(m) for m in missed) == [
        "2030-04-01T06:00:00+00:00", "2030-04-01T17:00:00+00:00"]


def _fenced(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger, *,
            policy: str, busy: bool = False) -> Fenced:
    script = busy_until(FRIDAY_STOP + timedelta(days=1)) if busy else quiet()
    world = build(make_sandbox(scenario(("team-a", "llama", {"tier": "dev"}))), tmp_path,
                  policies={"office": policy}, scripts={LLAMA: script}, ledger=store)
    return fence(world)


def test_a_dry_run_edge_refused_is_recorded_once_by_the_next_tick(
        make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> None:
    """Held: a dry-run entry claims its edge like a held one; refused, it is decided
    again, and written once (not again on the tick after)."""
    policy = OFFICE_HOURS % {"busy": "force"} + "  mode: dryRun\n"
    fenced = _fenced(make_sandbox, tmp_path, store, policy=policy)
    try:
        fenced.tick(BEGIN)
        lease_lapses(fenced)
        fenced.led.tick(FRIDAY_STOP)
        assert _stops(fenced.led.world) == []
        for minutes in (1, 2):
            fenced.tick(FRIDAY_STOP + timedelta(minutes=minutes))
        assert _stops(fenced.led.world) == [
            (Reason.DRY_RUN, FRIDAY_STOP + timedelta(minutes=1))]
    finally:
        fenced.led.world.close()


def test_the_first_tick_of_a_term_refused_at_its_first_chunk_leaves_the_edge_to_the_next(
        make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> None:
    """Held: the term's first tick (recovery included) may not write at all; the held
    edge is recorded by the next tick, once."""
    fenced = _fenced(make_sandbox, tmp_path, store, policy=OFFICE_HOURS % {"busy": "force"})
    try:
        fenced.led.world.ledger.hold(LLAMA, until=FRIDAY_STOP + timedelta(days=1),
                                     reason="demo tonight", who="alice", now=BEGIN)
        lease_lapses(fenced)
        fenced.led.tick(FRIDAY_STOP)
        assert _stops(fenced.led.world) == []
        for minutes in (1, 2):
            fenced.tick(FRIDAY_STOP + timedelta(minutes=minutes))
        assert _stops(fenced.led.world) == [(Reason.HELD, FRIDAY_STOP + timedelta(minutes=1))]
    finally:
        fenced.led.world.close()


def test_a_deferral_refused_is_written_and_announced_once_by_the_next_tick(
        make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> None:
    """Held: a deferral (no edge) refused is forgotten, so the next tick writes it and
    announces it; no Event for the refused tick, no second row the tick after."""
    fenced = _fenced(make_sandbox, tmp_path, store, policy=OFFICE_HOURS % {"busy": "defer"},
                     busy=True)
    try:
        fenced.tick(BEGIN)
        lease_lapses(fenced)
        fenced.led.tick(FRIDAY_STOP)
        assert (_stops(fenced.led.world), _deferred_events(fenced.led.world)) == ([], 0)
        for minutes in (1, 2):
            fenced.tick(FRIDAY_STOP + timedelta(minutes=minutes))
        assert _stops(fenced.led.world) == [
            (Reason.DEFERRED_BUSY, FRIDAY_STOP + timedelta(minutes=1))]
        assert _deferred_events(fenced.led.world) == 1
    finally:
        fenced.led.world.close()


def _deferred_events(world: LoopWorld) -> int:
    items = world.rest.request("GET", "/api/v1/namespaces/team-a/events")["items"]
    return sum(int(e.get("count") or 1) for e in items if e["reason"] == "Deferred")


def test_a_standby_taking_over_records_the_edge_the_deposed_leader_was_refused(
        make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> None:
    """Held: the leader's lease lapses at the edge's tick; a second replica (its own
    elector on the same Lease, its own loop, the same ledger) takes over once the lease
    expires, and records the held edge once; the old leader, ticking on, writes nothing."""
    sandbox = make_sandbox(scenario(("team-a", "llama", {"tier": "dev"})))
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    worlds = [build(sandbox, tmp_path / name, policies={"office": OFFICE_HOURS % {
        "busy": "force"}}, scripts={LLAMA: quiet()}, ledger=store) for name in ("a", "b")]
    old, new = (fence(w, identity=identity) for w, identity in zip(worlds, ("a", "b"), strict=True))
    try:
        old.tick(BEGIN)
        store.hold(LLAMA, until=FRIDAY_STOP + timedelta(days=1), reason="demo tonight",
                   who="alice", now=BEGIN)
        lease_lapses(old)
        old.led.tick(FRIDAY_STOP)
        assert not new.elector.try_acquire_or_renew()  # sees the old leader's renewal
        time.sleep(LEASE.lease_duration + 0.2)
        new.tick(FRIDAY_STOP + timedelta(minutes=1))
        old.guard.begin_tick()
        old.led.tick(FRIDAY_STOP + timedelta(minutes=2))
        new.tick(FRIDAY_STOP + timedelta(minutes=3))
        assert _stops(worlds[0]) == [(Reason.HELD, FRIDAY_STOP + timedelta(minutes=1))]
    finally:
        for world in worlds:
            world.close()
