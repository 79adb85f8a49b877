"""Create-or-update and owner-checked delete of children, as KServe's reconcilers do.

Comparison is deliberately partial: labels and annotations must match exactly (so a
removed ISVC annotation reaches the children), the rest of the desired spec must be a
subset of what is stored (so fields the API server defaults never cause an update
loop). Keys listed in ``ignore`` (e.g. ``replicas`` under an HPA) are set on create only.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from kubesandbox.kserve.api import SimApi

Obj = dict[str, Any]
EXACT_KEYS = frozenset({"labels", "annotations"})


def is_subset(want: Any, have: Any) -> bool:
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return False
        return all(_key_matches(key, value, have) for key, value in want.items())
    if isinstance(want, list):
        return (isinstance(have, list) and len(want) == len(have)
                and all(is_subset(w, h) for w, h in zip(want, have, strict=True)))
    return bool(want == have)


def _key_matches(key: str, value: Any, have: Obj) -> bool:
    if key in EXACT_KEYS:
        return (value or {}) == (have.get(key) or {})
    return key in have and is_subset(value, have[key])


def merged(have: Any, want: Any) -> Any:
    """``want`` laid over ``have``: maps merge, labels/annotations and lists replace."""
    if not (isinstance(have, dict) and isinstance(want, dict)):
        return copy.deepcopy(want)
    out = copy.deepcopy(have)
    for key, value in want.items():
        out[key] = copy.deepcopy(value) if key in EXACT_KEYS else merged(have.get(key), value)
    return out


def controlled_by(obj: Obj, uid: str) -> bool:
    """``metav1.GetControllerOf(obj).UID == uid``: KServe touches only what it controls."""
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller") and ref.get("uid") == uid:
            return True
    return False


def _comparable(obj: Obj, ignore: Iterable[str]) -> Obj:
    out = {"metadata": {"labels": obj["metadata"].get("labels") or {},
                        "annotations": obj["metadata"].get("annotations") or {}},
           "spec": dict(obj.get("spec") or {})}
    for key in ignore:
        out["spec"].pop(key, None)
    return out


def ensure(api: SimApi, kind: str, desired: Obj, *, ignore: Iterable[str] = (),
           spec_only: bool = False) -> Obj:
    """Create when absent, update when it drifted from ``desired``; returns the stored one.

    ``spec_only``: only the spec is compared and written (KServe's KEDA reconciler), so
    annotations others put there, such as KEDA's pause, survive.
    """
    meta = desired["metadata"]
    existing = api.find(kind, meta["namespace"], meta["name"])
    if existing is None:
        return api.create(kind, desired)
    if existing["metadata"].get("deletionTimestamp"):
        return existing
    want = _comparable(desired, ignore)
    if spec_only:
        want = {"spec": want["spec"]}
    if is_subset(want, existing):
        return existing
    return api.replace(kind, merged(existing, want))


def remove(api: SimApi, kind: str, namespace: str, name: str, *, owner_uid: str) -> bool:
    """Delete if this owner controls it and it is not already going; True if it exists."""
    existing = api.find(kind, namespace, name)
    if existing is None:
        return False
    if controlled_by(existing, owner_uid) and not existing["metadata"].get("deletionTimestamp"):
        api.delete(kind, namespace, name)
    return True
