"""The single writes of a managed Standard stop and its put-back, one object each.

The ISVC's ``autoscalerClass``, a ScaledObject's ``paused-replicas`` and a component
Deployment's replicas. Each knows what a vanished object means for it (a stop needs it,
a put-back does not), and each can carry the resourceVersion as read, so the callers
that must never write over a person (`cas`) get a 409 instead.
"""

from __future__ import annotations

from typing import Any

from reclaimer import keda
from reclaimer.errors import ChildMissing, Conflict, NotFound
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context
from reclaimer.kube.ports import Obj

EXTERNAL = "external"


def replicas_of(deployment: Obj) -> int:
    return int((deployment.get("spec") or {}).get("replicas") or 0)


def name_of(deployment: Obj) -> str:
    return str(deployment["metadata"]["name"])



def set_class(ctx: Context, obj: Obj, value: str | None) -> Obj:
    if st.annotations_of(obj).get(st.AUTOSCALER_CLASS) == value:
        return obj
    body = {"metadata": {"annotations": {st.AUTOSCALER_CLASS: value},
                         "resourceVersion": st.resource_version(obj)}}
    return ctx.call(lambda: ctx.cluster.patch_isvc(st.ref_of(obj), body))


def pause(ctx: Context, scaled_object: Obj, value: str | None, *, stopping: bool,
          as_read: bool = False) -> bool:
    """Set (or, with None, remove) KEDA's pause; True when a request changed it. A stop
    needs its ScaledObject; a ScaledObject deleted while stopped needs no restoring,
    whatever its pause was. ``as_read``: only if it has not changed since it was read
    (a 409 `Conflict` otherwise)."""
    meta = scaled_object["metadata"]
    if scaled_object.get("spec") is not None and keda.paused_replicas(scaled_object) == value:
        return False
    body: dict[str, Any] = {"metadata": {"annotations": {keda.PAUSED_REPLICAS: value}}}
    if as_read and meta.get("resourceVersion") is not None:
        body["metadata"]["resourceVersion"] = meta["resourceVersion"]
    try:
        ctx.call(lambda: ctx.cluster.patch_scaled_object(meta["namespace"], meta["name"],
                                                         body))
    except NotFound as exc:
        if stopping:
            raise ChildMissing(f"KEDA ScaledObject {meta['namespace']}/{meta['name']} "
                               f"is gone: {exc}", status=404) from exc
        return False
    return True


def scale(ctx: Context, deployment: Obj, replicas: int, *, as_read: bool = False) -> None:
    """A Deployment that vanished between the LIST and the scale is a missing child
    (permanent for this attempt), not a missing InferenceService. ``as_read``: only if
    it has not changed since it was read (a 409 `Conflict` otherwise)."""
    meta = deployment["metadata"]
    version = meta.get("resourceVersion") if as_read else None
    try:
        ctx.call(lambda: ctx.cluster.scale_deployment(meta["namespace"], meta["name"],
                                                      replicas, resource_version=version))
    except NotFound as exc:
        raise ChildMissing(f"component Deployment {meta['namespace']}/{meta['name']} "
                           f"is gone: {exc}", status=404) from exc



def class_back(ctx: Context, obj: Obj, prior: str | None, *, only_external: bool = True,
               attempts: int = 3) -> tuple[Obj, str | None]:
    """KServe writes the ISVC's status right after the Deployments change, so a 409 on
    the class is expected here: read again and write the one annotation again; when
    putting back a stop (``only_external``), only while it still says ``external``
    (someone may have set it since). Returns the object and the class it now has."""
    ref = st.ref_of(obj)
    for attempt in range(1, attempts + 1):
        current = st.annotations_of(obj).get(st.AUTOSCALER_CLASS)
        if current == prior or (only_external and current != EXTERNAL):
            return obj, current
        try:
            return set_class(ctx, obj, prior), prior
        except Conflict:
            if attempt == attempts:
                raise
            obj = ctx.call(lambda: ctx.cluster.get_isvc(ref))
    raise AssertionError("unreachable: the last attempt returns or raises")

