"""Issue 14 case 7: only the leader counts GPU-hours, from the start of its own term.

Two replicas share a sandbox (KServe 0.16), a ledger and a Lease; one monotonic clock
and one wall clock, both moved by the test, drive their electors, and each ticks only
while it leads. Replica A stops ``llama`` (1 GPU) at Friday 19:00 and leads for an hour;
B leads from then until 21:00; A leads again until 22:00. Each replica's
``reclaimer_gpu_hours_reclaimed_total`` must hold only the time it led (less the lease
handovers, when nobody led): A must not add B's two hours when leadership comes back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from reclaimer.clock import ManualClock
from reclaimer.executor.executor import Executor
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.inventory import Inventory
from reclaimer.kube.lease import LeaderElector, LeaseSettings
from reclaimer.kube.rest import Rest
from reclaimer.ledger.memory import MemoryLedger
from reclaimer.model import ServiceRef
from reclaimer.service.loop import LoopParts, LoopSettings, Reconciler
from reclaimer.service.metrics import ServiceMetrics
from reclaimer.service.term import TermKeeper
from reclaimer.signals.scripted import ScriptedSignals
from tests.fixtures.sandbox import MakeSandbox, SandboxHandle
from tests.service.loop_world import FRIDAY_STOP, OFFICE_HOURS, quiet, scenario

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]
LLAMA = ServiceRef("team-a", "llama")
HANDOVER = timedelta(seconds=16)  # a lease duration (15 s) and one retry


@dataclass
class SharedTime:
    """Wall time jumps from tick to tick; the electors' monotonic clock moves only a
    retry period (2 s) per step, as if the leader renewed all along, or a handover."""

    seconds: float = 0.0
    wall: ManualClock = field(default_factory=lambda: ManualClock(FRIDAY_STOP))

    def monotonic(self) -> float:
        return self.seconds

    def to(self, instant: datetime, *, monotonic: timedelta = timedelta(seconds=2)
           ) -> datetime:
        self.seconds += monotonic.total_seconds()
        self.wall.advance(instant - self.wall.now())
        return instant


@dataclass
class Replica:
    elector: LeaderElector
    reconciler: Reconciler
    terms: TermKeeper
    metrics: ServiceMetrics
    inventory: Inventory
    sandbox: SandboxHandle

    def tick_if_leader(self, now: datetime) -> bool:
        if not self.elector.try_acquire_or_renew():
            return False
        self.inventory.resync()
        self.terms.before_tick(now)
        self.reconciler.reconcile_once(now)
        self.sandbox.wait_idle(terminations=True)
        return True

    def gpu_hours(self) -> float:
        value = self.metrics.registry.get_sample_value("reclaimer_gpu_hours_reclaimed_total")
        return float(value or 0.0)


def replica(sandbox: SandboxHandle, rest: Rest, ledger: MemoryLedger, policies: Path,
            time: SharedTime, *, identity: str) -> Replica:
    inventory = Inventory(rest)
    inventory.resync()
    executor = Executor(KubeCluster(rest), ledger, actor=identity, cached=inventory)
    parts = LoopParts(inventory=inventory, signals=ScriptedSignals({LLAMA: quiet()}),
                      ledger=ledger, executor=executor)
    metrics = ServiceMetrics()
    reconciler = Reconciler(parts, settings=LoopSettings(policy_paths=(policies,),
                                                         actor=identity), metrics=metrics)
    elector = LeaderElector(rest, LeaseSettings(namespace="team-a", name="reclaimer-leader",
                                                identity=identity),
                            now=time.wall.now, monotonic=time.monotonic)
    return Replica(elector, reconciler,
                   TermKeeper(reconciler, elector, in_flight=timedelta(seconds=15)),
                   metrics, inventory, sandbox)


@pytest.fixture
def replicas(make_sandbox: MakeSandbox, tmp_path: Path) -> Iterator[tuple[Replica, Replica,
                                                                          SharedTime]]:
    sandbox = make_sandbox(scenario(("team-a", "llama", {"tier": "dev"})))
    (tmp_path / "office-hours.yaml").write_text(OFFICE_HOURS % {"busy": "force"})
    api = api_client_for_host(sandbox.url)
    rest, ledger, time = Rest(api), MemoryLedger(), SharedTime()
    pair = (replica(sandbox, rest, ledger, tmp_path, time, identity="replica-a"),
            replica(sandbox, rest, ledger, tmp_path, time, identity="replica-b"))
    yield pair[0], pair[1], time
    for one in pair:
        one.reconciler.close()
    api.close()


def _lead(one: Replica, *, start: datetime, hours: int, time: SharedTime,
          monotonic: timedelta = timedelta(seconds=2)) -> None:
    """``one`` ticks every 10 minutes from ``start`` for ``hours``; the first step takes
    ``monotonic`` (a handover: the lease duration after the last renewal it saw)."""
    for step in range(hours * 6 + 1):
        now = start + timedelta(minutes=10 * step)
        assert one.tick_if_leader(time.to(now, monotonic=monotonic if step == 0 else
                                          timedelta(seconds=2)))


def test_case_7_gpu_hours_count_only_the_leaders_own_terms(
        replicas: tuple[Replica, Replica, SharedTime]) -> None:
    a, b, time = replicas
    _lead(a, start=FRIDAY_STOP, hours=1, time=time)
    assert not b.tick_if_leader(time.to(FRIDAY_STOP + timedelta(hours=1)))
    _lead(b, start=FRIDAY_STOP + timedelta(hours=1) + HANDOVER, hours=2, time=time,
          monotonic=HANDOVER)
    assert not a.tick_if_leader(time.to(FRIDAY_STOP + timedelta(hours=3) + HANDOVER))
    _lead(a, start=FRIDAY_STOP + timedelta(hours=3) + 2 * HANDOVER, hours=1, time=time,
          monotonic=HANDOVER)
    assert (a.gpu_hours(), b.gpu_hours()) == pytest.approx((2.0, 2.0), abs=1e-9)
