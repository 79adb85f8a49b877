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
from reclaimer.errors import ClusterError, NotFound, Refused, Transient
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context, Workload, saved_restore_info, write_condition
from reclaimer.executor.managed.cas import LEFT, PutBack, pauses_back, replicas_back
from reclaimer.executor.managed.deployment_status import _not_started, _not_stopped, unavailable
from reclaimer.executor.managed.owners import Owners, owners
from reclaimer.executor.managed.putback import NAME as STRATEGY
from reclaimer.executor.managed.putback import (
    ROLLING_BACK,
    SCALED,
    live,
    ours,
    rolled_back,
    used,
)
from reclaimer.executor.managed.writes import (
    EXTERNAL,
    class_back,
    name_of,
    pause,
    replicas_of,
    scale,
    set_class,
)
from reclaimer.kube.ports import Obj
from reclaimer.model import Action, ServiceRef

# `managed.knative` imports `unavailable` from here, where it was first defined.
__all__ = ["unavailable"]

log = logging.getLogger("reclaimer.executor")
NAME = STRATEGY
STOPPED_MESSAGE = ("stopped (managed, Standard): autoscalerClass set to external and every "
                   "component Deployment scaled to 0; pods are gone")
KEDA_PAUSED = '; KEDA ScaledObject {names} paused with autoscaling.keda.sh/paused-replicas: "0"'
STARTED_MESSAGE = "started (managed, Standard): autoscalerClass and replicas restored"
NOTHING_STOPPED = ("already running: no managed stop saved and every component "
                   "Deployment has replicas")


def restore_info(obj: Obj, deployments: list[Obj],
                 scaled_objects: Sequence[Obj] = ()) -> dict[str, Any]:
    """``scaledObjects``: each paused ScaledObject's own pause annotation, or None."""
    spec = obj.get("spec") or {}
    return {"strategy": NAME,
            "autoscalerClass": st.annotations_of(obj).get(st.AUTOSCALER_CLASS),
            "minReplicas": {c: spec[c].get("minReplicas") for c in st.components(obj)},
            "replicas": {name_of(d): replicas_of(d) for d in deployments},
            SCALED: {name_of(d): replicas_of(d) for d in deployments if replicas_of(d) != 0},
            "scaledObjects": {keda.name_of(so): keda.paused_replicas(so)
                              for so in scaled_objects}}


def _afresh(fresh: dict[str, Any], earlier: Mapping[str, Any] | None) -> dict[str, Any]:
    """A stop of ours never put back whose class a person changed since: a Deployment
    at 0 now, or a ScaledObject paused at ``"0"`` that it paused, is that stop's doing,
    so its earlier saved replicas and pause stay what to put back."""
    if not live(earlier) or earlier is None:
        return fresh
    before: Mapping[str, int] = earlier.get("replicas") or {}
    mine = ours(earlier)
    fresh[SCALED] = {**{name: mine[name] for name, now in fresh["replicas"].items()
                        if now == 0 and name in mine}, **fresh[SCALED]}
    fresh["replicas"] = {name: (before.get(name, now) if now == 0 else now)
                         for name, now in fresh["replicas"].items()}
    paused: Mapping[str, str | None] = earlier.get("scaledObjects") or {}
    fresh["scaledObjects"] = {name: (paused[name] if now == keda.PAUSED_TO_ZERO
                                     and name in paused else now)
                              for name, now in fresh["scaledObjects"].items()}
    return fresh


def _failing(saved: Mapping[str, Any] | None) -> bool:
    """A stop that failed for good is being put back: its mark stays until that is
    done, also once the class is back (the class goes back last, so a process killed
    right after it leaves every field back and the mark not yet cleared)."""
    return "error" in ((saved or {}).get(ROLLING_BACK) or {})


def _nothing_stopped(ctx: Context, obj: Obj) -> bool:
    """No restore information of a stop in progress here and every component
    Deployment has replicas: the class ``external`` is the user's own, or a person
    started the service by hand."""
    if live(ctx.ledger.load_restore_info(st.ref_of(obj), st.uid_of(obj))):
        return False
    deployments = ctx.call(lambda: ctx.cluster.component_deployments(st.ref_of(obj)))
    return bool(deployments) and all(replicas_of(d) > 0 for d in deployments)


class ManagedRaw:
    name = NAME
    reads_deployments = True

    def stop(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        """Nothing is written before the owners of the replicas are known and the
        restore information is saved; the class goes first, as the mark of a stop
        begun, so a retry keeps the first attempt's restore information. A permanent
        failure after that puts back what was changed (`putback.rolled_back`)."""
        ref, uid = st.ref_of(obj), st.uid_of(obj)
        deployments = ctx.call(lambda: ctx.cluster.component_deployments(ref))
        found = owners(obj, deployments, ctx.call(
            lambda: ctx.cluster.list_scalers(ref.namespace)))
        if found.refusal is not None:
            raise Refused(found.refusal)
        saved = _saved_for_stop(ctx, obj, deployments=deployments, found=found, at=at)
        saved = _to_scale(ctx, (ref, uid), saved, deployments, at=at)
        message = STOPPED_MESSAGE + (KEDA_PAUSED.format(names=", ".join(
            keda.name_of(so) for so in found.scaled_objects)) if found.scaled_objects else "")
        try:
            obj = self._stop_writes(ctx, obj, deployments, found.scaled_objects)
            write_condition(ctx, obj, stopped=True, message=message, at=at)
        except ClusterError as exc:
            if isinstance(exc, NotFound | Transient):
                raise  # the ISVC is gone, or the next tick resumes this stop
            raise rolled_back(ctx, (ref, uid), saved,
                               f"permanent error ({type(exc).__name__}): {exc}",
                               status=exc.status, at=at) from exc
        return message

    def _stop_writes(self, ctx: Context, obj: Obj, deployments: Sequence[Obj],
                     scaled_objects: Sequence[Obj]) -> Obj:
        obj = set_class(ctx, obj, EXTERNAL)
        for scaled_object in scaled_objects:
            pause(ctx, scaled_object, keda.PAUSED_TO_ZERO, stopping=True)
        for deployment in deployments:
            if replicas_of(deployment) != 0:
                scale(ctx, deployment, 0)
        return obj

    def start(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        if _nothing_stopped(ctx, obj):
            return NOTHING_STOPPED
        saved = saved_restore_info(ctx, obj, strategy=NAME,
                                   restores="autoscalerClass and replicas")
        result = PutBack()
        obj = _restore(ctx, obj, saved, result)
        message = STARTED_MESSAGE + (f"; {LEFT}: {', '.join(result.left)}"
                                     if result.left else "")
        write_condition(ctx, obj, stopped=False, message=message, at=at)
        used(ctx, obj, saved, at=at)
        return message

    def refusal(self, obj: Obj, *, action: Action) -> str | None:
        """None: who else owns the replicas needs LISTs, so `stop` checks that."""
        return None

    def restore_before(self, obj: Obj, *, action: Action) -> Mapping[str, Any] | None:
        """None: the stop saves its own, which needs more than the object."""
        return None

    def still_stopped(self, obj: Obj) -> bool:
        return st.annotations_of(obj).get(st.AUTOSCALER_CLASS) == EXTERNAL

    def freed_gpus(self, ctx: Context, obj: Obj) -> int | None:
        return None

    def waiting_for(self, obj: Obj, *, action: Action, workload: Workload) -> str | None:
        """By the component Deployments and pods, never by ``Ready``: KServe 0.15 keeps
        ``Ready=True`` while its Deployments are at 0 (0 replicas count as available),
        so right after a start it is the stale word of the stopped service."""
        if workload.unread is not None:
            return f"component Deployments not read: {workload.unread}"
        if action is Action.STOP:
            return _not_stopped(workload)
        return _not_started(workload.deployments)


def _saved_for_stop(ctx: Context, obj: Obj, *, deployments: list[Obj], found: Owners,
                    at: datetime) -> Mapping[str, Any]:
    """The restore information a stop goes on from, saved before any cluster write: the
    earlier attempt's when it resumes a stop begun (the class is ``external``) or one
    failing for good, else saved afresh (`_afresh`). This decision's stop that failed
    for good is put back further instead, and raises (`putback.rolled_back`)."""
    ref, uid = st.ref_of(obj), st.uid_of(obj)
    saved = ctx.ledger.load_restore_info(ref, uid)
    resuming = live(saved) and (st.annotations_of(obj).get(st.AUTOSCALER_CLASS) == EXTERNAL
                                or _failing(saved))
    if saved is None or not resuming:
        saved = _afresh(restore_info(obj, deployments, found.scaled_objects), saved)
        ctx.ledger.save_restore_info(ref, uid, saved, at=at)
    elif (failed := saved.get(ROLLING_BACK)) is not None:
        if "error" in failed:  # this decision's stop failed: carry on putting back
            raise rolled_back(ctx, (ref, uid), saved, str(failed["error"]),
                              status=failed.get("status"), at=at)
        # an undo of an abandoned stop, interrupted: this decision stops instead
        saved = {k: v for k, v in saved.items() if k != ROLLING_BACK}
        ctx.ledger.save_restore_info(ref, uid, saved, at=at)
    return saved


def _restore(ctx: Context, obj: Obj, saved: Mapping[str, Any], result: PutBack) -> Obj:
    """A start: put back what the saved restore information says, in the reverse order
    of a stop (the class, the mark of a stop begun, last); ``result`` gets each write,
    in words, as it lands, and each value left as a person set it. Only what differs is
    written, so a retried start is idempotent. The KEDA pauses and the replicas are put
    back only where the stop wrote them, each only while it holds the stop's ``"0"`` or
    0, with its resourceVersion as read (`cas`): never over a person's value."""
    done = result.done
    pauses_back(ctx, obj, saved.get("scaledObjects") or {}, result)
    replicas_back(ctx, obj, ours(saved), result)
    prior = saved.get("autoscalerClass")
    if st.annotations_of(obj).get(st.AUTOSCALER_CLASS) != prior:
        obj, _ = class_back(ctx, obj, prior, only_external=False)
        done.append(f"autoscalerClass set back to {prior!r}" if prior is not None
                    else "autoscalerClass removed, as it was")
    return obj


def _to_scale(ctx: Context, service: tuple[ServiceRef, str], saved: Mapping[str, Any],
              deployments: Sequence[Obj], *, at: datetime) -> Mapping[str, Any]:
    """Each Deployment this stop will scale is recorded, with its replicas, before the
    write (a retry meeting one that a person scaled up since, or one made since):
    what a start or a rollback puts back is only what reclaimer itself changed. The
    restore information cannot be saved: nothing is written (`LedgerError`)."""
    mine = ours(saved)
    more = {name_of(d): replicas_of(d) for d in deployments
            if replicas_of(d) != 0 and name_of(d) not in mine}
    if not more:
        return saved
    saved = {**saved, SCALED: {**mine, **more}}
    ctx.ledger.save_restore_info(*service, saved, at=at)
    return saved


def partly_stopped(ctx: Context, obj: Obj) -> bool:
    """A managed stop begun (the class is ``external``) with a step not done: a
    component Deployment not at 0, or a ScaledObject it saved to pause (and that still
    exists) not paused at 0. The process that made it ended midway; not a stop to
    verify or hold (a Deployment already at 0 before the stop proves nothing of KEDA)."""
    if st.annotations_of(obj).get(st.AUTOSCALER_CLASS) != EXTERNAL:
        return False
    ref = st.ref_of(obj)
    deployments = ctx.call(lambda: ctx.cluster.component_deployments(ref))
    if any(replicas_of(d) > 0 for d in deployments):
        return True
    saved = ctx.ledger.load_restore_info(ref, st.uid_of(obj))
    to_pause = (saved or {}).get("scaledObjects") or {} if live(saved) else {}
    return bool(to_pause) and any(
        keda.name_of(so) in to_pause and keda.paused_replicas(so) != keda.PAUSED_TO_ZERO
        for so in ctx.call(lambda: ctx.cluster.list_scalers(ref.namespace)).scaled_objects)


def begun(ctx: Context, obj: Obj) -> bool:
    """The class is ``external`` and a managed stop's restore information is saved and
    not yet put back: a stop begun. Also where the user's own class was ``external``
    (replicas run by hand): its Deployments at 0 are then the stop's only change, and
    putting back (compare-and-set, `putback`) writes only those still at 0."""
    if st.annotations_of(obj).get(st.AUTOSCALER_CLASS) != EXTERNAL:
        return False
    return live(ctx.ledger.load_restore_info(st.ref_of(obj), st.uid_of(obj)))


def rolling_back(ctx: Context, obj: Obj) -> str | None:
    """The error of a stop that failed for good and is still being put back, or None."""
    saved = ctx.ledger.load_restore_info(st.ref_of(obj), st.uid_of(obj))
    if not live(saved) or saved is None or "error" not in (saved.get(ROLLING_BACK) or {}):
        return None
    return str(saved[ROLLING_BACK]["error"])


def put_back_unmarked(ctx: Context, obj: Obj) -> bool:
    """Putting back a stop began (`ROLLING_BACK` saved) and the class is no longer
    ``external``, yet the restore information is not marked used: the class's write
    landed unanswered (a timeout, a 504 after the write), or the process died right
    after it. Whoever tries again finishes it, so the row says what was put back and a
    later ``external`` (a person running the replicas by hand) is never this stop's."""
    saved = ctx.ledger.load_restore_info(st.ref_of(obj), st.uid_of(obj))
    return (saved is not None and live(saved) and ROLLING_BACK in saved
            and st.annotations_of(obj).get(st.AUTOSCALER_CLASS) != EXTERNAL)


def drop_rollback(ctx: Context, obj: Obj, *, at: datetime) -> None:
    """The row that owned a rollback is closed: a later stop resumes from the saved
    restore information instead of carrying on putting back another decision's stop."""
    ref, uid = st.ref_of(obj), st.uid_of(obj)
    saved = ctx.ledger.load_restore_info(ref, uid)
    if saved is not None and ROLLING_BACK in saved:
        ctx.ledger.save_restore_info(ref, uid, {k: v for k, v in saved.items()
                                                if k != ROLLING_BACK}, at=at)
