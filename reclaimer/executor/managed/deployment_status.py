"""Whether a managed Standard stop or start is done, read from its component Deployments.

`ManagedRaw.waiting_for` asks this, and says why never ``Ready``; `managed.knative`
reads `unavailable` too.
"""

from __future__ import annotations

from collections.abc import Sequence

from reclaimer.executor.base import Workload
from reclaimer.executor.managed.writes import name_of, replicas_of
from reclaimer.kube.ports import Obj


def _not_stopped(workload: Workload) -> str | None:
    left = [f"Deployment {name_of(d)} has {replicas_of(d)} replica(s)"
            for d in workload.deployments if replicas_of(d) > 0]
    if workload.pods:
        left.append(f"{workload.pods} pod(s) still present")
    return "; ".join(left) or None


def _not_started(deployments: Sequence[Obj]) -> str | None:
    """Each component Deployment with replicas has a fresh status (observedGeneration
    caught up with the start's scale) that says Available with a ready replica: what
    KServe's own PredictorReady is made from, but read now, not from KServe's last
    reconcile. A Deployment left at 0 (as saved) needs nothing."""
    if not deployments:
        return "no component Deployment exists"
    waiting = [why for d in deployments if replicas_of(d) > 0 and (why := unavailable(d))]
    return "; ".join(waiting) or None


def unavailable(deployment: Obj) -> str | None:
    status = deployment.get("status") or {}
    generation = int((deployment.get("metadata") or {}).get("generation") or 0)
    if int(status.get("observedGeneration") or 0) < generation:
        return f"Deployment {name_of(deployment)}: generation {generation} not yet observed"
    available = int(status.get("availableReplicas") or 0)
    if available >= 1 and any(c.get("type") == "Available" and c.get("status") == "True"
                              for c in status.get("conditions") or []):
        return None
    return f"Deployment {name_of(deployment)}: {available} of {replicas_of(deployment)} available"
