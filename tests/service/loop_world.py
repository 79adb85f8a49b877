"""A reconcile loop wired to a sandbox, a memory ledger and scripted traffic, for tests.

Instants are literal and lie in 2030 so every sandbox object (created on the real
clock) existed before the edges under test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from reclaimer.executor.executor import Executor
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.events import EventRecorder
from reclaimer.kube.inventory import Inventory
from reclaimer.kube.policies import PolicySource
from reclaimer.kube.rest import POLICY, Rest
from reclaimer.kube.scope import EVERYWHERE, Scope
from reclaimer.ledger.memory import MemoryLedger
from reclaimer.ledger.protocol import Ledger
from reclaimer.model import DecideSettings, ServiceRef
from reclaimer.service.loop import LoopParts, LoopSettings, Reconciler, TickResult
from reclaimer.signals.port import SignalSource
from reclaimer.signals.scripted import Script, ScriptedSignals, Steady
from tests.fixtures.sandbox import SandboxHandle

CRD = Path(__file__).resolve().parents[2] / "helm/reclaimer/crds/reclaimpolicy.yaml"
# Friday 2030-03-29, 19:00 in Berlin (CET, +01:00) is 18:00 UTC; DST starts Sunday 31st.
FRIDAY_STOP = datetime(2030, 3, 29, 18, 0, tzinfo=UTC)
MONDAY_START = datetime(2030, 4, 1, 6, 0, tzinfo=UTC)  # 08:00 CEST
DATA_FROM = datetime(2030, 3, 28, tzinfo=UTC)

OFFICE_HOURS = """\
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: office-hours}
spec:
  namespaceSelector: {matchNames: [team-a]}
  selector: {matchLabels: {tier: dev}}
  timeZone: Europe/Berlin
  schedule: [{start: "0 8 * * mon-fri", stop: "0 19 * * mon-fri"}]
  busyAtStop: %(busy)s
  maxDefer: 1h
"""

IDLE = """\
apiVersion: reclaimer.io/v1alpha1
kind: ReclaimPolicy
metadata: {name: idle-30m}
spec:
  selector: {matchLabels: {reclaim: idle}}
  idle: {after: 30m, minUptime: 15m}
"""


def scenario(*services: tuple[str, str, Mapping[str, str]]) -> dict[str, object]:
    return {"kserve": "0.16", "podTerminationSeconds": 0,
            "namespaces": sorted({ns for ns, _, _ in services}),
            "inferenceServices": [{"namespace": ns, "name": name, "gpus": 1,
                                   "labels": dict(labels), "mode": "Standard"}
                                  for ns, name, labels in services]}


def quiet() -> Script:
    return Script(data_from=DATA_FROM, gpus=1)


def busy_until(end: datetime) -> Script:
    return Script(data_from=DATA_FROM, gpus=1,
                  steady=(Steady(start=DATA_FROM, end=end, every=timedelta(minutes=1)),),
                  gpu_levels=((DATA_FROM, 50.0), (end, 0.0)))


@dataclass
class LoopWorld:
    sandbox: SandboxHandle
    reconciler: Reconciler
    ledger: Ledger
    inventory: Inventory
    signals: ScriptedSignals
    rest: Rest
    source: SignalSource | None = None  # the signals the loop reads, when not `signals`

    def tick(self, now: datetime) -> TickResult:
        self.inventory.resync()
        result = self.reconciler.reconcile_once(now)
        self.sandbox.wait_idle(terminations=True)
        return result

    def close(self) -> None:
        self.reconciler.close()
        self.inventory.stop()
        crs = self.reconciler.parts.cluster_policies
        if isinstance(crs, PolicySource):
            crs.stop()


def with_policy_crd(world_scenario: dict[str, object]) -> dict[str, object]:
    """The scenario plus the ReclaimPolicy CRD, for worlds with `build(crs=...)`."""
    crd = yaml.safe_load(CRD.read_text())
    return {**world_scenario, "objects": [*world_scenario.get("objects", []), crd]}  # type: ignore[misc]


def build(sandbox: SandboxHandle, tmp_path: Path, *, policies: Mapping[str, str],
          scripts: Mapping[ServiceRef, Script],
          outages: tuple[tuple[datetime, datetime], ...] = (),
          decide: DecideSettings | None = None,
          crs: Sequence[Mapping[str, Any]] = (), ledger: Ledger | None = None,
          scope: Scope = EVERYWHERE, source: SignalSource | None = None) -> LoopWorld:
    """``crs``: ReclaimPolicy objects created through the API (the scenario needs the
    CRD, `with_policy_crd`); the loop then reads CRs as the service does. ``source``
    replaces the scripted signals (a `PrometheusSignals` over backfilled data)."""
    for name, text in policies.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    rest = Rest(api_client_for_host(sandbox.url))
    cluster_policies = None
    if crs:
        for cr in crs:
            rest.create(POLICY, cr["metadata"]["namespace"], dict(cr))
        cluster_policies = PolicySource(rest, scope=scope)
        cluster_policies.start()
    inventory = Inventory(rest, scope=scope)
    inventory.start()
    ledger = ledger if ledger is not None else MemoryLedger()
    executor = Executor(KubeCluster(rest, events=EventRecorder(rest), scope=scope), ledger,
                        actor="test",
                        cached=inventory)
    signals = ScriptedSignals(scripts, outages=outages)
    parts = LoopParts(inventory=inventory, signals=source or signals, ledger=ledger,
                      executor=executor,
                      cluster_policies=cluster_policies)
    settings = LoopSettings(policy_paths=(tmp_path,) if policies else (),
                            decide=decide or DecideSettings(),
                            actor="test")
    return LoopWorld(sandbox=sandbox, reconciler=Reconciler(parts, settings=settings),
                     ledger=ledger, inventory=inventory, signals=signals, rest=rest,
                     source=source)
