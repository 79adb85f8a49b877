"""Managed stop for Raw/Standard mode on KServe without native stop.

``autoscalerClass: external`` makes KServe delete its HPA and leave Deployment replicas
alone; each component Deployment is then scaled to 0 through the scale subresource.
A KEDA ScaledObject on a component Deployment (class ``keda``) is not deleted by that
class change, so it is paused with KEDA's ``autoscaling.keda.sh/paused-replicas: "0"``;
another owner of the replicas is a refusal (`owners`). Everything changed is saved to
the ledger first, and a start restores exactly that.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from reclaimer import keda
from reclaimer.errors import (
    ChildMissing,
    ClusterError,
    Conflict,
    NotFound,
    PartiallyApplied,
    Refused,
    RolledBack,
    Transient,
)
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context, Workload, saved_restore_info, write_condition
from reclaimer.executor.managed.owners import owners
from reclaimer.kube.ports import Obj
from reclaimer.model import Action, ServiceRef

log = logging.getLogger("reclaimer.executor")
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


RESTORED = "restoredAt"
"""Set in the saved restore information once a start or an undo has put it back: from
then on it is an earlier stop's, never the mark of a stop in progress."""


ROLLING_BACK = "rollingBack"
"""Set in the saved restore information while putting back a stop that failed for good
waits on a transient error (a 409 storm): the retry carries on putting back, and never
does the stop's writes again over what was already put back."""


def live(saved: Mapping[str, Any] | None) -> bool:
    """Restore information of a managed Standard stop not yet put back."""
    return saved is not None and saved.get("strategy") == NAME and RESTORED not in saved


def _used(ctx: Context, obj: Obj, saved: Mapping[str, Any], *, at: datetime) -> None:
    """After the class ``external`` of a stop has been put back, a later ``external``
    (a person running the replicas by hand) must not resume, finish or undo with it."""
    ctx.ledger.save_restore_info(st.ref_of(obj), st.uid_of(obj),
                                 {**saved, RESTORED: at.isoformat()}, at=at)


def _afresh(fresh: dict[str, Any], earlier: Mapping[str, Any] | None) -> dict[str, Any]:
    """A stop of ours never put back whose class a person changed since: a Deployment
    at 0 now is that stop's doing, so its earlier saved replicas stay what to put back."""
    if not live(earlier) or earlier is None:
        return fresh
    before: Mapping[str, int] = earlier.get("replicas") or {}
    fresh["replicas"] = {name: (before.get(name, now) if now == 0 else now)
                         for name, now in fresh["replicas"].items()}
    return fresh


def _nothing_stopped(ctx: Context, obj: Obj) -> bool:
    """No restore information of a stop in progress here and every component
    Deployment has replicas: the class ``external`` is the user's own, or a person
    started the service by hand."""
    if live(ctx.ledger.load_restore_info(st.ref_of(obj), st.uid_of(obj))):
        return False
    deployments = ctx.call(lambda: ctx.cluster.component_deployments(st.ref_of(obj)))
    return bool(deployments) and all(_replicas(d) > 0 for d in deployments)


class ManagedRaw:
    name = NAME
    reads_deployments = True

    def stop(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        """Nothing is written before the owners of the replicas are known and the
        restore information is saved; the class goes first, as the mark of a stop
        begun, so a retry keeps the first attempt's restore information. A permanent
        failure after that puts back what was changed (`_rolled_back`)."""
        ref, uid = st.ref_of(obj), st.uid_of(obj)
        deployments = ctx.call(lambda: ctx.cluster.component_deployments(ref))
        found = owners(obj, deployments, ctx.call(
            lambda: ctx.cluster.list_scalers(ref.namespace)))
        if found.refusal is not None:
            raise Refused(found.refusal)
        saved = ctx.ledger.load_restore_info(ref, uid)
        resuming = (st.annotations_of(obj).get(st.AUTOSCALER_CLASS) == EXTERNAL
                    and live(saved))
        if saved is None or not resuming:
            saved = _afresh(restore_info(obj, deployments, found.scaled_objects), saved)
            ctx.ledger.save_restore_info(ref, uid, saved, at=at)
        elif (failed := saved.get(ROLLING_BACK)) is not None:
            raise _rolled_back(ctx, (ref, uid), saved, str(failed["error"]),
                               status=failed.get("status"), at=at)
        message = STOPPED_MESSAGE + (KEDA_PAUSED.format(names=", ".join(
            keda.name_of(so) for so in found.scaled_objects)) if found.scaled_objects else "")
        try:
            obj = self._stop_writes(ctx, obj, deployments, found.scaled_objects)
            write_condition(ctx, obj, stopped=True, message=message, at=at)
        except ClusterError as exc:
            if isinstance(exc, NotFound | Transient):
                raise  # the ISVC is gone, or the next tick resumes this stop
            raise _rolled_back(ctx, (ref, uid), saved,
                               f"permanent error ({type(exc).__name__}): {exc}",
                               status=exc.status, at=at) from exc
        return message

    def _stop_writes(self, ctx: Context, obj: Obj, deployments: Sequence[Obj],
                     scaled_objects: Sequence[Obj]) -> Obj:
        obj = _set_class(ctx, obj, EXTERNAL)
        for scaled_object in scaled_objects:
            _pause(ctx, scaled_object, keda.PAUSED_TO_ZERO, stopping=True)
        for deployment in deployments:
            if _replicas(deployment) != 0:
                _scale(ctx, deployment, 0)
        return obj

    def start(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        if _nothing_stopped(ctx, obj):
            return NOTHING_STOPPED
        saved = saved_restore_info(ctx, obj, strategy=NAME,
                                   restores="autoscalerClass and replicas")
        obj = _restore(ctx, obj, saved, [])
        write_condition(ctx, obj, stopped=False, message=STARTED_MESSAGE, at=at)
        _used(ctx, obj, saved, at=at)
        return STARTED_MESSAGE

    def refusal(self, obj: Obj, *, action: Action) -> str | None:
        """None: who else owns the replicas needs LISTs, so `stop` checks that."""
        return None

    def restore_before(self, obj: Obj, *, action: Action) -> Mapping[str, Any] | None:
        """None: the stop saves its own, which needs more than the object."""
        return None

    def still_stopped(self, obj: Obj) -> bool:
        return st.annotations_of(obj).get(st.AUTOSCALER_CLASS) == EXTERNAL

    def waiting_for(self, obj: Obj, *, action: Action, workload: Workload) -> str | None:
        """By the component Deployments and pods, never by ``Ready``: KServe 0.15 keeps
        ``Ready=True`` while its Deployments are at 0 (0 replicas count as available),
        so right after a start it is the stale word of the stopped service."""
        if workload.unread is not None:
            return f"component Deployments not read: {workload.unread}"
        if action is Action.STOP:
            return _not_stopped(workload)
        return _not_started(workload.deployments)



def _set_class(ctx: Context, obj: Obj, value: str | None) -> Obj:
    if st.annotations_of(obj).get(st.AUTOSCALER_CLASS) == value:
        return obj
    body = {"metadata": {"annotations": {st.AUTOSCALER_CLASS: value},
                         "resourceVersion": st.resource_version(obj)}}
    return ctx.call(lambda: ctx.cluster.patch_isvc(st.ref_of(obj), body))


def _pause(ctx: Context, scaled_object: Obj, value: str | None, *, stopping: bool) -> bool:
    """Set (or, with None, remove) KEDA's pause; True when a request changed it. A stop
    needs its ScaledObject; a ScaledObject deleted while stopped needs no restoring,
    whatever its pause was."""
    meta = scaled_object["metadata"]
    if scaled_object.get("spec") is not None and keda.paused_replicas(scaled_object) == value:
        return False
    body = {"metadata": {"annotations": {keda.PAUSED_REPLICAS: value}}}
    try:
        ctx.call(lambda: ctx.cluster.patch_scaled_object(meta["namespace"], meta["name"],
                                                         body))
    except NotFound as exc:
        if stopping:
            raise ChildMissing(f"KEDA ScaledObject {meta['namespace']}/{meta['name']} "
                               f"is gone: {exc}", status=404) from exc
        return False
    return True


def _scale(ctx: Context, deployment: Obj, replicas: int) -> None:
    """A Deployment that vanished between the LIST and the scale is a missing child
    (permanent for this attempt), not a missing InferenceService."""
    meta = deployment["metadata"]
    try:
        ctx.call(lambda: ctx.cluster.scale_deployment(meta["namespace"], meta["name"],
                                                      replicas))
    except NotFound as exc:
        raise ChildMissing(f"component Deployment {meta['namespace']}/{meta['name']} "
                           f"is gone: {exc}", status=404) from exc


def _restore(ctx: Context, obj: Obj, saved: Mapping[str, Any], done: list[str]) -> Obj:
    """Put back what the saved restore information says, in the reverse order of a
    stop (the class, the mark of a stop begun, last); ``done`` gets each write, in
    words, as it lands. Only what differs is written, so it is idempotent: a start, a
    retried start, and the undo of a failed stop."""
    ref = st.ref_of(obj)
    paused: Mapping[str, str | None] = saved.get("scaledObjects") or {}
    if paused:
        for scaled_object in ctx.call(lambda: ctx.cluster.list_scalers(ref.namespace)
                                      ).scaled_objects:
            name = keda.name_of(scaled_object)
            if name in paused and _pause(ctx, scaled_object, paused[name], stopping=False):
                done.append(f"KEDA ScaledObject {name} pause set back to {paused[name]!r}")
    wanted: Mapping[str, int] = saved.get("replicas") or {}
    for deployment in ctx.call(lambda: ctx.cluster.component_deployments(ref)):
        want = wanted.get(_name(deployment))
        if want is not None and _replicas(deployment) != want:
            _scale(ctx, deployment, int(want))
            done.append(f"Deployment {_name(deployment)} scaled back to {want}")
    prior = saved.get("autoscalerClass")
    if st.annotations_of(obj).get(st.AUTOSCALER_CLASS) != prior:
        obj = _put_class_back(ctx, obj, prior)
        done.append(f"autoscalerClass set back to {prior!r}" if prior is not None
                    else "autoscalerClass removed, as it was")
    return obj


def partly_stopped(ctx: Context, obj: Obj) -> bool:
    """A managed stop begun (the class is ``external``) whose component Deployments are
    not all at 0: the process that made it ended midway. Not a stop to verify or hold."""
    if st.annotations_of(obj).get(st.AUTOSCALER_CLASS) != EXTERNAL:
        return False
    deployments = ctx.call(lambda: ctx.cluster.component_deployments(st.ref_of(obj)))
    return any(_replicas(d) > 0 for d in deployments)


def begun(ctx: Context, obj: Obj) -> bool:
    """The class is ``external`` because of a managed stop (its restore information says
    it was something else before): a stop begun, and not yet put back by a start."""
    if st.annotations_of(obj).get(st.AUTOSCALER_CLASS) != EXTERNAL:
        return False
    saved = ctx.ledger.load_restore_info(st.ref_of(obj), st.uid_of(obj))
    return live(saved) and saved is not None and saved.get("autoscalerClass") != EXTERNAL


def undo_stop(ctx: Context, obj: Obj, *, at: datetime) -> str:
    """Put back a stop begun and not finished, from its saved restore information;
    what was put back, in words. Raises `ClusterError` when that fails."""
    saved = ctx.ledger.load_restore_info(st.ref_of(obj), st.uid_of(obj))
    if saved is None or not live(saved):
        raise Refused(f"no restore information saved for a managed stop of {st.ref_of(obj)}")
    done = _done_before(saved)
    _used(ctx, _restore(ctx, obj, saved, done), saved, at=at)
    return ", ".join(done) or "nothing was changed"


def _rolled_back(ctx: Context, service: tuple[ServiceRef, str], saved: Mapping[str, Any],
                 failed: str, *, status: int | None, at: datetime) -> ClusterError:
    """The error to record for a stop that failed permanently midway: what failed,
    and what was put back, or, when putting back failed too, that the service is
    partially stopped and how to restore it (the restore information stays saved).
    Putting back that fails transiently (a 409 storm, the API server away) is the
    transient error: the row stays planned, the restore information says
    `ROLLING_BACK`, and the retry of the decision carries on putting back."""
    ref, uid = service
    done = _done_before(saved)
    if ROLLING_BACK not in saved:  # a process killed while putting back resumes it too
        saved = {**saved, ROLLING_BACK: {"error": failed, "status": status, "done": []}}
        ctx.ledger.save_restore_info(ref, uid, saved, at=at)
    if (not_now := ctx.may_write()) is not None:
        log.warning("%s: stop failed (%s); not put back now: %s", ref, failed, not_now)
        return Transient(f"{failed}; not put back now ({not_now}): the next leader's "
                         f"retry of the decision puts back")
    try:
        _used(ctx, _restore(ctx, ctx.call(lambda: ctx.cluster.get_isvc(ref)), saved, done),
              saved, at=at)
    except Transient as undo:
        log.warning("%s: stop failed (%s); putting back failed for now: %s", ref, failed, undo)
        ctx.ledger.save_restore_info(ref, uid, {**saved, ROLLING_BACK: {
            "error": failed, "status": status, "done": done}}, at=at)
        return undo
    except ClusterError as undo:  # failed for good: the next decision may stop afresh
        ctx.ledger.save_restore_info(ref, uid, {k: v for k, v in saved.items()
                                                if k != ROLLING_BACK}, at=at)
        return PartiallyApplied(
            f"{failed}; putting back what the stop changed failed too ({type(undo).__name__}: "
            f"{undo}; put back before that: {', '.join(done) or 'nothing'}): the service "
            f"is PARTIALLY STOPPED (autoscalerClass external and some component "
            f"Deployments may be at 0); `reclaimer start {ref}` restores it from the "
            f"saved restore information", status=status)
    return RolledBack(f"{failed}; rolled back: {', '.join(done) or 'nothing was changed'}",
                      status=status)


def _done_before(saved: Mapping[str, Any]) -> list[str]:
    """What an earlier attempt at putting back already put back, so the row says all."""
    return [str(item) for item in (saved.get(ROLLING_BACK) or {}).get("done") or ()]


def _put_class_back(ctx: Context, obj: Obj, prior: str | None, *, attempts: int = 3) -> Obj:
    """KServe writes the ISVC's status right after the Deployments change, so a 409 on
    the class is expected here: read again and write the one annotation again."""
    ref = st.ref_of(obj)
    for attempt in range(1, attempts + 1):
        try:
            return _set_class(ctx, obj, prior)
        except Conflict:
            if attempt == attempts:
                raise
            obj = ctx.call(lambda: ctx.cluster.get_isvc(ref))
    raise AssertionError("unreachable: the last attempt returns or raises")


def _not_stopped(workload: Workload) -> str | None:
    left = [f"Deployment {_name(d)} has {_replicas(d)} replica(s)"
            for d in workload.deployments if _replicas(d) > 0]
    if workload.pods:
        left.append(f"{workload.pods} pod(s) still present")
    return "; ".join(left) or None


def _not_started(deployments: Sequence[Obj]) -> str | None:
    """Each component Deployment with replicas has a fresh status (observedGeneration
    caught up with the start's scale) that says Available with a ready replica: what
    KServe's own PredictorReady is made from, but read now, not from KServe's last
    reconcile. A Deployment left at 0 (as saved) needs nothing."""
    if not deployments:
        return "no component Deployment exists"
    waiting = [why for d in deployments if _replicas(d) > 0 and (why := _unavailable(d))]
    return "; ".join(waiting) or None


def _unavailable(deployment: Obj) -> str | None:
    status = deployment.get("status") or {}
    generation = int((deployment.get("metadata") or {}).get("generation") or 0)
    if int(status.get("observedGeneration") or 0) < generation:
        return f"Deployment {_name(deployment)}: generation {generation} not yet observed"
    available = int(status.get("availableReplicas") or 0)
    if available >= 1 and any(c.get("type") == "Available" and c.get("status") == "True"
                              for c in status.get("conditions") or []):
        return None
    return f"Deployment {_name(deployment)}: {available} of {_replicas(deployment)} available"
