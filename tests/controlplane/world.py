"""One test's namespace on the real cluster, and reclaimer's own parts wired to it.

`RealWorld` creates InferenceServices the way a user would (the KServe webhook defaults
and validates them, the real controller reconciles them, the scheduler binds their pods
to fake GPU nodes, kwok makes them Ready) and builds reclaimer's executor, inventory and
reconcile loop on an API client loaded from the cluster's kubeconfig, the same entry
points the sandbox tests drive.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes import client

from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import ExecutorOptions, Outcome, OutcomeKind
from reclaimer.executor.strategy import parse_strategy
from reclaimer.kube.client import load_api_client
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.events import EventRecorder
from reclaimer.kube.inventory import Inventory, default_mode
from reclaimer.kube.rest import Rest
from reclaimer.ledger import MemoryLedger
from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger
from tests.controlplane.cluster import ControlPlane
from tests.controlplane.nodes import EXCLUSIVE_TAINT, POOL_LABEL
from tests.e2e.harness import wait_for

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
STOP = "serving.kserve.io/stop"
T0 = datetime(2030, 3, 1, 18, 0, tzinfo=UTC)
WAIT = 90.0
TICKS = 10  # transient retries of one transition, one "tick" (1 s) apart


def isvc_manifest(name: str, *, gpus: int = 1, labels: Mapping[str, str] | None = None,
                  exclusive: bool = False) -> dict[str, Any]:
    """A Raw/Standard sklearn predictor holding ``gpus`` GPUs; ``exclusive`` pins it to
    the one-GPU tainted node."""
    resources = {"cpu": "100m", "memory": "256Mi", "nvidia.com/gpu": str(gpus)}
    predictor: dict[str, Any] = {
        "minReplicas": 1,
        "model": {"modelFormat": {"name": "sklearn"},
                  "storageUri": "gs://kfserving-examples/models/sklearn/1.0/model",
                  "resources": {"requests": resources, "limits": resources}}}
    if exclusive:
        predictor["nodeSelector"] = {POOL_LABEL: "exclusive"}
        predictor["tolerations"] = [{**EXCLUSIVE_TAINT, "operator": "Equal"}]
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "InferenceService",
            "metadata": {"name": name, "labels": dict(labels or {"tier": "dev"})},
            "spec": {"predictor": predictor}}


def condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


@dataclass
class RealWorld:
    plane: ControlPlane
    admin: client.ApiClient
    namespace: str
    _closers: list[Any] = field(default_factory=list)

    @property
    def release(self) -> str:
        return self.plane.kserve

    @property
    def native_release(self) -> bool:
        """Whether this KServe stops Raw/Standard ISVCs itself (0.16 and later)."""
        major, minor = (int(p) for p in self.release.lstrip("v").split(".")[:2])
        return (major, minor) >= (0, 16)

    def ref(self, name: str) -> ServiceRef:
        return ServiceRef(self.namespace, name)

    # --- the cluster, as a user and an observer see it -------------------------------
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.admin)

    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.admin)

    def create_isvc(self, name: str, **kwargs: Any) -> None:
        self.custom().create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, isvc_manifest(name, **kwargs))

    def isvc(self, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self.custom().get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name)
        return obj

    def ready(self, name: str) -> bool:
        cond = condition(self.isvc(name), "Ready")
        return cond is not None and cond.get("status") == "True"

    def live_pods(self, name: str) -> list[Any]:
        pods = self.core().list_namespaced_pod(self.namespace,
                                               label_selector=f"{ISVC_LABEL}={name}").items
        return [p for p in pods if p.metadata.deletion_timestamp is None]

    def running_pods(self, name: str) -> list[Any]:
        return [p for p in self.live_pods(name) if p.status.phase == "Running"]

    def deployments(self, name: str) -> list[Any]:
        return list(client.AppsV1Api(self.admin).list_namespaced_deployment(
            self.namespace, label_selector=f"{ISVC_LABEL}={name}").items)

    def wait_serving(self, name: str, *, timeout: float = WAIT) -> None:
        """Ready=True and at least one Running pod: the model holds its GPUs."""
        wait_for(lambda: self.ready(name) and bool(self.running_pods(name)),
                 timeout=timeout, what=f"{name} Ready with a Running pod")

    def wait_no_pods(self, name: str, *, timeout: float = WAIT) -> None:
        wait_for(lambda: not self.core().list_namespaced_pod(
            self.namespace, label_selector=f"{ISVC_LABEL}={name}").items,
            timeout=timeout, what=f"every pod of {name} gone")

    def serving(self, *names: str, exclusive: bool = False) -> None:
        for name in names:
            self.create_isvc(name, exclusive=exclusive)
        for name in names:
            self.wait_serving(name)

    # --- reclaimer, wired to this cluster -----------------------------------------------
    def rest(self, kubeconfig: Path | None = None) -> Rest:
        api = load_api_client(str(kubeconfig or self.plane.kubeconfig))
        self._closers.append(api.close)
        return Rest(api)

    def executor(self, *, strategy: str = "auto", kubeconfig: Path | None = None) -> Harness:
        """The executor as `reclaimer run` builds it; as the admin unless ``kubeconfig``."""
        rest = self.rest(kubeconfig)
        inventory = Inventory(rest)
        inventory.start()
        self._closers.append(inventory.stop)
        options = ExecutorOptions(strategy=parse_strategy(strategy),
                                  verify_timeout=timedelta(minutes=30),
                                  default_mode=default_mode(rest))
        ledger = MemoryLedger()
        cluster = KubeCluster(rest, events=EventRecorder(rest))
        executor = Executor(cluster, ledger, actor="controlplane-test", options=options,
                            sleep=lambda _: None, cached=inventory)
        return Harness(world=self, executor=executor, ledger=ledger, inventory=inventory,
                       cluster=cluster)

    def close(self) -> None:
        for close in reversed(self._closers):
            close()


@dataclass
class Harness:
    """reclaimer's executor on the real cluster, with a memory ledger and literal times."""

    world: RealWorld
    executor: Executor
    ledger: MemoryLedger
    inventory: Inventory
    cluster: KubeCluster

    def transition(self, action: Action, name: str) -> Transition:
        reason = Reason.SCHEDULE_STOP if action is Action.STOP else Reason.SCHEDULE_START
        uid = self.world.isvc(name)["metadata"]["uid"]
        return Transition(ref=self.world.ref(name), uid=uid, action=action,
                          trigger=Trigger.SCHEDULE, reason=reason,
                          policy=f"{self.world.namespace}/office-hours", at=T0)

    def apply(self, action: Action, name: str, *, at: datetime = T0) -> Outcome:
        """Apply as the loop would: a transient outcome (409 from a copy the real KServe
        has moved on from, ...) is tried again, as the next tick would, reusing its row."""
        wait_for(lambda: self.inventory.isvc(self.world.ref(name)) is not None, timeout=30,
                 what=f"{name} in reclaimer's watch cache")
        transition = self.transition(action, name)
        for _ in range(TICKS):
            outcome = self.executor.apply(transition, at=at)
            if outcome.kind is not OutcomeKind.RETRY:
                return outcome
            time.sleep(1.0)
        return outcome

    def follow_up(self, at: datetime = T0) -> list[Outcome]:
        return self.executor.followup.run(at=at)

    def verified(self, name: str, *, at: datetime = T0, timeout: float = WAIT) -> None:
        """Run the executor's follow-up until the last transition of ``name`` is verified."""
        def done() -> bool:
            self.follow_up(at)
            return self.states(name)[-1:] == ["verified"]
        try:
            wait_for(done, timeout=timeout, what=f"{name}'s transition verified", poll=0.5)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.diagnosis(name)}") from exc

    def diagnosis(self, name: str) -> str:
        """What a failed wait needs to be understood: rows, the ISVC, its children."""
        isvc = self.world.isvc(name)
        rows = [f"  {r.transition.action.value} {r.state.value} {r.strategy} error={r.error}"
                for r in sorted(self.ledger.history(), key=lambda r: r.id)]
        deployments = [(d.metadata.name, d.spec.replicas, d.status.replicas,
                        d.spec.template.metadata.annotations)
                       for d in self.world.deployments(name)]
        pods = [(p.metadata.name, p.status.phase, p.metadata.deletion_timestamp)
                for p in self.world.core().list_namespaced_pod(
                    self.world.namespace, label_selector=f"{ISVC_LABEL}={name}").items]
        return "\n".join(["ledger:", *rows,
                          f"annotations: {isvc['metadata'].get('annotations')}",
                          f"conditions: {(isvc.get('status') or {}).get('conditions')}",
                          f"deployments: {deployments}", f"pods: {pods}"])

    def states(self, name: str) -> list[str]:
        rows = sorted((r for r in self.ledger.history() if r.transition.ref.name == name),
                      key=lambda r: r.id)
        return [r.state.value for r in rows]
