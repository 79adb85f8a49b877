"""modelmesh-serving's ServingRuntime reconciler, reduced to the runtime Deployment.

Each namespaced ServingRuntime gets one Deployment, ``modelmesh-serving-<runtime>``,
owned by the runtime (modelmesh-serving ``controllers/servingruntime_controller.go`` and
``controllers/modelmesh/modelmesh.go`` at 9c7a2b7). Its replicas are written on every
reconcile: ``spec.replicas`` when set (0 included), else ``podsPerRuntime`` (2), and 0
when no ModelMesh InferenceService names the runtime (``scaleToZero``; the 60 s grace
period is not simulated). Because the Deployment is owned, a change to it (``kubectl
scale``) brings a reconcile that writes the replicas back, as the real controller does.
The pods run the runtime's own containers (with their GPU requests). Not simulated:
ClusterServingRuntimes, runtime selection by model format (an ISVC must name its
runtime in ``spec.predictor.model.runtime`` to use one), the HPA autoscaler class,
the model-mesh, puller and REST proxy containers.
"""

from __future__ import annotations

from typing import Any

from kubesandbox.kserve import constants as k
from kubesandbox.kserve import sync
from kubesandbox.kserve.api import SimApi
from kubesandbox.kserve.isvc import resolve_mode
from kubesandbox.kserve.settings import SimulatorSettings

Obj = dict[str, Any]
SERVICE_NAME = "modelmesh-serving"
PODS_PER_RUNTIME = 2


def deployment_name(runtime: str) -> str:
    return f"{SERVICE_NAME}-{runtime}"


def named_runtime(isvc: Obj) -> str | None:
    model = ((isvc.get("spec") or {}).get("predictor") or {}).get("model") or {}
    runtime = model.get("runtime")
    return runtime if isinstance(runtime, str) and runtime else None


class RuntimeController:
    def __init__(self, api: SimApi, settings: SimulatorSettings) -> None:
        self.api = api
        self.settings = settings

    def reconcile(self, namespace: str, name: str) -> None:
        runtime = self.api.find("servingruntime", namespace, name)
        if runtime is None or runtime["metadata"].get("deletionTimestamp"):
            return
        sync.ensure(self.api, "deployment", self._desired(runtime))

    def for_isvc(self, namespace: str, name: str) -> None:
        """An ISVC changed: the runtime it names may go from or to zero users."""
        isvc = self.api.find("isvc", namespace, name)
        runtime = None if isvc is None else named_runtime(isvc)
        if runtime is not None:
            self.reconcile(namespace, runtime)

    def _users(self, namespace: str, runtime: str) -> int:
        return sum(1 for isvc in self.api.list("isvc", namespace)
                   if resolve_mode(isvc, self.settings) == k.MODELMESH
                   and named_runtime(isvc) == runtime)

    def _desired(self, runtime: Obj) -> Obj:
        meta, spec = runtime["metadata"], runtime.get("spec") or {}
        name = deployment_name(meta["name"])
        wanted = spec.get("replicas")
        replicas = (0 if not self._users(meta["namespace"], meta["name"])
                    else wanted if isinstance(wanted, int) else PODS_PER_RUNTIME)
        labels = {"modelmesh-service": SERVICE_NAME, "name": name}
        owner = {"apiVersion": f"{k.GROUP}/v1alpha1", "kind": "ServingRuntime",
                 "name": meta["name"], "uid": meta["uid"], "controller": True,
                 "blockOwnerDeletion": True}
        template = {"metadata": {"labels": labels},
                    "spec": {"containers": list(spec.get("containers") or []),
                             "terminationGracePeriodSeconds": 90}}
        return {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": meta["namespace"],
                             "labels": dict(labels), "ownerReferences": [owner]},
                "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                         "template": template}}
