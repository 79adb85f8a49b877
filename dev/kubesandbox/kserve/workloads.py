"""The kube-controller-manager and kubelet parts the reclaimer observes: Deployments
run pods, an HPA keeps a scaled-up Deployment within its bounds, pods start and stop.

- Pod count follows ``spec.replicas`` whoever set it (KServe, an HPA, ``kubectl
  scale``, the reclaimer). Pods are owned by their Deployment directly (no ReplicaSet
  kind is served), named ``<deployment>-<template hash>-<5 chars>`` and labelled with
  the template's labels plus ``pod-template-hash``. They become Running and Ready after
  the scenario's ``podStartSeconds`` (default 0: at once).
- A template change replaces every pod (new names): new ones are created first and the
  old ones terminate once the new ones are Ready, as a rolling update with surge does;
  so a rollout briefly needs the GPUs of both.
- Deployment status counts ready pods; ``Available`` is True when at least
  ``replicas - floor(replicas / 4)`` are ready (the default maxUnavailable of 25 %).
- An HPA named after its target raises replicas to ``minReplicas`` and caps them at
  ``maxReplicas``, but leaves a Deployment at 0 alone (the HPA controller disables
  scaling for a target at zero).
- A KEDA ScaledObject named after its target (as KServe names it) sets replicas to the
  scenario's ``load`` for that ISVC within [minReplicaCount, maxReplicaCount] (0
  allowed), or to ``autoscaling.keda.sh/paused-replicas`` while that is set.
- Pods are created with the finalizer ``sandbox.reclaimer.io/kubelet``: a delete only
  marks them Terminating (deletionTimestamp), and the finalizer is removed after the
  scenario's ``podTerminationSeconds`` so the pod is then gone, holding its GPU until.
  Any other pod deleted with a grace period is removed after the same time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kubesandbox.kserve import constants as k
from kubesandbox.kserve import pods as p
from kubesandbox.kserve import sync
from kubesandbox.kserve.api import SimApi
from kubesandbox.kserve.gpus import GpuPools
from kubesandbox.kserve.status import now_rfc3339

Obj = dict[str, Any]
KEDA_PAUSED = "autoscaling.keda.sh/paused-replicas"


class WorkloadController:
    def __init__(self, api: SimApi, *, start_seconds: float = 0.0,  # noqa: PLR0913 - times, pools
                 termination_seconds: float | None,
                 keda_load: Mapping[tuple[str, str], int] | None = None,
                 time_scale: float = 1.0,
                 start_by_isvc: Mapping[tuple[str, str], float] | None = None,
                 gpus: GpuPools | None = None) -> None:
        """``termination_seconds`` None: each pod's own grace; every time is scaled."""
        self.api = api
        self.gpus = gpus or GpuPools()
        self.waiting: dict[tuple[str, str], str] = {}
        """Unschedulable pods (namespace, name) -> owner uid, waiting for free GPUs."""
        self.time_scale = time_scale
        self.start_by_isvc = dict(start_by_isvc or {})
        self.keda_load = dict(keda_load or {})
        """Replicas KEDA's triggers call for, by (namespace, ScaledObject name)."""
        self.start_seconds = start_seconds
        self.termination_seconds = termination_seconds
        self.timers = p.PodTimers()
        self.pods: dict[str, dict[str, Obj]] = {}
        """Live pods by owner uid, kept from pod events and our own creates."""

    def observe_pod(self, pod: Obj, *, deleted: bool) -> str | None:
        """Track a pod event; returns its owning Deployment's name, if any.

        Any Terminating pod (ours or not) is given the scenario's grace, then removed,
        as a kubelet confirms a container gone.
        """
        meta = pod["metadata"]
        if not deleted and meta.get("deletionTimestamp"):
            self.timers.schedule(p.FINISH, meta["namespace"], meta["name"], self._grace(pod))
        elif not deleted and p.is_starting(pod):
            self.timers.schedule(p.START, meta["namespace"], meta["name"],
                                 self._start_delay(pod))
        owner = _controller_ref(pod)
        if owner is None:
            return None
        if deleted:
            bucket = self.pods.get(owner["uid"], {})
            bucket.pop(meta["name"], None)
            if not bucket:
                self.pods.pop(owner["uid"], None)
        else:
            self.pods.setdefault(owner["uid"], {})[meta["name"]] = pod
        return str(owner["name"]) if owner.get("kind") == "Deployment" else None

    def _start_delay(self, pod: Obj) -> float:
        """The ISVC's own ``startSeconds``, else the scenario's, times the time scale."""
        meta = pod["metadata"]
        isvc = (meta.get("labels") or {}).get(k.ISVC_LABEL, "")
        seconds = self.start_by_isvc.get((meta["namespace"], isvc), self.start_seconds)
        return seconds * self.time_scale

    def _grace(self, pod: Obj) -> float:
        """How long a deleted pod stays Terminating: the scenario's fixed time, or the
        pod's ``terminationGracePeriodSeconds`` (default 30) times the time scale."""
        if self.termination_seconds is not None:
            return self.termination_seconds
        grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        return float(30 if grace is None else grace) * self.time_scale

    def fire(self, action: str, namespace: str, name: str) -> None:
        if action == p.START:
            self._start(namespace, name)
        else:
            self._finish(namespace, name)

    def _start(self, namespace: str, name: str) -> None:
        pod = self.api.find("pod", namespace, name)
        if pod is not None and p.is_starting(pod):
            self.api.write_status("pod", pod, p.running_status(pod))

    def _finish(self, namespace: str, name: str) -> None:
        """Drop our finalizer; a pod left with none but still Terminating is removed."""
        pod = self.api.find("pod", namespace, name)
        if pod is None or not pod["metadata"].get("deletionTimestamp"):
            return
        finalizers = pod["metadata"].get("finalizers") or []
        if p.KUBELET_FINALIZER in finalizers:
            pod["metadata"]["finalizers"] = [f for f in finalizers if f != p.KUBELET_FINALIZER]
            pod = self.api.replace("pod", pod)
            if self.api.find("pod", namespace, name) is None:
                return
        if not pod["metadata"].get("finalizers"):
            self.api.finalize("pod", namespace, name)

    def reconcile(self, namespace: str, name: str) -> None:
        if self.waiting:
            self._schedule_waiting()  # a pod gone (here or elsewhere) may have freed GPUs
        dep = self.api.find("deployment", namespace, name)
        if dep is None or dep["metadata"].get("deletionTimestamp"):
            return
        dep = self._apply_hpa(self._apply_keda(dep))
        replicas = int((dep.get("spec") or {}).get("replicas", 1))
        want = p.template_hash(dep["spec"].get("template") or {})
        live = [pod for pod in self.pods.get(dep["metadata"]["uid"], {}).values()
                if not pod["metadata"].get("deletionTimestamp")]
        current = [pod for pod in live if pod["metadata"]["labels"].get(p.HASH_LABEL) == want]
        old = [pod for pod in live if pod not in current]
        current += [self._create_pod(dep, want) for _ in range(replicas - len(current))]
        doomed = current[replicas:]
        if sum(p.is_ready(pod) for pod in current[:replicas]) >= replicas:
            doomed += old
        for pod in doomed:
            self.api.delete("pod", namespace, pod["metadata"]["name"])
        kept = [pod for pod in old + current if pod not in doomed]  # each pod once
        self._write_status(dep, kept, updated=len(current[:replicas]))

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

    def _apply_keda(self, dep: Obj) -> Obj:
        """KEDA: a ScaledObject named after its target sets replicas to the scenario's
        load within [minReplicaCount, maxReplicaCount], or to ``paused-replicas``."""
        meta = dep["metadata"]
        so = self.api.find("scaledobject", meta["namespace"], meta["name"])
        spec = (so or {}).get("spec") or {}
        if so is None or (spec.get("scaleTargetRef") or {}).get("name") != meta["name"]:
            return dep
        paused = ((so["metadata"].get("annotations") or {}).get(KEDA_PAUSED) or "").strip()
        if re.fullmatch(r"[+-]?[0-9]+", paused):  # KEDA: strconv.ParseInt(value, 10, 32)
            want = max(int(paused), 0)
        else:
            low = int(spec.get("minReplicaCount", 0))
            high = max(low, int(spec.get("maxReplicaCount", 100)))
            load = self.keda_load.get((meta["namespace"], meta["name"]), low)
            want = min(max(load, low), high)
        if int(dep["spec"].get("replicas", 1)) == want:
            return dep
        return self.api.replace("deployment", sync.merged(dep, {"spec": {"replicas": want}}))

    def _create_pod(self, dep: Obj, want_hash: str) -> Obj:
        created = self.api.create("pod", p.pod_for(dep, want_hash))
        meta = created["metadata"]
        if not self.gpus.fits(created, self._all_pods()):
            created = self.api.write_status(
                "pod", created, p.unschedulable_status(created, self.gpus.pool_of(created)))
            self.waiting[(meta["namespace"], meta["name"])] = dep["metadata"]["uid"]
            self.pods.setdefault(dep["metadata"]["uid"], {})[meta["name"]] = created
            return created
        return self._schedule(dep["metadata"]["uid"], created)

    def _all_pods(self) -> list[Obj]:
        return [pod for bucket in self.pods.values() for pod in bucket.values()]

    def _schedule_waiting(self) -> None:
        """Unschedulable pods whose GPUs are free now get a node, oldest first."""
        for (namespace, name), owner in list(self.waiting.items()):
            pod = self.api.find("pod", namespace, name)
            if pod is None or pod["metadata"].get("deletionTimestamp"):
                self.waiting.pop((namespace, name), None)
            elif self.gpus.fits(pod, self._all_pods()):
                self.waiting.pop((namespace, name), None)
                self._schedule(owner, pod)

    def _schedule(self, owner: str, created: Obj) -> Obj:
        meta = created["metadata"]
        delay = self._start_delay(created)
        if delay > 0:
            created = self.api.write_status("pod", created, p.pending_status(created))
            self.timers.schedule(p.START, meta["namespace"], meta["name"], delay)
        else:
            created = self.api.write_status("pod", created, p.running_status(created))
        self.pods.setdefault(owner, {})[meta["name"]] = created
        return created

    def _write_status(self, dep: Obj, kept: list[Obj], *, updated: int) -> None:
        new = deployment_status(dep, kept, updated=updated)
        old = dep.get("status") or {}
        if {**old, "conditions": _no_times(old)} == {**new, "conditions": _no_times(new)}:
            return
        for cond in new["conditions"]:
            cond["lastUpdateTime"] = cond["lastTransitionTime"] = now_rfc3339()
        self.api.write_status("deployment", dep, new)


def deployment_status(dep: Obj, kept: list[Obj], *, updated: int) -> Obj:
    replicas = int(dep["spec"].get("replicas", 1))
    ready = sum(p.is_ready(pod) for pod in kept)
    available = ready >= replicas - replicas // 4
    out: Obj = {"observedGeneration": dep["metadata"].get("generation", 1),
                "replicas": len(kept), "updatedReplicas": updated, "readyReplicas": ready,
                "availableReplicas": ready, "conditions": [{
                    "type": "Available", "status": "True" if available else "False",
                    "reason": ("MinimumReplicasAvailable" if available
                               else "MinimumReplicasUnavailable"),
                    "message": ("Deployment has minimum availability." if available
                                else "Deployment does not have minimum availability.")}]}
    for key in ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas"):
        if not out[key]:
            out.pop(key)
    return out


def is_available(dep: Obj | None) -> bool:
    conds = ((dep or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Available" and c.get("status") == "True" for c in conds)


def _no_times(status: Obj) -> list[Obj]:
    return [{key: v for key, v in c.items() if not key.endswith("Time")}
            for c in status.get("conditions") or []]


def _controller_ref(obj: Obj) -> Obj | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None
