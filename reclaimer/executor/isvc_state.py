"""The executor's reading of an InferenceService dict, and its Stopped-condition patch.

What KServe's keys and conditions mean is `reclaimer.kserve`'s (imported here so the
executor keeps writing ``st.X``); this module adds the object plumbing.

The executor decides from one copy of the object (a GET, or the watch cache's) and
writes with that copy's resourceVersion, so a 409 means somebody changed it since.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reclaimer import kserve
from reclaimer.kserve import (  # KServe's names and readers live there; used here as st.X
    AUTOSCALER_CLASS,
    READY,
    STOPPED,
    components,
    condition,
    is_true,
    kserve_writes_stopped,
    mode_of,
    own_stopped,
    status_mode_name,
)
from reclaimer.kube import isvc

Obj = dict[str, Any]
ref_of = isvc.ref_of  # one reader of namespace/name for the kube and executor layers
STOP = kserve.STOP_ANNOTATION
__all__ = ["AUTOSCALER_CLASS", "READY", "STOP", "STOPPED", "components", "condition",
           "is_true", "kserve_writes_stopped", "mode_of", "own_stopped", "status_mode_name"]


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
    return kserve.auto_update_disabled_in(annotations_of(obj))


def conditions(obj: Obj) -> list[Obj]:
    return list((obj.get("status") or {}).get("conditions") or [])


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def with_condition(obj: Obj, *, status: str, reason: str, message: str,
                   at: datetime) -> Obj:
    """A status merge-patch replacing only our Stopped condition in the list.

    JSON merge patch replaces lists whole, so the list is rebuilt from the object just
    read; the resourceVersion precondition makes a concurrent KServe write a 409.
    """
    new: Obj = {"type": STOPPED, "status": status, "reason": reason, "message": message,
                "severity": "Info", "lastTransitionTime": rfc3339(at)}
    old = condition(obj, STOPPED)
    if old is not None and old.get("status") == status and old.get("lastTransitionTime"):
        new["lastTransitionTime"] = old["lastTransitionTime"]
    rest = [c for c in conditions(obj) if c.get("type") != STOPPED]
    merged = sorted([*rest, new], key=lambda c: str(c.get("type")))
    return {"metadata": {"resourceVersion": resource_version(obj)},
            "status": {"conditions": merged}}
