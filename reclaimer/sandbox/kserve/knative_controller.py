"""Knative Serving, reduced to what the reclaimer can observe.

A ksvc's template becomes Revision ``<ksvc>-<generation:05d>`` (a new one per template
change, as Knative's Configuration does); each revision runs as Deployment
``<revision>-deployment`` owned by the ksvc (Knative puts a Revision object in between;
the sandbox does not serve Revisions). The latest revision gets ``min-scale`` replicas
(the KPA's floor; no traffic ever arrives, so it never scales above it), older ones 0.
Pods get ``terminationGracePeriodSeconds`` = the template's ``timeoutSeconds``
(knative/serving ``BuildPodSpec``).
"""

from __future__ import annotations

import copy
from typing import Any

from reclaimer.sandbox.kserve import constants as k
from reclaimer.sandbox.kserve import status, sync
from reclaimer.sandbox.kserve.api import SimApi
from reclaimer.sandbox.kserve.workloads import is_available

Obj = dict[str, Any]


class KnativeController:
    def __init__(self, api: SimApi) -> None:
        self.api = api

    def reconcile(self, namespace: str, name: str) -> None:
        ksvc = self.api.find("ksvc", namespace, name)
        if ksvc is None or ksvc["metadata"].get("deletionTimestamp"):
            return
        generation = int(ksvc["metadata"].get("generation") or 1)
        revision = f"{name}-{generation:05d}"
        dep = sync.ensure(self.api, "deployment", revision_deployment(ksvc, revision))
        ready = is_available(dep)
        if ready:
            self._retire_old(ksvc, generation)
        self._write_status(ksvc, revision, ready=ready)

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
            "spec": {"replicas": int(annotations.get(k.KNATIVE_MIN_SCALE, "1")),
                     "selector": {"matchLabels": {k.KNATIVE_REVISION_LABEL: revision}},
                     "template": template}}
