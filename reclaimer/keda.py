"""Who else scales a Raw InferenceService's Deployments: KEDA, an HPA, an Argo Rollout.

Facts the managed Raw stop relies on (``reference/kserve_stop.md`` §6, §9; KEDA docs,
"Pausing autoscaling"):

- With ``serving.kserve.io/autoscalerClass: keda`` KServe creates a ScaledObject
  ``<isvc>-<component>`` (``keda.sh/v1alpha1``) whose ``spec.scaleTargetRef`` names the
  component Deployment; KEDA drives the replicas through its own HPA
  ``keda-hpa-<scaledobject>``, owned by the ScaledObject.
- Changing the class to ``external`` runs only KServe's HPA reconciler: the ScaledObject
  is **not** deleted and keeps scaling a Deployment reclaimer set to 0.
- KEDA's own pause is the ScaledObject annotation ``autoscaling.keda.sh/paused-replicas``:
  KEDA scales the target to that count and stops autoscaling until it is removed.
- An HPA that KServe made is controlled by the InferenceService; one controlled by a
  ScaledObject is KEDA's; any other HPA on a component Deployment is someone else's.
- An Argo Rollout takes over a Deployment through ``spec.workloadRef``.

Pure: no I/O, no imports from the rest of reclaimer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Obj = Mapping[str, Any]

KEDA_CLASS = "keda"
PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas"
PAUSED_TO_ZERO = "0"
_DECIMAL = re.compile(r"[+-]?[0-9]+")
SCALED_OBJECT_KIND = "ScaledObject"
ISVC_KIND = "InferenceService"


def name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def annotations_of(obj: Obj) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def paused_replicas(scaled_object: Obj) -> str | None:
    """The ScaledObject's pause annotation as it is (None when absent)."""
    value = annotations_of(scaled_object).get(PAUSED_REPLICAS)
    return None if value is None else str(value)


def pauses_at_zero(scaled_object: Obj) -> bool:
    """Whether KEDA holds the target at 0: it reads the annotation with Go's
    ``strconv.ParseInt(value, 10, 32)`` (KEDA ``GetPausedReplicaCount``), so ``"00"``
    and ``"+0"`` pause at 0 too, while ``" 0"`` or ``"zero"`` is no pause at all."""
    value = paused_replicas(scaled_object)
    return value is not None and _DECIMAL.fullmatch(value) is not None and int(value) == 0


def _target(ref: Mapping[str, Any] | None, *, default_kind: str | None) -> str | None:
    """The Deployment a scaleTargetRef / workloadRef names, or None for another kind."""
    ref = ref or {}
    kind = ref.get("kind", default_kind)
    api = str(ref.get("apiVersion", "apps/v1"))
    if kind != "Deployment" or not api.startswith("apps/"):
        return None
    return str(ref.get("name", "")) or None


def scaled_deployment(scaled_object: Obj) -> str | None:
    """KEDA's scaleTargetRef defaults to an apps/v1 Deployment when kind is omitted."""
    spec = scaled_object.get("spec") or {}
    return _target(spec.get("scaleTargetRef"), default_kind="Deployment")


def hpa_deployment(hpa: Obj) -> str | None:
    return _target((hpa.get("spec") or {}).get("scaleTargetRef"), default_kind=None)


def rollout_deployment(rollout: Obj) -> str | None:
    return _target((rollout.get("spec") or {}).get("workloadRef"), default_kind=None)


def controller_of(obj: Obj) -> Mapping[str, Any] | None:
    """The ownerReference with ``controller: true``, if any."""
    for owner in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if owner.get("controller"):
            return dict(owner)
    return None


def made_by(obj: Obj, *, kind: str, uid: str | None = None) -> bool:
    owner = controller_of(obj)
    return owner is not None and owner.get("kind") == kind and (
        uid is None or owner.get("uid") == uid)
