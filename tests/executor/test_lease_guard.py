"""Issue 14 case 3: a tick that outlives its lease stops writing at once.

A real sandbox over HTTP, a real `LeaderElector` whose Lease PUTs fail by fault
injection, the service's `WriteGuard` as the executor's guard, and one monotonic clock
the test moves (the elector's and the guard's), so "renewal failing for 6 s" is a
literal, not a sleep. Defaults 15 s / 10 s / 2 s: the leader may start writes for
``15 - 10 = 5`` s after its last renewal, and a tick for ``renewDeadline`` = 10 s.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from reclaimer.clock import ManualClock
from reclaimer.executor.outcome import OutcomeKind
from reclaimer.kube.lease import LeaderElector, LeaseSettings
from reclaimer.model import Action
from reclaimer.service.metrics import ServiceMetrics
from reclaimer.service.term import WriteGuard
from tests.executor.conftest import NS, T0, Harness, MakeHarness, isvc_entry

pytestmark = pytest.mark.integration
BUDGET = 10.0


@dataclass
class FakeTime:
    seconds: float = 0.0
    wall: ManualClock = field(default_factory=lambda: ManualClock(T0))

    def monotonic(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds
        self.wall.advance(timedelta(seconds=seconds))


@dataclass
class Guarded:
    elector: LeaderElector
    guard: WriteGuard
    metrics: ServiceMetrics
    stopping: threading.Event
    clock: FakeTime

    def renew_every_retry_period_for(self, seconds: float) -> None:
        for _ in range(int(seconds / 2)):
            self.clock.advance(2.0)
            self.elector.try_acquire_or_renew()


def guarded(h: Harness) -> Guarded:
    clock = FakeTime()
    elector = LeaderElector(h.rest, LeaseSettings(namespace=NS, name="reclaimer-leader",
                                                  identity="test-replica"),
                            now=clock.wall.now, monotonic=clock.monotonic)
    metrics, stopping = ServiceMetrics(), threading.Event()
    guard = WriteGuard(elector, stopping=stopping, budget=BUDGET, metrics=metrics,
                       monotonic=clock.monotonic)
    h.executor.guard = guard
    assert elector.try_acquire_or_renew()
    return Guarded(elector, guard, metrics, stopping, clock)


def _patches(h: Harness) -> int:
    return int(h.handle.request_log.count(verb="patch", resource="inferenceservices"))


@pytest.mark.parametrize(("failing_for", "kind", "patches", "time_left"), [
    pytest.param(2.0, OutcomeKind.APPLIED, 1, 3.0, id="within-the-margin-acts"),
    pytest.param(6.0, OutcomeKind.SKIPPED, 0, 0.0, id="past-the-margin-writes-nothing"),
])
def test_case_3_a_leader_whose_lease_renewals_fail_stops_writing_past_the_margin(
        make_harness: MakeHarness, failing_for: float, kind: OutcomeKind, patches: int,
        time_left: float) -> None:
    h = make_harness("0.16", isvc_entry())
    g = guarded(h)
    g.guard.begin_tick()
    h.handle.faults.add("update", "leases", status=500, times=1000)
    g.renew_every_retry_period_for(failing_for)
    outcome = h.apply(Action.STOP)
    left = g.metrics.registry.get_sample_value("reclaimer_lease_time_left_seconds")
    assert (g.elector.is_leader(), outcome.kind, _patches(h), left) == (
        True, kind, patches, time_left)


def test_case_3_a_tick_past_its_budget_starts_no_more_chunks(
        make_harness: MakeHarness) -> None:
    """Renewals succeed, but the tick has run longer than its budget."""
    h = make_harness("0.16", isvc_entry("a"), isvc_entry("b"), chunk_size=1)
    g = guarded(h)
    g.guard.begin_tick()
    g.renew_every_retry_period_for(BUDGET + 2)
    outcomes = h.executor.apply_many([h.transition(Action.STOP, n) for n in "ab"], at=T0)
    assert ([o.kind for o in outcomes], _patches(h)) == ([OutcomeKind.SKIPPED] * 2, 0)


def test_case_2_after_sigterm_no_chunk_starts(make_harness: MakeHarness) -> None:
    h = make_harness("0.16", isvc_entry())
    g = guarded(h)
    g.guard.begin_tick()
    g.stopping.set()
    assert (h.apply(Action.STOP).kind, _patches(h)) == (OutcomeKind.SKIPPED, 0)


@pytest.mark.timeout(30)
def test_slow_lease_renewal_counts_its_window_from_when_the_renewal_was_sent(
        make_harness: MakeHarness) -> None:
    """A renewal answered late (a slow API server, not a failing one) was accepted some
    time before its answer came; a standby counts from the record it saw change, so the
    leader's window must start when the PUT was sent, not when its answer arrived."""
    h = make_harness("0.16", isvc_entry())
    settings = LeaseSettings(namespace=NS, name="reclaimer-leader", identity="slow-replica",
                             lease_duration=4.0, renew_deadline=2.0, retry_period=0.5)
    elector = LeaderElector(h.rest, settings, now=ManualClock(T0).now)
    assert elector.try_acquire_or_renew()
    h.handle.faults.add("update", "leases", delay=1.0, times=1)
    assert elector.try_acquire_or_renew()
    margin, delay = 4.0 - 2.0, 1.0
    assert elector.valid_for() <= margin - delay
