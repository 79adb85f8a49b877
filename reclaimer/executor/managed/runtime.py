"""ModelMesh runtime-level reclaim: the ServingRuntime's shared Deployment to 0 and back.

A ModelMesh InferenceService has no pods of its own: modelmesh-serving serves every
model of a ServingRuntime from one Deployment, ``modelmesh-serving-<runtime>``
(``reference/kserve_stop.md`` §2.5). Its GPUs come back only when that Deployment is at
0, so the runtime is scaled down only once every InferenceService it serves is stopped
by reclaimer, and scaled back before the first of them starts (docs/design.md §5).

The lever is the ServingRuntime's ``spec.replicas``, not the Deployment: the
ServingRuntime controller owns the Deployment and writes ``replicas`` from
``spec.replicas`` (or ``podsPerRuntime``) on every reconcile, so a Deployment scaled
directly is scaled back; ``spec.replicas: 0`` is honoured as its own scale to zero
(``controllers/servingruntime_controller.go``, ``determineReplicas``, at 9c7a2b7).

The runtime's restore information is a ledger restore row under a key no
InferenceService can have (`runtime_ref`: ``servingruntime/<name>`` is not a valid
object name) and the ServingRuntime's uid, so a re-created runtime never gets another's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from reclaimer.errors import NotFound, Refused, Transient
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context
from reclaimer.kserve import runtime_deployment, runtime_of
from reclaimer.kube.isvc import runtime_pod_gpus
from reclaimer.kube.ports import Obj
from reclaimer.model import DeploymentMode, ServiceRef

STRATEGY = "modelmesh-runtime"
RESTORED = "restoredAt"
MEMBER = "modelmesh"
"""The strategy named in each stopped InferenceService's own restore information."""


def runtime_ref(namespace: str, runtime: str) -> ServiceRef:
    return ServiceRef(namespace, f"servingruntime/{runtime}")


def live(saved: Mapping[str, Any] | None, *, strategy: str) -> bool:
    """Restore information of that strategy not yet put back (or given up)."""
    return saved is not None and saved.get("strategy") == strategy and RESTORED not in saved


def users(obj: Obj, isvcs: Iterable[Obj], *, runtime: str,
          default_mode: DeploymentMode) -> list[Obj]:
    """The other ModelMesh InferenceServices that ``runtime`` may serve: those naming it,
    and those naming none (modelmesh-serving picks their runtime by model format, and
    reclaimer cannot tell which: fail safe, they count as users)."""
    me = st.ref_of(obj)
    return [other for other in isvcs
            if st.ref_of(other) != me
            and st.mode_of(other, default=default_mode) is DeploymentMode.MODELMESH
            and runtime_of(other) in (runtime, None)]


def sharing_refusal(runtime: str, running: Iterable[ServiceRef]) -> str | None:
    """Why the runtime cannot go to 0: the services it still serves, or None. Pure:
    the executor and ``reclaimer plan`` give the same words."""
    names = sorted(str(ref) for ref in running)
    if not names:
        return None
    return f"refused: runtime {runtime} also serves {', '.join(names)}"


def plan_refusals(stopping: Collection[ServiceRef], isvcs: Sequence[Obj], *,
                  default_mode: DeploymentMode) -> dict[ServiceRef, str]:
    """Offline (`reclaimer plan`, no ledger): each ModelMesh stop whose runtime another
    user of its namespace still needs, with the executor's words. Running is what the
    objects show: not reclaimer's Stopped condition, and not stopped in the same plan."""
    by_ref = {st.ref_of(obj): obj for obj in isvcs}
    found = {}
    for ref in stopping:
        obj = by_ref.get(ref)
        runtime = None if obj is None else runtime_of(obj)
        if obj is None or runtime is None or st.mode_of(
                obj, default=default_mode) is not DeploymentMode.MODELMESH:
            continue
        neighbours = [o for o in isvcs if st.ref_of(o).namespace == ref.namespace]
        running = [st.ref_of(other) for other in users(obj, neighbours, runtime=runtime,
                                                       default_mode=default_mode)
                   if st.ref_of(other) not in stopping and not st.own_stopped(other)]
        if (why := sharing_refusal(runtime, running)) is not None:
            found[ref] = why
    return found


def runtime_of_ref(obj: Obj) -> str:
    """The runtime named by a ModelMesh ISVC, or a refusal (it may share any)."""
    runtime = runtime_of(obj)
    if runtime is None:
        raise Refused(f"refused: the ModelMesh InferenceService {st.ref_of(obj)} names no "
                      "ServingRuntime "
                      "(spec.predictor.model.runtime): modelmesh-serving picks one by "
                      "model format, so reclaimer cannot tell which runtime to scale")
    return runtime


def serving_runtime(ctx: Context, namespace: str, runtime: str) -> Obj:
    try:
        return ctx.call(lambda: ctx.cluster.get_serving_runtime(namespace, runtime))
    except NotFound as exc:
        raise Refused(f"refused: ServingRuntime {namespace}/{runtime} not found (a "
                      "ClusterServingRuntime serves every namespace and is never "
                      "scaled by reclaimer)") from exc


def _replicas(runtime: Obj) -> int | None:
    value = (runtime.get("spec") or {}).get("replicas")
    return int(value) if isinstance(value, int) else None


def scaled_down(ctx: Context, namespace: str, runtime: str) -> bool:
    """The runtime is at ``spec.replicas`` 0 under reclaimer's live restore information:
    its GPUs are free because of a stop of reclaimer's. A runtime that is gone is not."""
    try:
        found = serving_runtime(ctx, namespace, runtime)
    except Refused:
        return False
    saved = ctx.ledger.load_restore_info(runtime_ref(namespace, runtime), st.uid_of(found))
    return _replicas(found) == 0 and live(saved, strategy=STRATEGY)


def _gpus(ctx: Context, namespace: str, found: Obj) -> int | None:
    """Per-pod GPUs times the Deployment's replicas now (``spec.replicas`` absent means
    modelmesh-serving's ``podsPerRuntime``, so the Deployment says how many)."""
    per_pod = runtime_pod_gpus(found)
    if per_pod is None:
        return None
    deployment = runtime_deployment(str(found["metadata"]["name"]))
    workload = ctx.call(lambda: ctx.cluster.runtime_workload(namespace, deployment))
    return per_pod * (workload.replicas or 0)


def freed_gpus(ctx: Context, namespace: str, runtime: str, *, uid: str) -> int | None:
    """What the stop of the InferenceService ``uid`` freed (docs/design.md §5): the
    runtime's GPUs if its stop is the one that scaled the runtime to 0, else 0 (the
    runtime served on without it). So `report` counts the runtime once."""
    found = serving_runtime(ctx, namespace, runtime)
    saved = ctx.ledger.load_restore_info(runtime_ref(namespace, runtime), st.uid_of(found))
    if not live(saved, strategy=STRATEGY) or (saved or {}).get("by") != uid:
        return 0
    gpus = (saved or {}).get("gpus")
    return gpus if isinstance(gpus, int) else None


def _may_write(ctx: Context, runtime: str) -> None:
    """The lease guard again right before the runtime's write: it changes what every
    user of the runtime gets, and it may come long after the chunk's check (a start
    that wakes many users, a pool of slow calls). Transient: the row stays for the
    next leader."""
    if (not_now := ctx.may_write()) is not None:
        raise Transient(f"ServingRuntime {runtime} not written now: {not_now}")


def scale_down(ctx: Context, namespace: str, runtime: str, *, by: str, at: datetime) -> str:
    """Save ``spec.replicas`` (absent included), then set it to 0. Idempotent: a retry
    after a crash between saving and scaling finds the value not yet 0 and saves it
    again; one after scaling finds 0 under live restore information and writes nothing.
    Saved with it: the GPUs its Deployment holds now and ``by``, the uid of the
    InferenceService whose stop scales it (`freed_gpus`)."""
    found = serving_runtime(ctx, namespace, runtime)
    ref, uid = runtime_ref(namespace, runtime), st.uid_of(found)
    saved = ctx.ledger.load_restore_info(ref, uid)
    current = _replicas(found)
    if current == 0 and live(saved, strategy=STRATEGY):
        return f"ServingRuntime {runtime} already at spec.replicas 0"
    if current == 0:
        return f"ServingRuntime {runtime} was already at spec.replicas 0 (not by reclaimer)"
    ctx.ledger.save_restore_info(ref, uid, {"strategy": STRATEGY, "replicas": current,
                                            "gpus": _gpus(ctx, namespace, found), "by": by},
                                 at=at)
    _may_write(ctx, runtime)
    body = {"metadata": {"resourceVersion": st.resource_version(found)},
            "spec": {"replicas": 0}}
    ctx.call(lambda: ctx.cluster.patch_serving_runtime(namespace, runtime, body))
    return f"ServingRuntime {runtime} scaled to spec.replicas 0 (was {current})"


def scale_up(ctx: Context, namespace: str, runtime: str, *, at: datetime) -> str:
    """Put back the saved ``spec.replicas`` when reclaimer's 0 is still there. A value a
    person set meanwhile is theirs: left alone, and the restore information closed."""
    found = serving_runtime(ctx, namespace, runtime)
    ref, uid = runtime_ref(namespace, runtime), st.uid_of(found)
    saved = ctx.ledger.load_restore_info(ref, uid)
    if saved is None or not live(saved, strategy=STRATEGY):
        return f"ServingRuntime {runtime}: no scale-down of reclaimer's to put back"
    current, prior = _replicas(found), saved.get("replicas")
    if current != 0:
        said = (f"already back at {current}" if current == prior
                else f"left at {current}: a person changed it while stopped")
    else:
        _may_write(ctx, runtime)
        body = {"metadata": {"resourceVersion": st.resource_version(found)},
                "spec": {"replicas": prior}}
        ctx.call(lambda: ctx.cluster.patch_serving_runtime(namespace, runtime, body))
        said = f"scaled back to spec.replicas {prior}"
    ctx.ledger.save_restore_info(ref, uid, {**saved, RESTORED: at.isoformat()}, at=at)
    return f"ServingRuntime {runtime} {said}"
