"""Native stop: KServe's own ``serving.kserve.io/stop`` annotation (KServe ≥ 0.16).

Only that one annotation is written, with a resourceVersion precondition, and a start
puts back exactly what was there (usually: nothing), so after a full cycle the ISVC's
labels and annotations are as the user had them (``kserve_stop.md`` §7.1).
"""

from __future__ import annotations

from datetime import datetime

from reclaimer.errors import Refused
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context
from reclaimer.kube.ports import Obj
from reclaimer.model import Action

NAME = "native"
STOPPED_MESSAGE = 'stopped with KServe\'s annotation serving.kserve.io/stop: "true"'
STARTED_MESSAGE = "started: serving.kserve.io/stop restored to the user's value"
AUTO_UPDATE_REFUSAL = (
    'serving.kserve.io/disable-auto-update is "true": KServe skips the stop annotation '
    "on a Ready InferenceService (kserve_stop.md §2.9); remove that annotation or exclude "
    "this service from the policy")


class Native:
    name = NAME

    def stop(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        if st.stop_requested(obj):
            return "already stopped: serving.kserve.io/stop was already \"true\""
        if st.auto_update_disabled(obj):
            raise Refused(AUTO_UPDATE_REFUSAL)
        ref, uid = st.ref_of(obj), st.uid_of(obj)
        prior = st.annotations_of(obj).get(st.STOP)
        ctx.ledger.save_restore_info(ref, uid, {"strategy": NAME, "stopAnnotation": prior},
                                     at=at)
        body = {"metadata": {"annotations": {st.STOP: "true"},
                             "resourceVersion": st.resource_version(obj)}}
        ctx.call(lambda: ctx.cluster.patch_isvc(ref, body))
        return STOPPED_MESSAGE

    def start(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        if not st.stop_requested(obj):
            return "already running: serving.kserve.io/stop was not \"true\""
        ref, uid = st.ref_of(obj), st.uid_of(obj)
        info = ctx.ledger.load_restore_info(ref, uid) or {}
        prior = info.get("stopAnnotation") if info.get("strategy") == NAME else None
        body = {"metadata": {"annotations": {st.STOP: prior},
                             "resourceVersion": st.resource_version(obj)}}
        ctx.call(lambda: ctx.cluster.patch_isvc(ref, body))
        return STARTED_MESSAGE

    def refusal(self, obj: Obj, *, action: Action) -> str | None:
        stopping = action is Action.STOP and not st.stop_requested(obj)
        return AUTO_UPDATE_REFUSAL if stopping and st.auto_update_disabled(obj) else None

    def still_stopped(self, obj: Obj) -> bool:
        return st.stop_requested(obj)

    def reached(self, obj: Obj, *, action: Action, pods: int) -> bool:
        if action is Action.STOP:
            return st.is_true(obj, st.STOPPED) and pods == 0
        return st.is_true(obj, st.READY)
