"""Knative Serving, reduced to what the reclaimer can observe.

A ksvc's template becomes Revision ``<ksvc>-<generation:05d>`` (a new one per template
change, as Knative's Configuration does); each revision runs as Deployment
``<revision>-deployment`` owned by the ksvc (Knative puts a Revision object in between;
the sandbox does not serve Revisions). As Knative does it (``kserve_stop.md`` §9): a new
revision starts at ``initial-scale`` 1 (KServe leaves ``allow-zero-initial-scale``
false), or ``min-scale`` if higher; the previous revisions keep serving until it is
Ready, then go to 0; with ``min-scale: "0"`` and no traffic (none ever arrives) the KPA
scales the Ready revision to 0 after the stable window (60 s) and the scale-to-zero
grace period (30 s), times the scenario's ``timeScale`` (0 without one). Pods get
``terminationGracePeriodSeconds`` = the template's ``timeoutSeconds`` (knative/serving
``BuildPodSpec``). A pod that finds no free GPU stays Pending, so its revision is never
Ready and the old one keeps its GPUs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from kubesandbox.kserve import constants as k
from kubesandbox.kserve import status, sync
from kubesandbox.kserve.api import SimApi
from kubesandbox.kserve.workloads import is_available

Obj = dict[str, Any]
INITIAL_SCALE = 1


STABLE_WINDOW = 60
SCALE_TO_ZERO_GRACE = 30


class KnativeController:
    def __init__(self, api: SimApi, *, idle: Callable[[str, str, float], None] | None = None,
                 idle_seconds: float = 0.0) -> None:
        """``idle(namespace, deployment, delay)`` schedules the KPA's scale to zero."""
        self.api = api
        self.idle = idle
        self.idle_seconds = idle_seconds

    def reconcile(self, namespace: str, name: str) -> None:
        ksvc = self.api.find("ksvc", namespace, name)
        if ksvc is None or ksvc["metadata"].get("deletionTimestamp"):
            return
        generation = int(ksvc["metadata"].get("generation") or 1)
        revision = f"{name}-{generation:05d}"
        dep = sync.ensure(self.api, "deployment", revision_deployment(ksvc, revision),
                          ignore=("replicas",))
        ready = is_available(dep) and int(dep["spec"].get("replicas", 1)) > 0
        if ready:
            self._retire_old(ksvc, generation)
            if _min_scale(dep) == 0 and self.idle is not None:
                self.idle(namespace, dep["metadata"]["name"], self.idle_seconds)
        was_ready = (ksvc.get("status") or {}).get("latestReadyRevisionName") == revision
        served = ready or (was_ready and _scaled_to_zero(dep))
        self._write_status(ksvc, revision, ready=served)

    def scale_to_zero(self, namespace: str, deployment: str) -> None:
        """The KPA saw no traffic for the stable window and the grace period."""
        dep = self.api.find("deployment", namespace, deployment)
        if dep is None or dep["metadata"].get("deletionTimestamp") or _min_scale(dep) != 0:
            return
        if int(dep["spec"].get("replicas", 1)) != 0:
            self.api.replace("deployment", sync.merged(dep, {"spec": {"replicas": 0}}))

    def _retire_old(self, ksvc: Obj, generation: int) -> None:
        """Scale earlier revisions to zero once the latest is ready (traffic moved);
        looked up by name, so the cost follows the number of revisions."""
        meta = ksvc["metadata"]
        for older in range(1, generation):
            name = f"{meta['name']}-{older:05d}-deployment"
            dep = self.api.find("deployment", meta["namespace"], name)
            if dep is None or (dep.get("spec") or {}).get("replicas") == 0:
                continue
            if sync.controlled_by(dep, meta.get("uid", "")):
                self.api.replace("deployment", sync.merged(dep, {"spec": {"replicas": 0}}))

    def _write_status(self, ksvc: Obj, revision: str, *, ready: bool) -> None:
        meta = ksvc["metadata"]
        old = ksvc.get("status") or {}
        serving = revision if ready else old.get("latestReadyRevisionName")
        new = {"observedGeneration": meta.get("generation", 1),
               "conditions": _conditions(ready=ready, serving=serving is not None),
               "latestCreatedRevisionName": revision}
        if serving is not None:
            host = f"{meta['name']}.{meta['namespace']}"
            new.update({
                "latestReadyRevisionName": serving,
                "url": f"http://{host}.{k.INGRESS_DOMAIN}",
                "address": {"url": f"http://{host}.svc.cluster.local"},
                "traffic": [{"revisionName": serving, "latestRevision": ready,
                             "percent": 100}]})
        if status.same_status(new, old):
            return
        new["conditions"] = status.stamp(new["conditions"], old.get("conditions") or [])
        self.api.write_status("ksvc", ksvc, new)


def _min_scale(dep: Obj) -> int:
    tmeta = (dep["spec"].get("template") or {}).get("metadata") or {}
    return int((tmeta.get("annotations") or {}).get(k.KNATIVE_MIN_SCALE, "1"))


def _scaled_to_zero(dep: Obj) -> bool:
    """A Ready revision the KPA scaled to 0 is still Ready: the activator serves it."""
    return _min_scale(dep) == 0 and int(dep["spec"].get("replicas", 1)) == 0


def _conditions(*, ready: bool, serving: bool) -> list[Obj]:
    """Knative's Service conditions: Unknown/RevisionMissing while the latest deploys."""
    def cond(ctype: str, ok: bool) -> Obj:
        if ok:
            return {"type": ctype, "status": "True"}
        return {"type": ctype, "status": "Unknown", "reason": "RevisionMissing",
                "message": "Configuration is waiting for a Revision to become ready."}
    return [cond("ConfigurationsReady", ready), cond("Ready", ready),
            cond("RoutesReady", serving)]


def revision_deployment(ksvc: Obj, revision: str) -> Obj:
    meta = ksvc["metadata"]
    template = copy.deepcopy(ksvc["spec"]["template"])
    tmeta = template.setdefault("metadata", {})
    labels = {**(tmeta.get("labels") or {}), k.KNATIVE_SERVICE_LABEL: meta["name"],
              k.KNATIVE_CONFIGURATION_LABEL: meta["name"], k.KNATIVE_REVISION_LABEL: revision,
              "app": revision}
    tmeta["labels"] = labels
    annotations = tmeta.get("annotations") or {}
    spec = template.setdefault("spec", {})
    spec["terminationGracePeriodSeconds"] = spec.pop("timeoutSeconds",
                                                     k.KNATIVE_DEFAULT_TIMEOUT)
    spec.pop("containerConcurrency", None)
    owner = {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": meta["name"],
             "uid": meta.get("uid", ""), "controller": True, "blockOwnerDeletion": True}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": f"{revision}-deployment", "namespace": meta["namespace"],
                         "labels": labels, "annotations": {},
                         "ownerReferences": [owner]},
            "spec": {"replicas": max(INITIAL_SCALE,
                                     int(annotations.get(k.KNATIVE_MIN_SCALE, "1"))),
                     "selector": {"matchLabels": {k.KNATIVE_REVISION_LABEL: revision}},
                     "template": template}}
