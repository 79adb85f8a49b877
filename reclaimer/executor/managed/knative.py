"""Managed stop for Knative/Serverless mode on KServe < 0.15.1: scale-to-zero.

Every change to the Knative Service is overwritten by KServe's ksvc reconciler; the
strongest change it keeps is ``minReplicas: 0`` on each component, which it turns into
``autoscaling.knative.dev/min-scale: "0"`` itself. That frees the GPU while idle but a
request wakes the service, and the Event and condition say so (docs/managed-stop.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context, Workload, saved_restore_info, write_condition
from reclaimer.executor.managed.raw import unavailable
from reclaimer.kube.ports import Obj
from reclaimer.model import Action

NAME = "managed-knative"
STOPPED_MESSAGE = ("scale-to-zero (managed, Knative; not a hard stop): minReplicas set to 0, "
                   "Knative removes the pods after its idle grace period and a request "
                   "starts them again")
STARTED_MESSAGE = "started (managed, Knative): minReplicas restored"
REVISION_LABEL = "serving.knative.dev/revision"
COMPONENT_LABEL = "component"


class ManagedKnative:
    name = NAME
    reads_deployments = True

    def stop(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        ref, uid = st.ref_of(obj), st.uid_of(obj)
        spec = obj.get("spec") or {}
        comps = st.components(obj)
        saved = ctx.ledger.load_restore_info(ref, uid)
        resuming = (saved is not None and saved.get("strategy") == NAME
                    and all(spec[c].get("minReplicas") == 0 for c in comps))
        if not resuming:
            info = {"strategy": NAME,
                    "minReplicas": {c: spec[c].get("minReplicas") for c in comps}}
            ctx.ledger.save_restore_info(ref, uid, info, at=at)
        if not all(spec[c].get("minReplicas") == 0 for c in comps):
            body = {"metadata": {"resourceVersion": st.resource_version(obj)},
                    "spec": {c: {"minReplicas": 0} for c in comps}}
            obj = ctx.call(lambda: ctx.cluster.patch_isvc(ref, body))
        write_condition(ctx, obj, stopped=True, message=STOPPED_MESSAGE, at=at)
        return STOPPED_MESSAGE

    def start(self, ctx: Context, obj: Obj, *, at: datetime) -> str:
        ref = st.ref_of(obj)
        saved = saved_restore_info(ctx, obj, strategy=NAME, restores="minReplicas")
        wanted = saved.get("minReplicas") or {}
        body = {"metadata": {"resourceVersion": st.resource_version(obj)},
                "spec": {c: {"minReplicas": wanted.get(c)} for c in st.components(obj)}}
        obj = ctx.call(lambda: ctx.cluster.patch_isvc(ref, body))
        write_condition(ctx, obj, stopped=False, message=STARTED_MESSAGE, at=at)
        return STARTED_MESSAGE

    def refusal(self, obj: Obj, *, action: Action) -> str | None:
        return None

    def restore_before(self, obj: Obj, *, action: Action) -> Mapping[str, Any] | None:
        """None: the stop saves its own, which needs more than the object."""
        return None

    def still_stopped(self, obj: Obj) -> bool:
        spec = obj.get("spec") or {}
        return all(spec[c].get("minReplicas") == 0 for c in st.components(obj))

    def freed_gpus(self, ctx: Context, obj: Obj) -> int | None:
        return None

    def waiting_for(self, obj: Obj, *, action: Action, workload: Workload) -> str | None:
        if action is Action.STOP:
            return None if workload.pods == 0 else f"{workload.pods} pod(s) still present"
        if workload.unread is not None:
            return f"component Deployments not read: {workload.unread}"
        if self.still_stopped(obj):  # minReplicas 0 as saved: nothing is started
            return None if st.is_true(obj, st.READY) else "Ready is not True"
        return _not_started(workload.deployments)


def _not_started(deployments: tuple[Obj, ...]) -> str | None:
    """By the newest revision's Deployment of each component, never by ``Ready``: a
    revision scaled to zero stays Ready (the activator serves it), so right after the
    start ``Ready=True`` is the stale word of the stopped service. Until KServe has made
    the new revision, the newest is the stopped one, at 0: not started."""
    newest: dict[str, tuple[str, Obj]] = {}
    for deployment in deployments:
        labels = (deployment.get("metadata") or {}).get("labels") or {}
        revision = str(labels.get(REVISION_LABEL) or "")
        component = str(labels.get(COMPONENT_LABEL) or "")
        if revision and (component not in newest or revision > newest[component][0]):
            newest[component] = (revision, deployment)
    if not newest:
        return "no revision Deployment exists"
    waiting = [f"revision {revision}: {why}" for revision, d in newest.values()
               if (why := unavailable(d))]
    return "; ".join(waiting) or None
