"""Pods as a kubelet would report them, and the timers of their lives.

A pod is created Pending (ContainerCreating) when the scenario has a start delay,
else Running and Ready at once; a deleted pod stays Terminating until its timer fires.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import secrets
import string
import time
from typing import Any

from kubesandbox.kserve.status import now_rfc3339

Obj = dict[str, Any]
KUBELET_FINALIZER = "sandbox.reclaimer.io/kubelet"
GPU = "nvidia.com/gpu"
HASH_LABEL = "pod-template-hash"
START, FINISH = "start", "finish"
_ALPHABET = string.ascii_lowercase + string.digits


def template_hash(template: Obj) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    return digest[:10]


class PodTimers:
    """Pods waiting to become Ready (START) or to finish terminating (FINISH)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, str, str, str]] = []
        self._queued: set[tuple[str, str, str]] = set()

    def schedule(self, action: str, namespace: str, name: str, delay: float) -> None:
        if (action, namespace, name) not in self._queued:
            self._queued.add((action, namespace, name))
            heapq.heappush(self._heap, (time.monotonic() + delay, action, namespace, name))

    def pop_due(self) -> list[tuple[str, str, str]]:
        due = []
        while self._heap and self._heap[0][0] <= time.monotonic():
            _, action, namespace, name = heapq.heappop(self._heap)
            self._queued.discard((action, namespace, name))
            due.append((action, namespace, name))
        return due

    def seconds_to_next(self) -> float | None:
        return max(0.0, self._heap[0][0] - time.monotonic()) if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)


def pod_for(dep: Obj, want_hash: str) -> Obj:
    """A pod of ``dep``'s template, owned by the Deployment (no ReplicaSet in between)."""
    meta = dep["metadata"]
    template = dep["spec"].get("template") or {}
    tmeta = template.get("metadata") or {}
    suffix = "".join(secrets.choice(_ALPHABET) for _ in range(5))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": f"{meta['name']}-{want_hash}-{suffix}", "namespace": meta["namespace"],
        "labels": {**(tmeta.get("labels") or {}), HASH_LABEL: want_hash},
        "annotations": dict(tmeta.get("annotations") or {}),
        "finalizers": [KUBELET_FINALIZER],
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                             "name": meta["name"], "uid": meta["uid"],
                             "controller": True, "blockOwnerDeletion": True}]},
        "spec": {**(template.get("spec") or {}), "nodeName": "sandbox-node"}}


def is_ready(pod: Obj) -> bool:
    st = pod.get("status") or {}
    return st.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or [])


def is_starting(pod: Obj) -> bool:
    """One of ours, scheduled, Pending and not deleted: its kubelet has to start it."""
    meta = pod["metadata"]
    return (KUBELET_FINALIZER in (meta.get("finalizers") or [])
            and not meta.get("deletionTimestamp")
            and (pod.get("status") or {}).get("phase") == "Pending"
            and not is_unschedulable(pod))


def is_unschedulable(pod: Obj) -> bool:
    return any(c.get("type") == "PodScheduled" and c.get("status") == "False"
               for c in (pod.get("status") or {}).get("conditions") or [])


def gpus_of(pod: Obj) -> int:
    total = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        value = (resources.get("limits") or {}).get(GPU) or (
            resources.get("requests") or {}).get(GPU) or 0
        total += int(value)
    return total


def unschedulable_status(pod: Obj, pool: str) -> Obj:
    """What the scheduler writes when no node of the pool has a free GPU."""
    return {"phase": "Pending", "qosClass": "Burstable", "conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "lastTransitionTime": now_rfc3339(),
        "message": f"0/1 nodes are available: 1 Insufficient {GPU} (node pool {pool})."}]}


def running_status(pod: Obj) -> Obj:
    started = now_rfc3339()
    return {"phase": "Running", "hostIP": "10.0.0.1", "podIP": "10.1.0.1",
            "startTime": (pod.get("status") or {}).get("startTime") or started,
            "qosClass": "Burstable",
            "conditions": [{"type": t, "status": "True", "lastTransitionTime": started}
                           for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
            "containerStatuses": [_container(c, {"running": {"startedAt": started}}, ready=True)
                                  for c in pod["spec"].get("containers") or []]}


def pending_status(pod: Obj) -> Obj:
    now = now_rfc3339()
    conds = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
             {"type": "Initialized", "status": "True", "lastTransitionTime": now}]
    conds += [{"type": t, "status": "False", "reason": "ContainersNotReady",
               "lastTransitionTime": now} for t in ("ContainersReady", "Ready")]
    waiting = {"waiting": {"reason": "ContainerCreating"}}
    return {"phase": "Pending", "hostIP": "10.0.0.1", "startTime": now, "qosClass": "Burstable",
            "conditions": conds,
            "containerStatuses": [_container(c, waiting, ready=False)
                                  for c in pod["spec"].get("containers") or []]}


def _container(container: Obj, state: Obj, *, ready: bool) -> Obj:
    image = container.get("image", "")
    digest = hashlib.sha256(image.encode()).hexdigest()
    out = {"name": container.get("name", "main"), "image": image,
           "imageID": f"{image}@sha256:{digest}" if ready else "",
           "ready": ready, "started": ready, "restartCount": 0, "lastState": {},
           "state": state}
    if ready:
        out["containerID"] = f"containerd://{secrets.token_hex(32)}"
    return out
