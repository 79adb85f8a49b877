"""Keep in memory only what the inventory reads of an ISVC or a pod.

The watch caches hold every InferenceService and every KServe pod of the cluster; whole
objects are about 4 KiB each, mostly fields reclaimer never reads (pod specs, volumes,
status details, managedFields of other fields). At 10,000 services trimming them is
the difference between a 250 MB pod and a 330 MB one (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from typing import Any

from reclaimer.kube.isvc import STOP_ANNOTATION

Obj = dict[str, Any]
_META_KEYS = ("name", "namespace", "uid", "resourceVersion", "generation", "labels",
              "annotations", "creationTimestamp", "deletionTimestamp")
_STOP_FIELD = f"f:{STOP_ANNOTATION}"


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
    """Identity, spec.predictor (resources, replicas), mode and conditions."""
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    kept_status = {k: status[k] for k in ("conditions", "deploymentMode") if k in status}
    predictor = spec.get("predictor") if isinstance(spec, dict) else None
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
            "metadata": _metadata(obj),
            "spec": {"predictor": predictor} if predictor is not None else {},
            "status": kept_status}


def trim_pod(obj: Obj) -> Obj:
    """Identity and the containers' resources: all the GPU count needs."""
    containers = (obj.get("spec") or {}).get("containers") or []
    return {"metadata": _metadata(obj),
            "spec": {"containers": [{"name": c.get("name"), "resources": c.get("resources")}
                                    for c in containers if isinstance(c, dict)]}}
