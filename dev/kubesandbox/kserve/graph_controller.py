"""KServe's InferenceGraph reconciler (``kserve_stop.md`` §2.6, §9), reduced to the router.

The router runs as a Knative Service ``<graph>`` (Knative mode) or a Deployment and a
Service ``<graph>`` (Standard), owned by the graph; it holds no GPU. From 0.16 the
graph's own ``serving.kserve.io/stop`` deletes them (no owner check beyond the
controller reference) and the conditions become ``[Stopped=True, Ready=False/Stopped]``
with ``url`` null; a resume brings them back and appends ``Stopped=False``. Stopping a
member ISVC does not stop the graph, nor the other way round. Not simulated: routing
itself, the graph's HPA, node validation.
"""

from __future__ import annotations

from typing import Any

from kubesandbox.kserve import constants as k
from kubesandbox.kserve import status, sync
from kubesandbox.kserve.api import SimApi
from kubesandbox.kserve.settings import SimulatorSettings, parse_mode
from kubesandbox.kserve.workloads import is_available

Obj = dict[str, Any]
ROUTER_IMAGE = "kserve/router:sandbox"
GRAPH_LABEL = "serving.kserve.io/inferencegraph"


class GraphController:
    def __init__(self, api: SimApi, settings: SimulatorSettings) -> None:
        self.api = api
        self.settings = settings

    def reconcile(self, namespace: str, name: str) -> None:
        graph = self.api.find("ig", namespace, name)
        if graph is None or graph["metadata"].get("deletionTimestamp"):
            return
        meta = graph["metadata"]
        annotations = meta.get("annotations") or {}
        mode = parse_mode(annotations.get(k.DEPLOYMENT_MODE_ANNOTATION)) \
            or self.settings.default_mode
        stop = self.settings.full_stop and \
            annotations.get(k.STOP_ANNOTATION, "").lower() == "true"
        kinds = ("ksvc",) if mode == k.KNATIVE else ("deployment", "service")
        if stop:
            for kind in kinds:
                sync.remove(self.api, kind, namespace, name, owner_uid=meta.get("uid", ""))
            self._write(graph, stopped=True, ready=False)
            return
        ready = self._ensure_router(graph, mode)
        self._write(graph, stopped=False, ready=ready)

    def _ensure_router(self, graph: Obj, mode: str) -> bool:
        meta = graph["metadata"]
        labels = {GRAPH_LABEL: meta["name"], "app": meta["name"]}
        owner = {"apiVersion": f"{k.GROUP}/v1alpha1", "kind": "InferenceGraph",
                 "name": meta["name"], "uid": meta.get("uid", ""), "controller": True,
                 "blockOwnerDeletion": True}
        child_meta = {"name": meta["name"], "namespace": meta["namespace"],
                      "labels": labels, "ownerReferences": [owner]}
        template = {"metadata": {"labels": dict(labels)},
                    "spec": {"containers": [{"name": "router", "image": ROUTER_IMAGE}]}}
        if mode == k.KNATIVE:
            ksvc = sync.ensure(self.api, "ksvc", {
                "apiVersion": "serving.knative.dev/v1", "kind": "Service",
                "metadata": child_meta, "spec": {"template": template}})
            return any(c.get("type") == "Ready" and c.get("status") == "True"
                       for c in (ksvc.get("status") or {}).get("conditions") or [])
        dep = sync.ensure(self.api, "deployment", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": child_meta,
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": meta["name"]}},
                     "template": template}}, ignore=("replicas",))
        sync.ensure(self.api, "service", {
            "apiVersion": "v1", "kind": "Service", "metadata": child_meta,
            "spec": {"selector": {"app": meta["name"]},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
        return is_available(dep)

    def _write(self, graph: Obj, *, stopped: bool, ready: bool) -> None:
        old = graph.get("status") or {}
        had_stopped = any(c.get("type") == status.STOPPED for c in old.get("conditions") or [])
        if stopped:
            conds = [status.condition(status.STOPPED, "True"),
                     {"type": "Ready", "status": "False", "reason": status.STOPPED}]
            new: Obj = {"conditions": conds, "url": None}
        else:
            conds = [{"type": "Ready", "status": "True"} if ready else
                     {"type": "Ready", "status": "Unknown", "reason": "RouterNotReady"}]
            if had_stopped:
                conds.append(status.condition(status.STOPPED, "False"))
            meta = graph["metadata"]
            new = {"conditions": conds,
                   "url": f"http://{meta['name']}.{meta['namespace']}.{k.INGRESS_DOMAIN}"
                   if ready else None}
        if status.same_status(new, old):
            return
        new["conditions"] = status.stamp(new["conditions"], old.get("conditions") or [])
        self.api.write_status("ig", graph, new)
