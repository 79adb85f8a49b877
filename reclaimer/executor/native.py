"""Native stop: KServe's own ``serving.kserve.io/stop`` annotation (KServe ≥ 0.16).

Only that one annotation is written, with a resourceVersion precondition, and a start
puts back exactly what was there (usually: nothing), so after a full cycle the ISVC's
labels and annotations are as the user had them (``kserve_stop.md`` §7.1).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reclaimer import kserve
from reclaimer.errors import Refused
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context, Workload
from reclaimer.kube.ports import Obj
from reclaimer.model import Action

log = logging.getLogger("reclaimer.executor")
NAME = "native"
STOPPED_MESSAGE = f'stopped with KServe\'s annotation {st.STOP}: "true"'
STARTED_MESSAGE = f"started: {st.STOP} restored to the user's value"
ALREADY_STOPPED = f'already stopped: {st.STOP} was already "true"'
ALREADY_RUNNING = f'already running: {st.STOP} was not "true"'
AUTO_UPDATE_REFUSAL = (
    f'{kserve.DISABLE_AUTO_UPDATE} is "true": KServe skips the stop annotation '
    "on a Ready InferenceService (kserve_stop.md §2.9); remove that annotation or exclude "
    "this service from the policy")


class Native:
    name = NAME
    reads_deployments = False

    def restore_before(self, obj: Obj, *, action: Action) -> Mapping[str, Any] | None:
        """The user's own value of the annotation, which a start puts back."""
        if action is not Action.STOP or st.stop_requested(obj) or st.auto_update_disabled(obj):
            return None
        return {"strategy": NAME, "stopAnnotation": st.annotations_of(obj).get(st.STOP)}

    def stop(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        """The executor has saved `restore_before` with the planned row by now."""
        if st.stop_requested(obj):
            return ALREADY_STOPPED
        if st.auto_update_disabled(obj):
            raise Refused(AUTO_UPDATE_REFUSAL)
        body = {"metadata": {"annotations": {st.STOP: kserve.STOP_VALUE},
                             "resourceVersion": st.resource_version(obj)}}
        ctx.call(lambda: ctx.cluster.patch_isvc(st.ref_of(obj), body))
        odd = st.odd_stop(obj)
        if odd is None:
            return STOPPED_MESSAGE
        log.warning("%s: %s; reclaimer wrote \"true\"", st.ref_of(obj), odd)
        return f"{STOPPED_MESSAGE} (it was not stopped: {odd})"

    def start(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        if not st.stop_requested(obj):
            return ALREADY_RUNNING
        ref, uid = st.ref_of(obj), st.uid_of(obj)
        info = ctx.ledger.load_restore_info(ref, uid) or {}
        prior = info.get("stopAnnotation") if info.get("strategy") == NAME else None
        body = {"metadata": {"annotations": {st.STOP: prior},
                             "resourceVersion": st.resource_version(obj)}}
        ctx.call(lambda: ctx.cluster.patch_isvc(ref, body))
        return STARTED_MESSAGE

    def patches(self, obj: Obj, *, action: Action) -> bool:
        """Whether ``action`` from this copy is a PATCH, which its resourceVersion guards.

        "Already stopped/running" and a refusal write nothing, so a stale copy would go
        unnoticed: the executor decides those from a fresh GET, not the watch cache."""
        if self.refusal(obj, action=action) is not None:
            return False
        return st.stop_requested(obj) is (action is Action.START)

    def refusal(self, obj: Obj, *, action: Action) -> str | None:
        stopping = action is Action.STOP and not st.stop_requested(obj)
        return AUTO_UPDATE_REFUSAL if stopping and st.auto_update_disabled(obj) else None

    def still_stopped(self, obj: Obj) -> bool:
        return st.stop_requested(obj)

    def freed_gpus(self, ctx: Context, obj: Obj) -> int | None:
        return None

    def waiting_for(self, obj: Obj, *, action: Action, workload: Workload) -> str | None:
        """KServe's own conditions are fresh evidence here: its stop clears ``Ready``
        (False, reason Stopped), so ``Ready=True`` after a start is KServe's new word."""
        if action is Action.START:
            return None if st.is_true(obj, st.READY) else "Ready is not True"
        if not kserve.stop_done(obj):
            return "KServe has not reported the stop done"
        return None if workload.pods == 0 else f"{workload.pods} pod(s) still present"


PREDICTOR_NAME = "native-predictor"
PREDICTOR_STOPPED_MESSAGE = (
    f'stopped with KServe\'s annotation {st.STOP}: "true", which KServe '
    "0.15 applies to the predictor only; the other components were given minReplicas 0 "
    "so Knative scales them to zero")
PREDICTOR_STARTED_MESSAGE = (f"started: {st.STOP} and the other components' "
                             "minReplicas restored to the user's values")


def _others(obj: Obj) -> list[str]:
    return [c for c in st.components(obj) if c != kserve.PREDICTOR]


def _fully_stopped(obj: Obj) -> bool:
    """The annotation, and minReplicas 0 on every component KServe 0.15 leaves running."""
    spec = obj.get("spec") or {}
    return st.stop_requested(obj) and all(spec[c].get("minReplicas") == 0 for c in _others(obj))


def _restored_min_replicas(obj: Obj, saved: Mapping[str, Any]) -> dict[str, Any]:
    """The saved minReplicas, only where our 0 is still there: a value a person set
    while the service was stopped is theirs, and the start keeps it."""
    spec = obj.get("spec") or {}
    return {c: {"minReplicas": saved.get(c)} for c in _others(obj)
            if spec[c].get("minReplicas") == 0}


class NativePredictor(Native):
    """KServe 0.15.1/0.15.2, a Knative ISVC with a transformer or explainer.

    KServe stops only the predictor (``kserve_stop.md`` §9) and keeps writing its own
    ``Stopped`` condition, so a managed stop's condition would be overwritten. The one
    PATCH sets the annotation and ``minReplicas: 0`` on the other components (the
    strongest change KServe keeps, as the managed Knative stop does); the ingress is gone
    with the predictor, so nothing wakes them. A start restores both.
    """

    name = PREDICTOR_NAME

    def restore_before(self, obj: Obj, *, action: Action) -> Mapping[str, Any] | None:
        """Also when a person's annotation stopped the predictor already: the other
        components are still ours to stop, and a start removes that annotation as it
        does for any stop reclaimer did not make (`Native.start` with nothing saved)."""
        if (action is not Action.STOP or st.auto_update_disabled(obj)
                or _fully_stopped(obj)):
            return None
        spec = obj.get("spec") or {}
        prior = None if st.stop_requested(obj) else st.annotations_of(obj).get(st.STOP)
        return {"strategy": PREDICTOR_NAME, "stopAnnotation": prior,
                "minReplicas": {c: spec[c].get("minReplicas") for c in _others(obj)}}

    def stop(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        if _fully_stopped(obj):
            return ALREADY_STOPPED
        if st.auto_update_disabled(obj):
            raise Refused(AUTO_UPDATE_REFUSAL)
        body = {"metadata": {"annotations": {st.STOP: kserve.STOP_VALUE},
                             "resourceVersion": st.resource_version(obj)},
                "spec": {c: {"minReplicas": 0} for c in _others(obj)}}
        ctx.call(lambda: ctx.cluster.patch_isvc(st.ref_of(obj), body))
        return PREDICTOR_STOPPED_MESSAGE

    def start(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        if not st.stop_requested(obj):
            return ALREADY_RUNNING
        ref, uid = st.ref_of(obj), st.uid_of(obj)
        info = ctx.ledger.load_restore_info(ref, uid) or {}
        if info.get("strategy") != PREDICTOR_NAME:
            return Native.start(self, ctx, obj, at=at)
        body = {"metadata": {"annotations": {st.STOP: info.get("stopAnnotation")},
                             "resourceVersion": st.resource_version(obj)},
                "spec": _restored_min_replicas(obj, info.get("minReplicas") or {})}
        ctx.call(lambda: ctx.cluster.patch_isvc(ref, body))
        return PREDICTOR_STARTED_MESSAGE
