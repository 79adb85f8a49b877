"""The ``scale`` subresource: an autoscaling/v1 Scale view of a Deployment."""

from __future__ import annotations

from typing import Any

from kubesandbox.apierror import ApiError
from kubesandbox.jsoncopy import deep_copy

Obj = dict[str, Any]


def _selector(obj: Obj) -> str:
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def to_scale(obj: Obj) -> Obj:
    meta = obj["metadata"]
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                          "creationTimestamp") if k in meta},
        "spec": {"replicas": int((obj.get("spec") or {}).get("replicas", 1))},
        "status": {"replicas": int((obj.get("status") or {}).get("replicas", 0)),
                   "selector": _selector(obj)},
    }


def from_scale(obj: Obj, scale: Obj) -> Obj:
    """The object with the Scale's replicas; only spec.replicas is writable."""
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise ApiError(422, f'Scale.autoscaling "{obj["metadata"]["name"]}" is invalid: '
                       f"spec.replicas: Invalid value: {replicas!r}: must be greater than "
                       "or equal to 0")
    out = deep_copy(obj)
    out.setdefault("spec", {})["replicas"] = replicas
    return out
