"""The kube-controller-manager and kubelet parts the reclaimer observes: Deployments
run pods, an HPA keeps a scaled-up Deployment within its bounds, pods terminate.

- Pod count follows ``spec.replicas`` whoever set it (KServe, an HPA, ``kubectl
  scale``, the reclaimer). Pods are owned by their Deployment directly (no ReplicaSet
  kind is served), named ``<deployment>-<template hash>-<5 chars>`` and labelled with
  the template's labels plus ``pod-template-hash``; they are Running and Ready at once.
- A template change replaces every pod (new names): new ones are created, then the
  old ones terminate, as a rolling update with surge ends up.
- An HPA named after its target raises replicas to ``minReplicas`` and caps them at
  ``maxReplicas``, but leaves a Deployment at 0 alone (the HPA controller disables
  scaling for a target at zero).
- Pods are created with the finalizer ``sandbox.reclaimer.io/kubelet``: a delete only
  marks them Terminating (deletionTimestamp), and the finalizer is removed after the
  scenario's ``podTerminationSeconds`` so the pod is then gone, holding its GPU until.
  Any other pod deleted with a grace period is removed after the same time.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import secrets
import string
import time
from typing import Any

from reclaimer.sandbox.kserve import sync
from reclaimer.sandbox.kserve.api import SimApi
from reclaimer.sandbox.kserve.status import now_rfc3339

Obj = dict[str, Any]
KUBELET_FINALIZER = "sandbox.reclaimer.io/kubelet"
HASH_LABEL = "pod-template-hash"
_ALPHABET = string.ascii_lowercase + string.digits


def template_hash(template: Obj) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    return digest[:10]


class Terminations:
    """Pods waiting out their grace period, due on the monotonic clock."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, str, str]] = []
        self._queued: set[tuple[str, str]] = set()

    def schedule(self, namespace: str, name: str, delay: float) -> None:
        if (namespace, name) not in self._queued:
            self._queued.add((namespace, name))
            heapq.heappush(self._heap, (time.monotonic() + delay, namespace, name))

    def pop_due(self) -> list[tuple[str, str]]:
        due = []
        while self._heap and self._heap[0][0] <= time.monotonic():
            _, namespace, name = heapq.heappop(self._heap)
            self._queued.discard((namespace, name))
            due.append((namespace, name))
        return due

    def seconds_to_next(self) -> float | None:
        return max(0.0, self._heap[0][0] - time.monotonic()) if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)


class WorkloadController:
    def __init__(self, api: SimApi, *, termination_seconds: float) -> None:
        self.api = api
        self.termination_seconds = termination_seconds
        self.terminations = Terminations()
        self.pods: dict[str, dict[str, Obj]] = {}
        """Live pods by owner uid, kept from pod events and our own creates."""

    def observe_pod(self, pod: Obj, *, deleted: bool) -> str | None:
        """Track a pod event; returns its owning Deployment's name, if any.

        Any Terminating pod (ours or not) is given the scenario's grace, then removed,
        as a kubelet confirms a container gone.
        """
        meta = pod["metadata"]
        if not deleted and meta.get("deletionTimestamp"):
            self.terminations.schedule(meta["namespace"], meta["name"],
                                       self.termination_seconds)
        owner = _controller_ref(pod)
        if owner is None:
            return None
        bucket = self.pods.setdefault(owner["uid"], {})
        if deleted:
            bucket.pop(meta["name"], None)
        else:
            bucket[meta["name"]] = pod
        return str(owner["name"]) if owner.get("kind") == "Deployment" else None

    def finish_termination(self, namespace: str, name: str) -> None:
        """Drop our finalizer; a pod left with none but still Terminating is removed."""
        pod = self.api.find("pod", namespace, name)
        if pod is None or not pod["metadata"].get("deletionTimestamp"):
            return
        finalizers = pod["metadata"].get("finalizers") or []
        if KUBELET_FINALIZER in finalizers:
            pod["metadata"]["finalizers"] = [f for f in finalizers if f != KUBELET_FINALIZER]
            pod = self.api.replace("pod", pod)
            if self.api.find("pod", namespace, name) is None:
                return
        if not pod["metadata"].get("finalizers"):
            self.api.finalize("pod", namespace, name)

    def reconcile(self, namespace: str, name: str) -> None:
        dep = self.api.find("deployment", namespace, name)
        if dep is None or dep["metadata"].get("deletionTimestamp"):
            return
        dep = self._apply_hpa(dep)
        replicas = int((dep.get("spec") or {}).get("replicas", 1))
        want_hash = template_hash(dep["spec"].get("template") or {})
        live = [p for p in self.pods.get(dep["metadata"]["uid"], {}).values()
                if not p["metadata"].get("deletionTimestamp")]
        current = [p for p in live if p["metadata"].get("labels", {}).get(HASH_LABEL) == want_hash]
        old = [p for p in live if p not in current]
        for _ in range(replicas - len(current)):
            current.append(self._create_pod(dep, want_hash))
        for pod in old + current[replicas:]:
            self.api.delete("pod", namespace, pod["metadata"]["name"])
        self._write_status(dep, min(replicas, len(current)))

    def _apply_hpa(self, dep: Obj) -> Obj:
        meta = dep["metadata"]
        hpa = self.api.find("hpa", meta["namespace"], meta["name"])
        target = ((hpa or {}).get("spec") or {}).get("scaleTargetRef") or {}
        if hpa is None or target.get("name") != meta["name"]:
            return dep
        replicas = int(dep["spec"].get("replicas", 1))
        low = int(hpa["spec"].get("minReplicas", 1))
        high = max(low, int(hpa["spec"].get("maxReplicas", low)))
        bounded = min(max(replicas, low), high)
        if replicas in (0, bounded):
            return dep
        return self.api.replace("deployment", sync.merged(dep, {"spec": {"replicas": bounded}}))

    def _create_pod(self, dep: Obj, want_hash: str) -> Obj:
        meta = dep["metadata"]
        template = dep["spec"].get("template") or {}
        tmeta = template.get("metadata") or {}
        suffix = "".join(secrets.choice(_ALPHABET) for _ in range(5))
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": f"{meta['name']}-{want_hash}-{suffix}", "namespace": meta["namespace"],
            "labels": {**(tmeta.get("labels") or {}), HASH_LABEL: want_hash},
            "annotations": dict(tmeta.get("annotations") or {}),
            "finalizers": [KUBELET_FINALIZER],
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                 "name": meta["name"], "uid": meta["uid"],
                                 "controller": True, "blockOwnerDeletion": True}]},
            "spec": {**(template.get("spec") or {}), "nodeName": "sandbox-node"}}
        created = self.api.create("pod", pod)
        created = self.api.write_status("pod", created, _pod_status(created))
        self.pods.setdefault(meta["uid"], {})[created["metadata"]["name"]] = created
        return created

    def _write_status(self, dep: Obj, ready: int) -> None:
        spec_replicas = int(dep["spec"].get("replicas", 1))
        new = {"observedGeneration": dep["metadata"].get("generation", 1),
               "replicas": ready, "updatedReplicas": ready, "readyReplicas": ready,
               "availableReplicas": ready,
               "conditions": [{"type": "Available", "status": "True",
                               "reason": "MinimumReplicasAvailable",
                               "message": "Deployment has minimum availability."}]}
        if spec_replicas == 0:
            for key in ("readyReplicas", "availableReplicas", "updatedReplicas"):
                new.pop(key)
        old = dep.get("status") or {}
        if {**old, "conditions": _no_times(old)} == {**new, "conditions": _no_times(new)}:
            return
        for cond in new["conditions"]:
            cond["lastUpdateTime"] = cond["lastTransitionTime"] = now_rfc3339()
        self.api.write_status("deployment", dep, new)


def _no_times(status: Obj) -> list[Obj]:
    return [{key: v for key, v in c.items() if not key.endswith("Time")}
            for c in status.get("conditions") or []]


def _controller_ref(obj: Obj) -> Obj | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def _pod_status(pod: Obj) -> Obj:
    started = now_rfc3339()
    containers = pod["spec"].get("containers") or []
    return {"phase": "Running", "hostIP": "10.0.0.1", "podIP": "10.1.0.1",
            "startTime": started, "qosClass": "Burstable",
            "conditions": [{"type": t, "status": "True", "lastTransitionTime": started}
                           for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
            "containerStatuses": [_container_status(c, started) for c in containers]}


def _container_status(container: Obj, started: str) -> Obj:
    image = container.get("image", "")
    digest = hashlib.sha256(image.encode()).hexdigest()
    return {"name": container.get("name", "main"), "image": image,
            "imageID": f"{image}@sha256:{digest}",
            "containerID": f"containerd://{secrets.token_hex(32)}",
            "ready": True, "started": True, "restartCount": 0,
            "lastState": {}, "state": {"running": {"startedAt": started}}}
