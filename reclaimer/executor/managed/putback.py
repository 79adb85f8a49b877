"""The writes of a managed Standard stop, and putting back one that did not finish.

A stop writes three kinds of field: the ISVC's ``autoscalerClass`` (to ``external``),
each paused ScaledObject's ``paused-replicas`` (to ``"0"``) and each component
Deployment's replicas (to 0). Putting back a stop that failed, or that its process left
midway, is a compare-and-set per field: a field is written back only while it still holds
the value the stop wrote; one that holds the saved value was put back already (by this
process, or by one that died putting back); one that holds anything else was changed by
someone since, and is left as it is and named. The fields a stop changed are saved with
the restore information (`ROLLING_BACK`) before the first write back, so a process that
takes over after a kill says every value put back, whoever wrote it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
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
from reclaimer.executor.base import Context
from reclaimer.kube.ports import Obj
from reclaimer.model import ServiceRef

log = logging.getLogger("reclaimer.executor")
NAME = "managed-raw"
EXTERNAL = "external"
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
LEFT = "left as found, changed by someone since the stop"


def ours(saved: Mapping[str, Any]) -> dict[str, int]:
    """The Deployments the stop scaled, with their replicas before it. Restore
    information saved before `SCALED` existed: every Deployment saved with replicas."""
    if SCALED in saved:
        return {str(name): int(n) for name, n in (saved[SCALED] or {}).items()}
    return {str(name): int(n) for name, n in (saved.get("replicas") or {}).items() if n}


def replicas_of(deployment: Obj) -> int:
    return int((deployment.get("spec") or {}).get("replicas") or 0)


def name_of(deployment: Obj) -> str:
    return str(deployment["metadata"]["name"])


def live(saved: Mapping[str, Any] | None) -> bool:
    """Restore information of a managed Standard stop not yet put back."""
    return saved is not None and saved.get("strategy") == NAME and RESTORED not in saved


def used(ctx: Context, obj: Obj, saved: Mapping[str, Any], *, at: datetime) -> None:
    """After the class ``external`` of a stop has been put back, a later ``external``
    (a person running the replicas by hand) must not resume, finish or undo with it."""
    ctx.ledger.save_restore_info(st.ref_of(obj), st.uid_of(obj),
                                 {**saved, RESTORED: at.isoformat()}, at=at)


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


@dataclass
class PutBack:
    """In words: each value back as saved (whoever wrote it), each left as found."""

    done: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)

    def words(self) -> str:
        said = f"rolled back: {', '.join(self.done) or 'nothing was changed'}"
        if self.left:
            said += f"; {LEFT}: {', '.join(self.left)}"
        return said


def _fields(saved: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Each field a stop writes: (the value it writes, the value saved before)."""
    fields: dict[str, tuple[Any, Any]] = {
        f"ScaledObject/{name}": (keda.PAUSED_TO_ZERO, prior)
        for name, prior in (saved.get("scaledObjects") or {}).items()}
    fields.update({f"Deployment/{name}": (0, prior) for name, prior in ours(saved).items()})
    fields[CLASS] = (EXTERNAL, saved.get(CLASS))
    return fields


@dataclass(frozen=True)
class _Now:
    obj: Obj
    scaled_objects: dict[str, Obj]
    deployments: dict[str, Obj]

    def value(self, name: str) -> Any:
        kind, _, child = name.partition("/")
        if kind == "ScaledObject":
            so = self.scaled_objects.get(child)
            return None if so is None else keda.paused_replicas(so)
        if kind == "Deployment":
            found = self.deployments.get(child)
            return None if found is None else replicas_of(found)
        return st.annotations_of(self.obj).get(st.AUTOSCALER_CLASS)


def _read(ctx: Context, ref: ServiceRef, saved: Mapping[str, Any]) -> _Now:
    obj = ctx.call(lambda: ctx.cluster.get_isvc(ref))
    scaled = ({keda.name_of(so): so for so in ctx.call(
        lambda: ctx.cluster.list_scalers(ref.namespace)).scaled_objects}
        if saved.get("scaledObjects") else {})
    deployments = {name_of(d): d for d in ctx.call(
        lambda: ctx.cluster.component_deployments(ref))}
    return _Now(obj, scaled, deployments)


def _changed(saved: Mapping[str, Any], now: _Now) -> list[str]:
    """Fields the stop changed: the saved value differs from what the stop writes and
    the field no longer holds the saved value (a child gone needs nothing)."""
    return [name for name, (wrote, prior) in _fields(saved).items()
            if prior != wrote and not _gone(now, name) and now.value(name) != prior]


def _gone(now: _Now, name: str) -> bool:
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
            current = _write_back(ctx, now, name, prior)
        if current is not GONE:
            _account(result, name, current=current, prior=prior)
    used(ctx, obj, saved, at=at)


def replicas_back(ctx: Context, obj: Obj, mine: Mapping[str, int], result: PutBack) -> None:
    """A start's replicas: each Deployment the stop scaled (``mine``) is scaled back
    only while it holds the stop's 0, with its resourceVersion as read (`_write_back`);
    one a person set to another value stays, named in ``result.left``; one already back
    (a retried start) needs nothing."""
    if not mine:
        return
    ref = st.ref_of(obj)
    now = _Now(obj, {}, {name_of(d): d for d in ctx.call(
        lambda: ctx.cluster.component_deployments(ref))})
    for name, prior in mine.items():
        found = now.deployments.get(name)
        if found is None or replicas_of(found) == prior:
            continue
        current: Any = replicas_of(found)
        if current == 0:
            current = _write_back(ctx, now, f"Deployment/{name}", prior, missing_ok=False)
        if current is not GONE:
            _account(result, f"Deployment/{name}", current=current, prior=prior)


GONE = object()
"""What `_write_back` returns for a child deleted between the read and the write:
nothing to put back, nothing left as found."""


def _write_back(ctx: Context, now: _Now, name: str, prior: Any, *,
                missing_ok: bool = True) -> Any:
    """Write the saved value back; returns the field's value after it (`GONE` for a
    child deleted meanwhile). The write has the child's resourceVersion as read as a
    precondition: on a 409 it is read again and written only while it still holds the
    value the stop wrote (the deployment controller writes a Deployment's status often,
    so a few attempts); a value someone wrote between our read and our write stays."""
    kind, _, child = name.partition("/")
    found: Obj | None = (now.scaled_objects if kind == "ScaledObject"
                         else now.deployments)[child]
    for attempt in range(1, 4):
        if found is None:
            return GONE
        current = _value_of(kind, found)
        if current != _fields_wrote(kind):
            return current
        try:
            if kind != "ScaledObject":
                scale(ctx, found, int(prior), as_read=True)
            elif not pause(ctx, found, prior, stopping=False, as_read=True):
                return GONE  # deleted before our write: nothing to pause
            return prior
        except ChildMissing:
            if not missing_ok:  # a start needs it: the start fails (permanent)
                raise
            return GONE
        except Conflict:
            if attempt == 3:
                raise
            found = _read_again(ctx, now, kind, child)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _fields_wrote(kind: str) -> Any:
    return keda.PAUSED_TO_ZERO if kind == "ScaledObject" else 0


def _value_of(kind: str, child: Obj) -> Any:
    return keda.paused_replicas(child) if kind == "ScaledObject" else replicas_of(child)


def _read_again(ctx: Context, now: _Now, kind: str, child: str) -> Obj | None:
    ref = st.ref_of(now.obj)
    if kind == "ScaledObject":
        return {keda.name_of(so): so for so in ctx.call(
            lambda: ctx.cluster.list_scalers(ref.namespace)).scaled_objects}.get(child)
    return {name_of(d): d for d in ctx.call(
        lambda: ctx.cluster.component_deployments(ref))}.get(child)


def _account(result: PutBack, name: str, *, current: Any, prior: Any) -> None:
    kind, _, child = name.partition("/")
    if current == prior:
        result.done.append(
            f"KEDA ScaledObject {child} pause set back to {prior!r}" if kind == "ScaledObject"
            else f"Deployment {child} scaled back to {prior}" if kind == "Deployment"
            else f"autoscalerClass set back to {prior!r}" if prior is not None
            else "autoscalerClass removed, as it was")
        return
    what = {"ScaledObject": f"KEDA ScaledObject {child} pause",
            "Deployment": f"Deployment {child} replicas"}.get(kind, "autoscalerClass")
    result.left.append(f"{what} {current!r} (saved {prior!r})")


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
