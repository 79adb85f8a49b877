"""Keep in memory only what the inventory reads of an ISVC or a pod, compactly.

The watch caches hold every InferenceService and every KServe pod of the cluster; whole
objects are about 4 KiB each, mostly fields reclaimer never reads (pod specs, volumes,
status details, managedFields of other fields), and even trimmed ones stay about 3 KiB
as nested dicts. So an ISVC is kept as its trimmed JSON (bytes, decoded only when one
object is asked for) beside the `Service` each tick reads, mapped once when the object
arrives instead of at every tick; a pod is kept as the service it belongs to and its GPU
count. At 10,000 services that is the difference between 158 and about 110 MiB after
start-up (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from typing import Any

from reclaimer.errors import InvalidInput
from reclaimer.kserve import COMPONENTS, KINDS, STOP_FIELD
from reclaimer.kube.isvc import service_from_isvc, whole_quantity
from reclaimer.model import DeploymentMode, Service, ServiceKind, ServiceRef

Obj = dict[str, Any]
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu")
_META_KEYS = ("name", "namespace", "uid", "resourceVersion", "generation", "labels",
              "annotations", "creationTimestamp", "deletionTimestamp")
_STOP_FIELD = STOP_FIELD[-1]
# An ISVC's components; an LLMInferenceService's workload (replicas, template, prefill,
# worker); an InferenceGraph's nodes (its member ISVCs).
SPEC_KEYS = (*COMPONENTS, "replicas", "template", "prefill", "worker", "nodes")


def _owns_stop(entry: Obj) -> bool:
    fields = entry.get("fieldsV1")
    metadata = fields.get("f:metadata") if isinstance(fields, dict) else None
    annotations = metadata.get("f:annotations") if isinstance(metadata, dict) else None
    return isinstance(annotations, dict) and _STOP_FIELD in annotations


def _metadata(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    kept = {k: meta[k] for k in _META_KEYS if k in meta}
    managed = meta.get("managedFields")
    if isinstance(managed, list):
        kept["managedFields"] = [e for e in managed if isinstance(e, dict) and _owns_stop(e)]
    return kept


def trim_isvc(obj: Obj) -> Obj:
    """Identity, the components' specs (resources, replicas), mode and conditions: what
    the inventory maps and what the executor reads and rebuilds its patches from."""
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    kept_status = {k: status[k] for k in ("conditions", "deploymentMode") if k in status}
    kept_spec = {k: spec[k] for k in SPEC_KEYS if k in spec} if isinstance(spec, dict) else {}
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
            "metadata": _metadata(obj), "spec": kept_spec, "status": kept_status}


def trim_deployment(obj: Obj) -> Obj:
    """What verifying a managed stop or start reads of a component Deployment: whether
    its status is fresh (observedGeneration) and what it says (replicas, Available)."""
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    return {"metadata": {k: meta[k] for k in ("name", "namespace", "generation", "labels")
                         if k in meta},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas")},
            "status": {k: status[k] for k in ("observedGeneration", "replicas",
                                              "availableReplicas", "readyReplicas",
                                              "conditions") if k in status}}


@dataclass(frozen=True, slots=True)
class KeptIsvc:
    """One cached ISVC: ``body`` is `trim_isvc` of it as compact JSON; ``service`` is
    None when it does not map (the inventory then maps ``body`` again, to raise)."""

    body: bytes
    service: Service | None

    def object(self) -> Obj:
        """A fresh dict each call: callers may change it without touching the cache."""
        decoded: Obj = json.loads(self.body)
        return decoded


def keep_isvc(obj: Obj, *, default_mode: DeploymentMode) -> KeptIsvc:
    trimmed = trim_isvc(obj)
    body = json.dumps(trimmed, separators=(",", ":"), ensure_ascii=False).encode()
    try:
        service: Service | None = _shared(service_from_isvc(trimmed, default_mode=default_mode))
    except InvalidInput:
        service = None
    return KeptIsvc(body=body, service=service)


def _shared(service: Service) -> Service:
    """Namespaces and label texts repeat across thousands of services: one copy each."""
    ref = replace(service.ref, namespace=sys.intern(service.ref.namespace))
    labels = {sys.intern(k): sys.intern(v) for k, v in service.labels.items()}
    return replace(service, ref=ref, labels=labels)


def pod_gpus(pod: Obj) -> int:
    total = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") if isinstance(container, dict) else None
        resources = resources if isinstance(resources, dict) else {}
        wanted = {**_mapping(resources.get("limits")), **_mapping(resources.get("requests"))}
        total += sum(whole_quantity(wanted.get(name, 0)) for name in GPU_RESOURCES)
    return total


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


PodShare = tuple[ServiceRef, int] | None


def keep_pod(obj: Obj, kind: ServiceKind = ServiceKind.INFERENCE_SERVICE) -> PodShare:
    """The service of ``kind`` a pod serves and the GPUs it requests; None for a pod
    being deleted or one without the kind's owner label, which count for nobody."""
    meta = obj.get("metadata") or {}
    owner = (meta.get("labels") or {}).get(KINDS[kind].pod_owner)
    if not owner or meta.get("deletionTimestamp"):
        return None
    ref = ServiceRef(sys.intern(str(meta.get("namespace", ""))), str(owner), kind)
    return ref, pod_gpus(obj)
