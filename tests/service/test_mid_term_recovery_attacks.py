"""Attacks on recovery in the term (review r-term2): a lease lost while recovery reads,
a writer whose clock runs ahead.

Sandbox over HTTP, the loop with its `TermKeeper`, a real ledger (SQLite, PostgreSQL
15); where the lease matters, a real `LeaderElector` on the sandbox's Lease and the
service's `WriteGuard`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reclaimer.executor import isvc_state as st
from reclaimer.kube.lease import LeaderElector, LeaseSettings
from reclaimer.kube.rest import ISVC
from reclaimer.ledger import Ledger
from reclaimer.ledger.records import MANUAL_WRITES, RecordState
from reclaimer.model import Action, Reason, Transition, Trigger
from reclaimer.service.metrics import ServiceMetrics
from reclaimer.service.scheduler import AlwaysLeader
from reclaimer.service.term import TermKeeper, WriteGuard
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import OFFICE_HOURS, build, quiet, scenario
from tests.service.test_mid_term_recovery import (
    BEGIN,
    IN_FLIGHT,
    LLAMA,
    Led,
    _states,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
# Writes may start for leaseDuration - renewDeadline = 1 s after the last renewal.
LEASE = LeaseSettings(namespace="team-a", name="reclaimer-leader", identity="test",
                      lease_duration=3.0, renew_deadline=2.0, retry_period=0.5)


@pytest.fixture
def led(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> Iterator[Led]:
    """One service, one replica (`AlwaysLeader`): one term for the process's life."""
    world = build(make_sandbox(scenario(("team-a", "llama", {"tier": "dev"}))), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=store)
    yield Led(world, TermKeeper(world.reconciler, AlwaysLeader(), in_flight=IN_FLIGHT))
    world.close()


@dataclass
class Elected:
    """The loop led by a real elector: renewed, then the tick, as `reclaimer run` does."""

    led: Led
    elector: LeaderElector
    guard: WriteGuard

    def tick(self, at: datetime) -> None:
        assert self.elector.try_acquire_or_renew()
        self.guard.begin_tick()
        self.led.tick(at)


@pytest.fixture
def elected(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> Iterator[Elected]:
    world = build(make_sandbox(scenario(("team-a", "llama", {"tier": "dev"}))), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=store)
    elector = LeaderElector(world.rest, LEASE, now=lambda: datetime.now(UTC))
    guard = WriteGuard(elector, stopping=threading.Event(), budget=math.inf,
                       metrics=ServiceMetrics())
    world.reconciler.parts.executor.guard = guard
    yield Elected(Led(world, TermKeeper(world.reconciler, elector, in_flight=IN_FLIGHT)),
                  elector, guard)
    world.close()


def _cut_off_cli(loop: Led, *, at: datetime) -> int:
    """A `reclaimer stop --no-wait` that recorded its row and died before its PATCH."""
    obj = loop.world.rest.get(ISVC, "team-a", "llama")
    return loop.world.ledger.record_planned(Transition(
        ref=LLAMA, uid=st.uid_of(obj), action=Action.STOP, trigger=Trigger.MANUAL,
        reason=Reason.MANUAL, policy=None, at=at, gpus=1, evidence={"via": "cli"}),
        strategy="native", actor="bob@laptop", at=at).id


def test_a_leader_whose_lease_lapses_while_recovery_lists_settles_nothing(
        elected: Elected) -> None:
    """Recovery asked the guard once, before its LIST of every ISVC (20 pages at
    10,000): a LIST slower than the lease's margin let a deposed leader close rows the
    new leader is settling too. The guard is asked again before the writes; the row is
    left for a pass with a valid lease, which settles it."""
    elected.tick(BEGIN)
    row = _cut_off_cli(elected.led, at=BEGIN + timedelta(minutes=1))
    elected.tick(BEGIN + timedelta(minutes=2))  # first sight
    late = BEGIN + timedelta(minutes=3) + IN_FLIGHT + MANUAL_WRITES
    faults = elected.led.world.sandbox.faults
    faults.add("list", "inferenceservices", delay=1.5, times=-1)
    assert elected.elector.try_acquire_or_renew()
    elected.led.terms.before_tick(late)
    deposed = _states(elected.led, row)
    faults.clear()
    elected.tick(late + timedelta(minutes=1))
    assert (deposed, _states(elected.led, row)) == (RecordState.PLANNED,
                                                     RecordState.ABANDONED)


def test_a_writer_whose_clock_runs_an_hour_ahead_is_settled_in_minutes(led: Led) -> None:
    """An owner's stop recorded by a clock an hour fast: its ``recorded_at`` stays "within
    in-flight" for that hour, and nobody verifies the stop meanwhile. This process's
    own first sight of the row is after its writing started, whatever the writer's
    clock says: that alone bounds the in-flight time."""
    led.tick(BEGIN)
    row = led.manual(Action.STOP, actor="alice", at=BEGIN + timedelta(hours=1, minutes=1),
                     evidence={"via": "api", "user": "alice"})
    for minutes in (2, 3, 4):
        led.tick(BEGIN + timedelta(minutes=minutes))
    assert _states(led, row) is RecordState.VERIFIED


def test_a_writer_whose_clock_runs_an_hour_behind_is_still_left_while_it_writes(
        led: Led) -> None:
    """The other way: a `reclaimer stop` whose clock is an hour slow, its PATCH not yet
    made. Its row looks an hour old by ``recorded_at``; by this process's first sight
    it is fresh, and it is left for its writer's window (in-flight time and the
    person's API calls), then settled."""
    led.tick(BEGIN)
    row = _cut_off_cli(led, at=BEGIN - timedelta(minutes=59))
    led.tick(BEGIN + timedelta(minutes=2))  # first sight
    led.tick(BEGIN + timedelta(minutes=6))
    during = _states(led, row)
    led.tick(BEGIN + timedelta(minutes=8))
    assert (during, _states(led, row)) == (RecordState.PLANNED, RecordState.ABANDONED)
