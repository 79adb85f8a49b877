"""Which reconciles a store event calls for: the object's own, and its owner's."""

from __future__ import annotations

from typing import Any

from kubesandbox.kserve.api import SimApi
from kubesandbox.kserve.workloads import WorkloadController

Obj = dict[str, Any]
Key = tuple[str, str, str]
OWN_RECONCILE = frozenset({"isvc", "ksvc", "deployment", "ig", "llmisvc", "servingruntime"})
OWNER_KINDS = {
    ("serving.kserve.io", "InferenceService"): "isvc",
    ("serving.kserve.io", "InferenceGraph"): "ig",
    ("serving.kserve.io", "LLMInferenceService"): "llmisvc",
    ("serving.kserve.io", "ServingRuntime"): "servingruntime",
    ("serving.knative.dev", "Service"): "ksvc",
    ("apps", "Deployment"): "deployment",
}


def keys_for(kind: str | None, event_type: str, obj: Obj, *,
             workloads: WorkloadController) -> list[Key]:
    if kind is None or "metadata" not in obj:
        return []
    meta = obj["metadata"]
    namespace = meta.get("namespace") or ""
    if kind == "pod":
        deployment = workloads.observe_pod(obj, deleted=event_type == "DELETED")
        return [("deployment", namespace, deployment)] if deployment else []
    keys: list[Key] = []
    if kind in OWN_RECONCILE:
        keys.append((kind, namespace, meta["name"]))
    if kind in ("hpa", "scaledobject"):
        target = ((obj.get("spec") or {}).get("scaleTargetRef") or {}).get("name")
        if target:
            keys.append(("deployment", namespace, target))
    owner = controller_owner(obj)
    if owner is not None:
        keys.append((owner[0], namespace, owner[1]))
    return keys


def controller_owner(obj: Obj) -> tuple[str, str] | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if not ref.get("controller"):
            continue
        group = str(ref.get("apiVersion", "")).rpartition("/")[0]
        kind = OWNER_KINDS.get((group, ref.get("kind", "")))
        if kind is not None:
            return kind, str(ref["name"])
    return None


def kind_of(api: SimApi, rtype: Any) -> str | None:
    return api.key_of(rtype)
