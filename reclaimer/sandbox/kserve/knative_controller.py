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
        sync.ensure(self.api, "deployment", revision_deployment(ksvc, revision))
        self._retire_old(ksvc, generation)
        self._write_status(ksvc, revision)

    def _retire_old(self, ksvc: Obj, generation: int) -> None:
        """Scale earlier revisions to zero; looked up by name, so cost follows revisions."""
        meta = ksvc["metadata"]
        for older in range(1, generation):
            name = f"{meta['name']}-{older:05d}-deployment"
            dep = self.api.find("deployment", meta["namespace"], name)
            if dep is None or (dep.get("spec") or {}).get("replicas") == 0:
                continue
            if sync.controlled_by(dep, meta.get("uid", "")):
                self.api.replace("deployment", sync.merged(dep, {"spec": {"replicas": 0}}))

    def _write_status(self, ksvc: Obj, revision: str) -> None:
        meta = ksvc["metadata"]
        host = f"{meta['name']}.{meta['namespace']}"
        new = {
            "observedGeneration": meta.get("generation", 1),
            "conditions": [status.condition(t, "True") for t in
                           ("ConfigurationsReady", "Ready", "RoutesReady")],
            "latestCreatedRevisionName": revision, "latestReadyRevisionName": revision,
            "url": f"http://{host}.{k.INGRESS_DOMAIN}",
            "address": {"url": f"http://{host}.svc.cluster.local"},
            "traffic": [{"revisionName": revision, "latestRevision": True, "percent": 100}],
        }
        for cond in new["conditions"]:
            cond.pop("severity", None)
        old = ksvc.get("status") or {}
        if status.same_status(new, old):
            return
        new["conditions"] = status.stamp(new["conditions"], old.get("conditions") or [])
        self.api.write_status("ksvc", ksvc, new)


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
