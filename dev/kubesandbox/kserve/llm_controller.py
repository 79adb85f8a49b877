"""KServe 0.17's LLMInferenceService reconciler, reduced to its workload (§2.6, §9).

The workload runs as Deployment ``<name>-kserve`` (``spec.replicas``, default 1; the
container of ``spec.template``, GPUs as given) with a Service ``<name>-kserve-workload-svc``;
pods carry ``app.kubernetes.io/name=<name>``, ``app.kubernetes.io/part-of=
llminferenceservice`` and ``kserve.io/component=workload``. ``serving.kserve.io/stop:
"true"`` deletes both; ``MainWorkloadReady``, ``WorkloadsReady``, ``RouterReady`` and
``Ready`` go False with reason ``Stopped`` and message "Service is stopped", and
``status.workloads`` is cleared. Not simulated: the router (HTTPRoute, InferencePool,
scheduler), prefill, LeaderWorkerSet, tokenizer, TLS and autoscaling objects.
"""

from __future__ import annotations

import copy
from typing import Any

from kubesandbox.kserve import constants as k
from kubesandbox.kserve import status, sync
from kubesandbox.kserve.api import SimApi
from kubesandbox.kserve.workloads import is_available

Obj = dict[str, Any]
CONDITIONS = ("MainWorkloadReady", "WorkloadsReady", "RouterReady")
STOPPED_MESSAGE = "Service is stopped"


class LlmController:
    def __init__(self, api: SimApi) -> None:
        self.api = api

    def reconcile(self, namespace: str, name: str) -> None:
        llm = self.api.find("llmisvc", namespace, name)
        if llm is None or llm["metadata"].get("deletionTimestamp"):
            return
        annotations = llm["metadata"].get("annotations") or {}
        uid = llm["metadata"].get("uid", "")
        if annotations.get(k.STOP_ANNOTATION, "").lower() == "true":
            for kind, child in (("deployment", f"{name}-kserve"),
                                ("service", f"{name}-kserve-workload-svc")):
                sync.remove(self.api, kind, namespace, child, owner_uid=uid)
            self._write(llm, ready=None)
            return
        dep = sync.ensure(self.api, "deployment", _workload(llm), ignore=("replicas",))
        sync.ensure(self.api, "service", _service(llm))
        self._write(llm, ready=is_available(dep))

    def _write(self, llm: Obj, *, ready: bool | None) -> None:
        """``ready`` None: stopped."""
        old = llm.get("status") or {}
        if ready is None:
            conds = [{"type": t, "status": "False", "reason": status.STOPPED,
                      "message": STOPPED_MESSAGE} for t in (*CONDITIONS, "Ready")]
            new: Obj = {"conditions": conds}
        else:
            state = "True" if ready else "Unknown"
            conds = [{"type": t, "status": state} for t in (*CONDITIONS, "Ready")]
            meta = llm["metadata"]
            new = {"conditions": conds,
                   "workloads": {"main": {"name": f"{meta['name']}-kserve"}}}
            if ready:
                new["url"] = f"http://{meta['name']}.{meta['namespace']}.{k.INGRESS_DOMAIN}"
        if status.same_status(new, old):
            return
        new["conditions"] = status.stamp(new["conditions"], old.get("conditions") or [])
        self.api.write_status("llmisvc", llm, new)


def _meta(llm: Obj, name: str) -> Obj:
    meta = llm["metadata"]
    return {"name": name, "namespace": meta["namespace"], "labels": _labels(llm),
            "ownerReferences": [{"apiVersion": f"{k.GROUP}/v1alpha1",
                                 "kind": "LLMInferenceService", "name": meta["name"],
                                 "uid": meta.get("uid", ""), "controller": True,
                                 "blockOwnerDeletion": True}]}


def _labels(llm: Obj) -> dict[str, str]:
    return {"app.kubernetes.io/name": llm["metadata"]["name"],
            "app.kubernetes.io/part-of": "llminferenceservice",
            "kserve.io/component": "workload"}


def _workload(llm: Obj) -> Obj:
    spec = llm.get("spec") or {}
    template = copy.deepcopy(spec.get("template") or {})
    containers = template.get("containers") or [{"name": "main", "image": "vllm/vllm:sandbox"}]
    name = f"{llm['metadata']['name']}-kserve"
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(llm, name),
            "spec": {"replicas": int(spec.get("replicas", 1)),
                     "selector": {"matchLabels": _labels(llm)},
                     "template": {"metadata": {"labels": _labels(llm)},
                                  "spec": {"containers": containers,
                                           "terminationGracePeriodSeconds": 30}}}}


def _service(llm: Obj) -> Obj:
    name = f"{llm['metadata']['name']}-kserve-workload-svc"
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(llm, name),
            "spec": {"selector": _labels(llm),
                     "ports": [{"name": "https", "port": 8000, "targetPort": 8000}]}}
