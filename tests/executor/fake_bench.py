"""An executor on the in-memory cluster fake and the in-memory ledger: no server, no
thread, no sleep, so a test of the executor's own logic takes milliseconds.

The fake passes the port's contract suite with the real adapter
(tests/kube/test_cluster_contract.py); it does not play KServe, so a test says what
KServe did (`kserve_stopped`, `kserve_started`) where the sandbox would simulate it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import ExecutorOptions, Outcome
from reclaimer.executor.strategy import Strategy
from reclaimer.kube.kserve_version import KServeVersion
from reclaimer.ledger import MemoryLedger
from reclaimer.model import Action, DeploymentMode, Reason, ServiceRef, Transition, Trigger
from tests.fixtures.memory_cluster import MemoryCluster, isvc_object, owned_by

T0 = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
NS = "team-a"
REF = ServiceRef(NS, "llama")
UID = "uid-llama"
EDGE = "team-a/office-hours@2026-03-02T19:00:00+00:00#stop"
VERSIONS = {"0.14": KServeVersion(0, 14, 0), "0.16": KServeVersion(0, 16, 0)}


@dataclass
class Bench:
    cluster: MemoryCluster
    ledger: MemoryLedger
    executor: Executor
    sleeps: list[float] = field(default_factory=list)

    def transition(self, action: Action, *, at: datetime = T0, edge: bool = True,
                   uid: str = UID) -> Transition:
        """A schedule edge's transition, or (``edge=False``) an idle stop's."""
        if not edge:
            return Transition(ref=REF, uid=uid, action=action, trigger=Trigger.IDLE,
                              reason=Reason.IDLE_TIMEOUT, policy="team-a/idle", at=at)
        reason = Reason.SCHEDULE_STOP if action is Action.STOP else Reason.SCHEDULE_START
        return Transition(ref=REF, uid=uid, action=action, trigger=Trigger.SCHEDULE,
                          reason=reason, policy="team-a/office-hours", at=at,
                          edge_key=EDGE.replace("#stop", f"#{action.value}"))

    def apply(self, action: Action, *, at: datetime = T0, edge: bool = True) -> Outcome:
        return self.executor.apply(self.transition(action, at=at, edge=edge), at=at)

    def isvc(self) -> dict[str, Any]:
        return self.cluster.stored(REF)

    def annotations(self) -> dict[str, str]:
        return dict(self.isvc()["metadata"].get("annotations") or {})

    def stopped_reason(self) -> str | None:
        found = [c for c in self.isvc()["status"].get("conditions") or []
                 if c.get("type") == "Stopped" and c.get("status") == "True"]
        return found[0].get("reason") if found else None

    def states(self) -> list[str]:
        return [r.state.value for r in sorted(self.ledger.history(), key=lambda r: r.id)]

    def events(self) -> list[tuple[str, int]]:
        return [(e["reason"], e["count"]) for e in self.cluster.events]

    def replicas(self) -> int:
        return int(self.cluster.deployment(NS, "llama-predictor")["spec"]["replicas"])

    def kserve_stopped(self) -> None:
        """What KServe ≥ 0.16 does with the stop annotation: pods gone, Stopped True."""
        self.cluster.set_pods(REF, 0)
        self.cluster.set_condition(REF, "Stopped", "True")

    def kserve_started(self) -> None:
        self.cluster.set_pods(REF, 1)
        self.cluster.set_condition(REF, "Ready", "True")


def bench(kserve: str = "0.16", *, mode: str = "Standard",
          annotations: dict[str, str] | None = None,
          components: dict[str, dict[str, Any]] | None = None,
          verify_timeout: timedelta = timedelta(minutes=5)) -> Bench:
    """``llama`` running in ``team-a``: one pod, and in Standard mode its predictor
    Deployment at one replica."""
    cluster = MemoryCluster()
    obj = isvc_object(NS, "llama", uid=UID, mode=mode, annotations=annotations,
                      components=components,
                      conditions=[{"type": "Ready", "status": "True"}])
    cluster.put_isvc(obj, pods=1)
    if mode == "Standard":
        cluster.put_deployment(owned_by(obj, "Deployment", "llama-predictor",
                                        spec={"replicas": 1}))
    ledger = MemoryLedger()
    sleeps: list[float] = []
    options = ExecutorOptions(strategy=Strategy.AUTO, verify_timeout=verify_timeout,
                              default_mode=DeploymentMode.KNATIVE,
                              kserve_version=VERSIONS[kserve])
    executor = Executor(cluster, ledger, actor="test-replica", options=options,
                        sleep=sleeps.append)
    return Bench(cluster, ledger, executor, sleeps)
