"""Reading an InferenceService dict: annotations, conditions, mode, components.

The executor decides from one copy of the object (a GET, or the watch cache's) and
writes with that copy's resourceVersion, so a 409 means somebody changed it since.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reclaimer import kserve
from reclaimer.kube import isvc
from reclaimer.model import DeploymentMode, parse_mode

Obj = dict[str, Any]
ref_of = isvc.ref_of  # one reader of namespace/name for the kube and executor layers
STOP = kserve.STOP_ANNOTATION
DISABLE_AUTO_UPDATE = "serving.kserve.io/disable-auto-update"
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
AUTOSCALER_CLASS = "serving.kserve.io/autoscalerClass"
COMPONENTS = ("predictor", "transformer", "explainer")
STOPPED = "Stopped"
READY = "Ready"
# Reasons reclaimer writes on its own Stopped condition; KServe ≥ 0.16 writes none, so
# a Stopped condition with one of these is ours and says nothing about KServe's version.
OWN_REASONS = frozenset({"Reclaimed", "Restored"})


def uid_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("uid", ""))


def deleting(obj: Obj) -> bool:
    """Deleted and waiting for its finalizers (KServe's): never acted on."""
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def resource_version(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))


def annotations_of(obj: Obj) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def stop_requested(obj: Obj) -> bool:
    """KServe's ``GetForceStopRuntime``, through the one parser (`reclaimer.kserve`)."""
    return kserve.stop_requested_in(annotations_of(obj))


def odd_stop(obj: Obj) -> str | None:
    """Why the stop annotation looks like a stop but is none for KServe (``" true"``)."""
    return kserve.odd_stop_in(annotations_of(obj))


def auto_update_disabled(obj: Obj) -> bool:
    return annotations_of(obj).get(DISABLE_AUTO_UPDATE, "").strip().lower() == "true"


def conditions(obj: Obj) -> list[Obj]:
    return list((obj.get("status") or {}).get("conditions") or [])


def condition(obj: Obj, ctype: str) -> Obj | None:
    return next((c for c in conditions(obj) if c.get("type") == ctype), None)


def is_true(obj: Obj, ctype: str) -> bool:
    found = condition(obj, ctype)
    return found is not None and found.get("status") == "True"


def kserve_writes_stopped(obj: Obj) -> bool:
    """KServe's own Stopped condition is on this ISVC: KServe ≥ 0.16 writes it on every
    ISVC but ModelMesh, 0.15.1/0.15.2 on Knative ISVCs only, always without a reason
    (``kserve_stop.md`` §9). One with a reason is ours (`OWN_REASONS`) or another
    tool's, and says nothing about what KServe's annotation stops."""
    found = condition(obj, STOPPED)
    return found is not None and not found.get("reason")


def status_mode_name(obj: Obj) -> str:
    """``status.deploymentMode`` as KServe spelled it: old names up to 0.15 (PR #4608)."""
    return str((obj.get("status") or {}).get("deploymentMode") or "")


def own_stopped(obj: Obj) -> bool:
    found = condition(obj, STOPPED)
    return (found is not None and found.get("status") == "True"
            and found.get("reason") == "Reclaimed")


def mode_of(obj: Obj, *, default: DeploymentMode) -> DeploymentMode:
    """Annotation, then status.deploymentMode, then the cluster default (issue 6)."""
    status = obj.get("status") or {}
    return (parse_mode(annotations_of(obj).get(DEPLOYMENT_MODE))
            or parse_mode(status.get("deploymentMode")) or default)


def components(obj: Obj) -> list[str]:
    spec = obj.get("spec") or {}
    return [name for name in COMPONENTS if isinstance(spec.get(name), dict)]


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def with_condition(obj: Obj, *, status: str, reason: str, message: str,
                   at: datetime) -> Obj:
    """A status merge-patch replacing only our Stopped condition in the list.

    JSON merge patch replaces lists whole, so the list is rebuilt from the object just
    read; the resourceVersion precondition makes a concurrent KServe write a 409.
    """
    new = {"type": STOPPED, "status": status, "reason": reason, "message": message,
           "severity": "Info", "lastTransitionTime": rfc3339(at)}
    old = condition(obj, STOPPED)
    if old is not None and old.get("status") == status and old.get("lastTransitionTime"):
        new["lastTransitionTime"] = old["lastTransitionTime"]
    rest = [c for c in conditions(obj) if c.get("type") != STOPPED]
    merged = sorted([*rest, new], key=lambda c: str(c.get("type")))
    return {"metadata": {"resourceVersion": resource_version(obj)},
            "status": {"conditions": merged}}
