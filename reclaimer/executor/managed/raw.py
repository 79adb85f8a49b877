"""Managed stop for Raw/Standard mode on KServe without native stop.

``autoscalerClass: external`` makes KServe delete its HPA and leave Deployment replicas
alone; each component Deployment is then scaled to 0 through the scale subresource.
A KEDA ScaledObject on a component Deployment (class ``keda``) is not deleted by that
class change, so it is paused with KEDA's ``autoscaling.keda.sh/paused-replicas: "0"``;
another owner of the replicas is a refusal (`owners`). Everything changed is saved to
the ledger first, and a start restores exactly that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from reclaimer import keda
from reclaimer.errors import ChildMissing, NotFound, Refused
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context, saved_restore_info, write_condition
from reclaimer.executor.managed.owners import owners
from reclaimer.kube.ports import Obj
from reclaimer.model import Action

NAME = "managed-raw"
EXTERNAL = "external"
STOPPED_MESSAGE = ("stopped (managed, Standard): autoscalerClass set to external and every "
                   "component Deployment scaled to 0; pods are gone")
KEDA_PAUSED = '; KEDA ScaledObject {names} paused with autoscaling.keda.sh/paused-replicas: "0"'
STARTED_MESSAGE = "started (managed, Standard): autoscalerClass and replicas restored"
NOTHING_STOPPED = ("already running: no managed stop saved and every component "
                   "Deployment has replicas")


def _replicas(deployment: Obj) -> int:
    return int((deployment.get("spec") or {}).get("replicas") or 0)


def _name(deployment: Obj) -> str:
    return str(deployment["metadata"]["name"])


def restore_info(obj: Obj, deployments: list[Obj],
                 scaled_objects: Sequence[Obj] = ()) -> dict[str, Any]:
    """``scaledObjects``: each paused ScaledObject's own pause annotation, or None."""
    spec = obj.get("spec") or {}
    return {"strategy": NAME,
            "autoscalerClass": st.annotations_of(obj).get(st.AUTOSCALER_CLASS),
            "minReplicas": {c: spec[c].get("minReplicas") for c in st.components(obj)},
            "replicas": {_name(d): _replicas(d) for d in deployments},
            "scaledObjects": {keda.name_of(so): keda.paused_replicas(so)
                              for so in scaled_objects}}


def _nothing_stopped(ctx: Context, obj: Obj) -> bool:
    """No restore information here and every component Deployment has replicas: the
    class ``external`` is the user's own, or a person started the service by hand."""
    saved = ctx.ledger.load_restore_info(st.ref_of(obj), st.uid_of(obj))
    if saved is not None and saved.get("strategy") == NAME:
        return False
    deployments = ctx.call(lambda: ctx.cluster.component_deployments(st.ref_of(obj)))
    return bool(deployments) and all(_replicas(d) > 0 for d in deployments)


class ManagedRaw:
    name = NAME

    def stop(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        """Nothing is written before the owners of the replicas are known and the
        restore information is saved; the class goes first, as the mark of a stop
        begun, so a retry keeps the first attempt's restore information."""
        ref, uid = st.ref_of(obj), st.uid_of(obj)
        deployments = ctx.call(lambda: ctx.cluster.component_deployments(ref))
        found = owners(obj, deployments, ctx.call(
            lambda: ctx.cluster.list_scalers(ref.namespace)))
        if found.refusal is not None:
            raise Refused(found.refusal)
        saved = ctx.ledger.load_restore_info(ref, uid)
        resuming = (st.annotations_of(obj).get(st.AUTOSCALER_CLASS) == EXTERNAL
                    and saved is not None and saved.get("strategy") == NAME)
        if not resuming:
            ctx.ledger.save_restore_info(
                ref, uid, restore_info(obj, deployments, found.scaled_objects), at=at)
        obj = self._set_class(ctx, obj, EXTERNAL)
        for scaled_object in found.scaled_objects:
            self._pause(ctx, scaled_object, keda.PAUSED_TO_ZERO, stopping=True)
        for deployment in deployments:
            if _replicas(deployment) != 0:
                self._scale(ctx, deployment, 0)
        message = STOPPED_MESSAGE + (KEDA_PAUSED.format(names=", ".join(
            keda.name_of(so) for so in found.scaled_objects)) if found.scaled_objects else "")
        write_condition(ctx, obj, stopped=True, message=message, at=at)
        return message

    def start(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        ref = st.ref_of(obj)
        if _nothing_stopped(ctx, obj):
            return NOTHING_STOPPED
        saved = saved_restore_info(ctx, obj, strategy=NAME,
                                   restores="autoscalerClass and replicas")
        for name, prior in (saved.get("scaledObjects") or {}).items():
            self._pause(ctx, {"metadata": {"namespace": ref.namespace, "name": name}}, prior,
                        stopping=False)
        wanted: Mapping[str, int] = saved.get("replicas") or {}
        for deployment in ctx.call(lambda: ctx.cluster.component_deployments(ref)):
            want = wanted.get(_name(deployment))
            if want is not None and _replicas(deployment) != want:
                self._scale(ctx, deployment, int(want))
        obj = self._set_class(ctx, obj, saved.get("autoscalerClass"))
        write_condition(ctx, obj, stopped=False, message=STARTED_MESSAGE, at=at)
        return STARTED_MESSAGE

    def refusal(self, obj: Obj, *, action: Action) -> str | None:
        """None: who else owns the replicas needs LISTs, so `stop` checks that."""
        return None

    def restore_before(self, obj: Obj, *, action: Action) -> Mapping[str, Any] | None:
        """None: the stop saves its own, which needs more than the object."""
        return None

    def still_stopped(self, obj: Obj) -> bool:
        return st.annotations_of(obj).get(st.AUTOSCALER_CLASS) == EXTERNAL

    def reached(self, obj: Obj, *, action: Action, pods: int) -> bool:
        if action is Action.STOP:
            return pods == 0
        return st.is_true(obj, st.READY)

    def _set_class(self, ctx: Context, obj: Obj, value: str | None) -> Obj:
        if st.annotations_of(obj).get(st.AUTOSCALER_CLASS) == value:
            return obj
        body = {"metadata": {"annotations": {st.AUTOSCALER_CLASS: value},
                             "resourceVersion": st.resource_version(obj)}}
        return ctx.call(lambda: ctx.cluster.patch_isvc(st.ref_of(obj), body))

    def _pause(self, ctx: Context, scaled_object: Obj, value: str | None, *,
               stopping: bool) -> None:
        """Set (or, with None, remove) KEDA's pause. A stop needs its ScaledObject; a
        ScaledObject deleted while stopped needs no restoring, whatever its pause was."""
        meta = scaled_object["metadata"]
        if scaled_object.get("spec") is not None and keda.paused_replicas(scaled_object) == value:
            return
        body = {"metadata": {"annotations": {keda.PAUSED_REPLICAS: value}}}
        try:
            ctx.call(lambda: ctx.cluster.patch_scaled_object(meta["namespace"], meta["name"],
                                                             body))
        except NotFound as exc:
            if stopping:
                raise ChildMissing(f"KEDA ScaledObject {meta['namespace']}/{meta['name']} "
                                   f"is gone: {exc}", status=404) from exc

    def _scale(self, ctx: Context, deployment: Obj, replicas: int) -> None:
        """A Deployment that vanished between the LIST and the scale is a missing child
        (permanent for this attempt), not a missing InferenceService."""
        meta = deployment["metadata"]
        try:
            ctx.call(lambda: ctx.cluster.scale_deployment(meta["namespace"], meta["name"],
                                                          replicas))
        except NotFound as exc:
            raise ChildMissing(f"component Deployment {meta['namespace']}/{meta['name']} "
                               f"is gone: {exc}", status=404) from exc
