"""A tick's blocked entries claim their edges (held, dry run, superseded, the breaker):
the loop writes them only while the executor's guard lets it write (DESIGN §7, review
r-blk20). A leader whose lease lapsed mid-tick, or a process told to stop, claimed the
edge anyway, and its successor was barred from deciding it."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reclaimer.kube.lease import LeaderElector
from reclaimer.ledger import Ledger, RecordState
from reclaimer.model import Action, Reason
from reclaimer.service.metrics import ServiceMetrics
from reclaimer.service.term import TermKeeper, WriteGuard
from tests.fixtures.sandbox import MakeSandbox
from tests.service.loop_world import (
    FRIDAY_STOP,
    OFFICE_HOURS,
    LoopWorld,
    build,
    quiet,
    scenario,
)
from tests.service.test_mid_term_recovery import BEGIN, IN_FLIGHT, LLAMA, Led
from tests.service.test_mid_term_recovery_attacks import LEASE

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


@dataclass
class Fenced:
    led: Led
    elector: LeaderElector
    guard: WriteGuard
    stopping: threading.Event

    def tick(self, at: datetime) -> None:
        assert self.elector.try_acquire_or_renew()
        self.guard.begin_tick()
        self.led.tick(at)

    def held_rows(self) -> list[tuple[Reason, RecordState]]:
        return [(r.transition.reason, r.state) for r in self.led.world.ledger.history()
                if r.transition.action is Action.STOP]


def led_by_elector(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> Fenced:
    """One replica (llama under office hours) led by a real elector on the sandbox
    Lease, its executor asking a real `WriteGuard`; ticked once, at `BEGIN`."""
    world = build(make_sandbox(scenario(("team-a", "llama", {"tier": "dev"}))), tmp_path,
                  policies={"office": OFFICE_HOURS % {"busy": "force"}},
                  scripts={LLAMA: quiet()}, ledger=store)
    found = fence(world)
    found.tick(BEGIN)
    return found


def fence(world: LoopWorld, *, identity: str = LEASE.identity) -> Fenced:
    """``world``'s loop led by a real elector as ``identity``, its executor guarded."""
    elector = LeaderElector(world.rest, replace(LEASE, identity=identity),
                            now=lambda: datetime.now(UTC))
    stopping = threading.Event()
    guard = WriteGuard(elector, stopping=stopping, budget=math.inf, metrics=ServiceMetrics())
    world.reconciler.parts.executor.guard = guard
    return Fenced(Led(world, TermKeeper(world.reconciler, elector, in_flight=IN_FLIGHT)),
                  elector, guard, stopping)


@pytest.fixture
def fenced(make_sandbox: MakeSandbox, tmp_path: Path, store: Ledger) -> Iterator[Fenced]:
    """llama held over the Friday 19:00 stop edge, so that edge's tick writes one
    blocked entry claiming it."""
    found = led_by_elector(make_sandbox, tmp_path, store)
    world = found.led.world
    world.ledger.hold(LLAMA, until=FRIDAY_STOP + timedelta(days=1), reason="demo tonight",
                      who="alice", now=BEGIN)
    yield found
    world.close()


def lease_lapses(fenced: Fenced) -> None:
    """Renewed, then past the margin (writes may start for 1 s after a renewal)."""
    assert fenced.elector.try_acquire_or_renew()
    fenced.guard.begin_tick()
    time.sleep(1.2)


def _sigterm(fenced: Fenced) -> None:
    assert fenced.elector.try_acquire_or_renew()
    fenced.guard.begin_tick()
    fenced.stopping.set()


@pytest.mark.parametrize("fence", [pytest.param(lease_lapses, id="lease-lapsed"),
                                   pytest.param(_sigterm, id="sigterm")])
def test_a_tick_that_may_not_write_claims_no_edge(fenced: Fenced, fence: object) -> None:
    assert callable(fence)
    fence(fenced)
    fenced.led.tick(FRIDAY_STOP)
    assert fenced.held_rows() == []


def test_the_edge_is_recorded_by_the_next_tick_that_may_write(fenced: Fenced) -> None:
    lease_lapses(fenced)
    fenced.led.tick(FRIDAY_STOP)
    fenced.tick(FRIDAY_STOP + timedelta(minutes=1))
    assert fenced.held_rows() == [(Reason.HELD, RecordState.SKIPPED)]
