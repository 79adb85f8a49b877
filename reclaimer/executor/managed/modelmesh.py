"""ModelMesh: no per-InferenceService stop (``kserve_stop.md`` §2.5), so a runtime-level one.

A ModelMesh ISVC's stop is reclaimer's own record, never a change to the ISVC's spec:
its restore information (``{"strategy": "modelmesh", "runtime": R}``, written with the
planned row before any call) and reclaimer's ``Stopped`` condition (reason
``Reclaimed``), which modelmesh-serving keeps (it manages only its own conditions).
The GPUs come back when the last ISVC that runtime R serves is stopped: then the
runtime itself goes to 0 (`runtime`). While another ISVC still uses R, the stop is
refused with the reason ("refused: runtime R also serves ns/other"), and nothing is
written. Stops decided in the same tick for every user of R all succeed: each one's
restore information is on disk before the first call, so each sees the others stopped.
A start puts the runtime back first, then ends every stop on R: once the runtime
serves again, the other ISVCs on it are served too, and their conditions say so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reclaimer.errors import ClusterError, Refused
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context, Workload, saved_restore_info, write_condition
from reclaimer.executor.managed import runtime as rt
from reclaimer.kserve import runtime_deployment, runtime_of
from reclaimer.kube.ports import Obj, RuntimeWorkload
from reclaimer.ledger.records import RecordState, TransitionRecord
from reclaimer.model import Action, DeploymentMode, Reason, ServiceRef, Transition, Trigger

NAME = rt.MEMBER
STOPPED = ("stopped (runtime-level, ModelMesh): every InferenceService on runtime {runtime} "
           "is stopped; {said}; its Deployment {deployment} has no pods")
STARTED = "started (runtime-level, ModelMesh): {said}"
HELD_MESSAGE = ("stopped (runtime-level, ModelMesh): every InferenceService on its runtime "
                "is stopped and the ServingRuntime is at spec.replicas 0")
WOKEN = "started with {ref}: runtime {runtime} serves again"


def _member_stopped(ctx: Context, other: Obj, runtime: str) -> bool:
    saved = ctx.ledger.load_restore_info(st.ref_of(other), st.uid_of(other))
    return rt.live(saved, strategy=NAME) and (saved or {}).get("runtime") == runtime


def _others(ctx: Context, obj: Obj, runtime: str) -> list[Obj]:
    namespace = st.ref_of(obj).namespace
    return rt.users(obj, ctx.call(lambda: ctx.cluster.namespace_isvcs(namespace)),
                    runtime=runtime, default_mode=DeploymentMode.MODELMESH)


def _close(ctx: Context, obj: Obj, *, at: datetime) -> None:
    """This ISVC's own restore information no longer marks a stop in force."""
    ref, uid = st.ref_of(obj), st.uid_of(obj)
    saved = ctx.ledger.load_restore_info(ref, uid)
    if rt.live(saved, strategy=NAME):
        ctx.ledger.save_restore_info(ref, uid, {**(saved or {}), rt.RESTORED: at.isoformat()},
                                     at=at)


def _running(ctx: Context, obj: Obj, runtime: str) -> list[ServiceRef]:
    return [st.ref_of(o) for o in _others(ctx, obj, runtime)
            if not _member_stopped(ctx, o, runtime)]


def _serve_again(ctx: Context, obj: Obj, runtime: str, *, at: datetime) -> str:
    """The runtime's saved ``spec.replicas`` back first, then every other stop on it
    ends: once the runtime serves again, so are they (best effort for their
    conditions: their own start, or the follow-up, writes them again). Each one's start
    is booked before its stop mark is closed, and booked once: a process that ends
    between the two (or a ledger that refuses the row) leaves the mark live, so the
    retry of this start books what is not yet booked and closes the mark."""
    said = rt.scale_up(ctx, st.ref_of(obj).namespace, runtime, at=at)
    woken = WOKEN.format(ref=st.ref_of(obj), runtime=runtime)
    for other in _others(ctx, obj, runtime):
        if _member_stopped(ctx, other, runtime):
            _book_woken(ctx, other, waker=st.ref_of(obj), runtime=runtime, at=at)
            _close(ctx, other, at=at)
            with contextlib.suppress(ClusterError):
                write_condition(ctx, other, stopped=False, message=woken, at=at)
    return said


def _book_woken(ctx: Context, other: Obj, *, waker: ServiceRef, runtime: str,
                at: datetime) -> None:
    """``other`` serves again by reclaimer's doing: its start is recorded as reclaimer's
    (reason RuntimeWoken, naming the service whose transition brought the runtime
    back, with that transition's trigger and policy), so its stop is no longer in
    force and the loop never takes the change for somebody's external start."""
    booked = _booked(ctx, other)
    if booked is not None:
        if booked.state is RecordState.PLANNED:
            ctx.ledger.mark_applied(booked.id, at=at)
        return
    row = max((r for r in ctx.ledger.pending() if r.transition.ref == waker),
              key=lambda r: r.id, default=None)
    cause = None if row is None else row.transition
    woken = Transition(ref=st.ref_of(other), uid=st.uid_of(other), action=Action.START,
                       trigger=cause.trigger if cause is not None else Trigger.MANUAL,
                       reason=Reason.RUNTIME_WOKEN,
                       policy=cause.policy if cause is not None else None, at=at,
                       evidence={"wokenBy": str(waker), "runtime": runtime})
    record = ctx.ledger.record_planned(woken, strategy=NAME, actor=ctx.actor, at=at)
    ctx.ledger.mark_applied(record.id, at=at)


def _booked(ctx: Context, other: Obj) -> TransitionRecord | None:
    """The RuntimeWoken start already written for ``other`` since its stop (by an
    earlier attempt of the start that woke it), or None."""
    ref, uid = st.ref_of(other), st.uid_of(other)
    for row in ctx.ledger.history(namespace=ref.namespace, name=ref.name, kind=ref.kind,
                                  limit=20):
        if row.transition.uid != uid or row.state in _NOT_ACTIONS:
            continue
        return row if row.transition.reason is Reason.RUNTIME_WOKEN else None
    return None


_NOT_ACTIONS = (RecordState.SKIPPED, RecordState.OBSERVED)


def mark_of(ctx: Context, obj: Obj) -> str | None:
    """The runtime named by this ISVC's live stop mark (its restore information), or
    None when no stop of reclaimer's is in force on it."""
    saved = ctx.ledger.load_restore_info(st.ref_of(obj), st.uid_of(obj))
    runtime = (saved or {}).get("runtime")
    return str(runtime) if rt.live(saved, strategy=NAME) and runtime else None


def stop_in_place(ctx: Context, obj: Obj) -> bool:
    """The stop is on the cluster whatever the ISVC's condition says: its mark is live
    and its runtime is at 0 under reclaimer's restore information (one GET)."""
    runtime = mark_of(ctx, obj)
    return runtime is not None and rt.scaled_down(ctx, st.ref_of(obj).namespace, runtime)


def finish_stop(ctx: Context, obj: Obj, *, at: datetime) -> str | None:
    """Recovery of a stop whose process ended after the runtime went to 0 and before
    the ISVC's condition (docs/design.md §5): the scale-down is the whole change, so
    the stop is finished (the condition written) when every other user of the runtime
    is still stopped; otherwise (a user came or was started meanwhile) the runtime is
    put back and the refusal returned, for the row to fail with."""
    runtime = mark_of(ctx, obj)
    if runtime is None:
        return f"no live stop of {st.ref_of(obj)} on a runtime"
    why = rt.sharing_refusal(runtime, _running(ctx, obj, runtime))
    if why is None:
        said = f"ServingRuntime {runtime} at spec.replicas 0"
        write_condition(ctx, obj, stopped=True, at=at, message=STOPPED.format(
            runtime=runtime, said=said, deployment=runtime_deployment(runtime)))
        return None
    return f"{why}; {undo_stop(ctx, obj, at=at)}"


def undo_stop(ctx: Context, obj: Obj, *, at: datetime) -> str | None:
    """Put back what this ISVC's stop began, for a row closed without its stop in
    force (`partial.close_stop`, recovery): its mark is closed, so no other stop counts
    it as stopped, and a runtime at 0 under reclaimer's record is scaled back (with
    every other stop on it ended). None when it began nothing."""
    runtime = mark_of(ctx, obj)
    if runtime is None:
        return None
    said = "its runtime was not scaled"
    if rt.scaled_down(ctx, st.ref_of(obj).namespace, runtime):
        said = _serve_again(ctx, obj, runtime, at=at)
    _close(ctx, obj, at=at)
    return said


class ModelMesh:
    name = NAME
    reads_deployments = False

    def stop(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        ref = st.ref_of(obj)
        runtime = rt.runtime_of_ref(obj)
        rt.serving_runtime(ctx, ref.namespace, runtime)
        if (why := rt.sharing_refusal(runtime, _running(ctx, obj, runtime))) is not None:
            _close(ctx, obj, at=at)
            raise Refused(why)
        said = rt.scale_down(ctx, ref.namespace, runtime, by=st.uid_of(obj), at=at)
        message = STOPPED.format(runtime=runtime, said=said,
                                 deployment=runtime_deployment(runtime))
        write_condition(ctx, obj, stopped=True, message=message, at=at)
        return message

    def start(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        saved = saved_restore_info(ctx, obj, strategy=NAME,
                                   restores="the ServingRuntime's spec.replicas")
        message = STARTED.format(said=_serve_again(ctx, obj, str(saved["runtime"]), at=at))
        write_condition(ctx, obj, stopped=False, message=message, at=at)
        _close(ctx, obj, at=at)
        return message

    def refusal(self, obj: Obj, *, action: Action) -> str | None:
        """Only what the object alone tells: which runtime; sharing needs LISTs."""
        if action is Action.STOP and runtime_of(obj) is None:
            try:
                rt.runtime_of_ref(obj)
            except Refused as exc:
                return str(exc)
        return None

    def restore_before(self, obj: Obj, *, action: Action) -> Mapping[str, Any] | None:
        """Saved with the planned row: the mark every other stop on the runtime reads."""
        runtime = runtime_of(obj)
        if action is not Action.STOP or runtime is None:
            return None
        return {"strategy": NAME, "runtime": runtime}

    def still_stopped(self, obj: Obj) -> bool:
        return st.own_stopped(obj)

    def freed_gpus(self, ctx: Context, obj: Obj) -> int | None:
        """The runtime's GPUs for the stop that scaled it to 0, 0 for the others."""
        runtime = mark_of(ctx, obj)
        if runtime is None:
            return None
        return rt.freed_gpus(ctx, st.ref_of(obj).namespace, runtime, uid=st.uid_of(obj))

    def waiting_for(self, obj: Obj, *, action: Action, workload: Workload) -> str | None:
        """By the runtime Deployment and its pods (GPU really free; served again)."""
        found, runtime = workload.runtime, runtime_of(obj)
        if found is None or runtime is None:
            return "the runtime Deployment was not read"
        name = runtime_deployment(runtime)
        if action is Action.STOP:
            left = [f"Deployment {name} has {found.replicas} replica(s)"] if found.replicas else []
            left += [f"{found.pods} pod(s) of {name} still present"] if found.pods else []
            return "; ".join(left) or None
        if not found.ready:
            return f"Deployment {name} has no ready replica"
        return None


def runtime_workload(ctx: Context, obj: Obj) -> RuntimeWorkload | None:
    """What verification reads for a ModelMesh ISVC; None without a runtime."""
    runtime = runtime_of(obj)
    if runtime is None:
        return None
    namespace = st.ref_of(obj).namespace
    return ctx.call(lambda: ctx.cluster.runtime_workload(namespace,
                                                         runtime_deployment(runtime)))
