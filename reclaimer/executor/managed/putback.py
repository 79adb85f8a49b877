"""Putting back a managed Standard stop that did not finish, and its saved marks.

A stop writes three kinds of field (`writes`): the ISVC's ``autoscalerClass`` (to ``external``),
each paused ScaledObject's ``paused-replicas`` (to ``"0"``) and each component
Deployment's replicas (to 0). Putting back a stop that failed, or that its process left
midway, is a compare-and-set per field (`cas`): a field is written back only while it still holds
the value the stop wrote; one that holds the saved value was put back already (by this
process, or by one that died putting back); one that holds anything else was changed by
someone since, and is left as it is and named. The fields a stop changed are saved with
the restore information (`ROLLING_BACK`) before the first write back, so a process that
takes over after a kill says every value put back, whoever wrote it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reclaimer import keda
from reclaimer.errors import (
    ClusterError,
    PartiallyApplied,
    Refused,
    RolledBack,
    Transient,
)
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context
from reclaimer.executor.managed.cas import GONE, Now, PutBack, account, write_back
from reclaimer.executor.managed.writes import EXTERNAL, class_back, name_of
from reclaimer.kube.ports import Obj
from reclaimer.model import ServiceRef

log = logging.getLogger("reclaimer.executor")
NAME = "managed-raw"
CLASS = "autoscalerClass"
RESTORED = "restoredAt"
"""Set in the saved restore information once a start or an undo has put it back: from
then on it is an earlier stop's, never the mark of a stop in progress."""
ROLLING_BACK = "rollingBack"
"""Set in the saved restore information while a stop is being put back: the error that
failed it and ``changed``, the fields it changed (saved before the first write back).
A retry carries on putting back, and never does the stop's writes again."""


SCALED = "scaled"
"""The component Deployments a stop scales to 0, each with the replicas it had: saved
before the write, so a start or a rollback puts back only what reclaimer changed."""


def ours(saved: Mapping[str, Any]) -> dict[str, int]:
    """The Deployments the stop scaled, with their replicas before it. Restore
    information saved before `SCALED` existed: every Deployment saved with replicas."""
    if SCALED in saved:
        return {str(name): int(n) for name, n in (saved[SCALED] or {}).items()}
    return {str(name): int(n) for name, n in (saved.get("replicas") or {}).items() if n}


def live(saved: Mapping[str, Any] | None) -> bool:
    """Restore information of a managed Standard stop not yet put back."""
    return saved is not None and saved.get("strategy") == NAME and RESTORED not in saved


def used(ctx: Context, obj: Obj, saved: Mapping[str, Any], *, at: datetime) -> None:
    """After the class ``external`` of a stop has been put back, a later ``external``
    (a person running the replicas by hand) must not resume, finish or undo with it."""
    ctx.ledger.save_restore_info(st.ref_of(obj), st.uid_of(obj),
                                 {**saved, RESTORED: at.isoformat()}, at=at)


def _fields(saved: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Each field a stop writes: (the value it writes, the value saved before)."""
    fields: dict[str, tuple[Any, Any]] = {
        f"ScaledObject/{name}": (keda.PAUSED_TO_ZERO, prior)
        for name, prior in (saved.get("scaledObjects") or {}).items()}
    fields.update({f"Deployment/{name}": (0, prior) for name, prior in ours(saved).items()})
    fields[CLASS] = (EXTERNAL, saved.get(CLASS))
    return fields


def _read(ctx: Context, ref: ServiceRef, saved: Mapping[str, Any]) -> Now:
    obj = ctx.call(lambda: ctx.cluster.get_isvc(ref))
    scaled = ({keda.name_of(so): so for so in ctx.call(
        lambda: ctx.cluster.list_scalers(ref.namespace)).scaled_objects}
        if saved.get("scaledObjects") else {})
    deployments = {name_of(d): d for d in ctx.call(
        lambda: ctx.cluster.component_deployments(ref))}
    return Now(obj, scaled, deployments)


def _changed(saved: Mapping[str, Any], now: Now) -> list[str]:
    """Fields the stop changed: the saved value differs from what the stop writes and
    the field no longer holds the saved value (a child gone needs nothing)."""
    return [name for name, (wrote, prior) in _fields(saved).items()
            if prior != wrote and not _gone(now, name) and now.value(name) != prior]


def _gone(now: Now, name: str) -> bool:
    kind, _, child = name.partition("/")
    return ((kind == "ScaledObject" and child not in now.scaled_objects)
            or (kind == "Deployment" and child not in now.deployments))


def put_back(ctx: Context, ref: ServiceRef, uid: str, saved: Mapping[str, Any], *,
             at: datetime, result: PutBack) -> None:
    """Put back, field by field with compare-and-set, what the stop changed; ``result``
    gets each value as it is back. In the reverse order of a stop: the class, the mark
    of a stop begun, last. Raises `ClusterError` when a write fails."""
    now = _read(ctx, ref, saved)
    rolling = dict(saved.get(ROLLING_BACK) or {})
    if "changed" not in rolling:  # before the first write back, for whoever takes over
        rolling["changed"] = _changed(saved, now)
        saved = {**saved, ROLLING_BACK: rolling}
        ctx.ledger.save_restore_info(ref, uid, saved, at=at)
    fields = _fields(saved)
    obj = now.obj
    for name in rolling["changed"]:
        wrote, prior = fields.get(name, (None, None))
        if name not in fields or _gone(now, name):
            continue
        current = now.value(name)
        if name == CLASS and current == wrote:
            obj, current = class_back(ctx, obj, prior)
        elif current == wrote:
            current = write_back(ctx, now, name, prior)
        if current is not GONE:
            account(result, name, current=current, prior=prior)
    used(ctx, obj, saved, at=at)


def forget_rollback(ctx: Context, ref: ServiceRef, uid: str, *, at: datetime) -> str | None:
    """Drop the mark of a failed stop still being put back (its row is closed); the
    error it carried, or None when there was none."""
    saved = ctx.ledger.load_restore_info(ref, uid)
    failed = (saved or {}).get(ROLLING_BACK) or {}
    if saved is None or not live(saved) or "error" not in failed:
        return None
    ctx.ledger.save_restore_info(ref, uid, {k: v for k, v in saved.items()
                                            if k != ROLLING_BACK}, at=at)
    return str(failed["error"])


def undo_stop(ctx: Context, obj: Obj, *, at: datetime) -> str:
    """Put back a stop begun and not finished, from its saved restore information;
    what was put back and what was left, in words. Raises `ClusterError` when that
    fails (the fields it changed stay saved for whoever tries again)."""
    ref, uid = st.ref_of(obj), st.uid_of(obj)
    saved = ctx.ledger.load_restore_info(ref, uid)
    if saved is None or not live(saved):
        raise Refused(f"no restore information saved for a managed stop of {ref}")
    result = PutBack()
    put_back(ctx, ref, uid, saved, at=at, result=result)
    failed = (saved.get(ROLLING_BACK) or {}).get("error")
    return result.words() if failed is None else f"the stop failed ({failed}); {result.words()}"


def rolled_back(ctx: Context, service: tuple[ServiceRef, str], saved: Mapping[str, Any],
                failed: str, *, status: int | None, at: datetime) -> ClusterError:
    """The error to record for a stop that failed permanently midway: what failed, and
    what was put back, or, when putting back failed too, that the service is partially
    stopped and how to restore it (the restore information stays saved). Putting back
    that fails transiently (a 409 storm, the API server away) is the transient error:
    the row stays planned, the restore information says `ROLLING_BACK`, and the retry
    of the decision carries on putting back."""
    ref, uid = service
    if ROLLING_BACK not in saved:  # a process killed while putting back resumes it too
        saved = {**saved, ROLLING_BACK: {"error": failed, "status": status}}
        ctx.ledger.save_restore_info(ref, uid, saved, at=at)
    if (not_now := ctx.may_write()) is not None:
        log.warning("%s: stop failed (%s); not put back now: %s", ref, failed, not_now)
        return Transient(f"{failed}; not put back now ({not_now}): the next leader's "
                         f"retry of the decision puts back")
    result = PutBack()
    try:
        put_back(ctx, ref, uid, saved, at=at, result=result)
    except Transient as undo:
        log.warning("%s: stop failed (%s); putting back failed for now: %s", ref, failed, undo)
        return undo
    except ClusterError as undo:  # failed for good: the next decision may stop afresh
        now = ctx.ledger.load_restore_info(ref, uid) or saved
        ctx.ledger.save_restore_info(ref, uid, {k: v for k, v in now.items()
                                                if k != ROLLING_BACK}, at=at)
        return PartiallyApplied(
            f"{failed}; putting back what the stop changed failed too ({type(undo).__name__}: "
            f"{undo}; put back before that: {', '.join(result.done) or 'nothing'}): the "
            f"service is PARTIALLY STOPPED (autoscalerClass external and some component "
            f"Deployments may be at 0); `reclaimer start {ref}` restores it from the "
            f"saved restore information", status=status)
    return RolledBack(f"{failed}; {result.words()}", status=status)
