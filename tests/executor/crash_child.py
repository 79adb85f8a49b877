"""Child process for test_recover: runs the real executor and dies by SIGKILL mid-way.

``--die after-api``: SIGKILL inside ``mark_applied_many`` (the stop annotation is written,
the row is still planned). ``--die before-api``: SIGKILL inside the ISVC patch, before
the request is sent (the row is planned, the cluster untouched). ``--die mid-stop``:
SIGKILL at a managed Standard stop's first Deployment scale, after its class change.
``--die mid-rollback``: SIGKILL when a managed Standard stop that failed for good puts its
class back, after its Deployments were put back. ``--die after-class-back``: SIGKILL
right after that class is back, before the restore information says it was put back.
``--die after-runtime``: SIGKILL at a ModelMesh stop's condition write, after its
runtime went to 0; ``--die before-runtime``: SIGKILL at its runtime's scale-down.
``--names a,b,c`` stops several ISVCs as one chunk on a pool, as a tick does;
``--idle`` makes them idle stops (no edge).
"""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from reclaimer.executor.executor import Executor
from reclaimer.kube.client import api_client_for_host
from reclaimer.kube.cluster import KubeCluster
from reclaimer.kube.rest import Rest
from reclaimer.ledger import SqlLedger, open_ledger
from reclaimer.model import Action, Reason, ServiceRef, Transition, Trigger


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class DieBeforePatch(KubeCluster):
    def patch_isvc(self, ref: ServiceRef, body: dict[str, Any]) -> dict[str, Any]:
        _die()
        raise AssertionError("unreachable")


class DieOnScale(KubeCluster):
    def scale_deployment(self, namespace: str, name: str, replicas: int, *,
                         resource_version: str | None = None) -> None:
        _die()


class DieOnClassBack(KubeCluster):
    def patch_isvc(self, ref: ServiceRef, body: dict[str, Any]) -> dict[str, Any]:
        if body["metadata"]["annotations"].get("serving.kserve.io/autoscalerClass") != "external":
            _die()
        return super().patch_isvc(ref, body)


class DieAfterClassBack(KubeCluster):
    def patch_isvc(self, ref: ServiceRef, body: dict[str, Any]) -> dict[str, Any]:
        done = super().patch_isvc(ref, body)
        if body["metadata"]["annotations"].get("serving.kserve.io/autoscalerClass") != "external":
            _die()
        return done


class DieOnStatus(KubeCluster):
    def patch_isvc_status(self, ref: ServiceRef, body: dict[str, Any]) -> dict[str, Any]:
        _die()
        raise AssertionError("unreachable")


class DieOnRuntime(KubeCluster):
    def patch_serving_runtime(self, namespace: str, name: str,
                              body: dict[str, Any]) -> dict[str, Any]:
        _die()
        raise AssertionError("unreachable")


class DieOnApplied(SqlLedger):
    def mark_applied(self, record_id: int, *, at: datetime) -> None:
        _die()

    def mark_applied_many(self, record_ids: Sequence[int], *, at: datetime) -> None:
        _die()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url")
    parser.add_argument("--db")
    parser.add_argument("--die", choices=["after-api", "before-api", "mid-stop",
                                              "mid-rollback", "after-class-back",
                                              "after-runtime", "before-runtime"])
    parser.add_argument("--idle", action="store_true")
    parser.add_argument("--at")
    parser.add_argument("--names", default="llama")
    args = parser.parse_args()
    rest = Rest(api_client_for_host(args.url))
    after = args.die == "after-api"
    ledger = DieOnApplied.open(args.db) if after else open_ledger(args.db)
    cluster = {"after-api": KubeCluster, "before-api": DieBeforePatch,
               "mid-stop": DieOnScale, "mid-rollback": DieOnClassBack,
               "after-class-back": DieAfterClassBack, "after-runtime": DieOnStatus,
               "before-runtime": DieOnRuntime}[args.die](rest)
    at = datetime.fromisoformat(args.at)
    transitions = [_stop(cluster, ServiceRef("team-a", name), at, idle=args.idle)
                   for name in args.names.split(",")]
    with ThreadPoolExecutor(max_workers=4) as pool:
        Executor(cluster, ledger, actor="child").apply_many(transitions, at=at, pool=pool)


def _stop(cluster: KubeCluster, ref: ServiceRef, at: datetime, *, idle: bool) -> Transition:
    uid = cluster.get_isvc(ref)["metadata"]["uid"]
    if idle:
        return Transition(ref=ref, uid=uid, action=Action.STOP, trigger=Trigger.IDLE,
                          reason=Reason.IDLE_TIMEOUT, policy="team-a/idle", at=at)
    return Transition(ref=ref, uid=uid, action=Action.STOP, trigger=Trigger.SCHEDULE,
                      reason=Reason.SCHEDULE_STOP, policy="team-a/office-hours", at=at,
                      edge_key=f"team-a/office-hours|{uid}|{at.isoformat()}|stop")


if __name__ == "__main__":
    main()
