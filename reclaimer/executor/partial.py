"""A managed stop begun and left unfinished, whose decision is gone: put back.

The stop's class change goes first (`managed.raw`), so a stop interrupted for good (its
process killed, its transient failure's row closed because the decision changed) can
leave the service half-stopped: HPA gone, some Deployments at 0. Its row then says
``abandoned``, which must be true: what the stop changed is put back from the saved
restore information, and the row says what was put back; when that fails, the row is
``failed`` and says the service is PARTIALLY STOPPED, with a ``ReclaimFailed`` Event.
That is for a permanent failure only (DESIGN §5): a transient one (a 409 storm past the
put-back's own attempts, a 5xx, the API server away, also while reading the service)
raises `Transient`, the row stays pending, and the caller's next pass tries again (the
fields already put back stay saved, `putback.ROLLING_BACK`), rather than a terminal row
over a service half-stopped that nobody puts back.
A ModelMesh stop's mark is closed (no other stop counts the service as stopped), and a
runtime it scaled to 0 is scaled back (`modelmesh.undo_stop`).

A stop that failed for good and whose putting back was held up (`putback.ROLLING_BACK`)
is closed the same way when a new stop is decided: the new decision acts only once the
old transition is settled, so the rollback is finished and recorded on the old row
(``failed``: the stop did fail) first, and the new stop then starts from what was put
back (docs/design.md §5). When putting back fails, the rollback is dropped with the
row that owned it, and the new stop finishes the stop from the saved restore
information: never a half-stopped service, never another decision's failure recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reclaimer.errors import ClusterError, NotFound, Refused, Transient
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context
from reclaimer.executor.managed import modelmesh, putback, raw
from reclaimer.kube.events import RECLAIM_FAILED
from reclaimer.kube.ports import Obj
from reclaimer.model import ServiceRef


@dataclass(frozen=True)
class Closed:
    failed: bool
    error: str


def close_stop(ctx: Context, record_id: int, ref: ServiceRef, *, why: str,
               at: datetime, stopping: str | None = None) -> Closed:
    """Close a stop's planned row that no decision takes again, putting back what its
    stop began (nothing, for a stop that never wrote or is not a managed one). With a
    new stop decided (``stopping``: its ISVC's uid), only a rollback in progress is put
    back: a stop merely begun is finished by the new decision instead. When the service
    cannot be read, a rollback in progress is dropped with its row, so the new decision
    finishes the stop and never takes the old failure for its own. Without a new stop,
    a transient failure raises `Transient`: the row is not closed."""
    try:
        obj = ctx.call(lambda: ctx.cluster.get_isvc(ref))
    except NotFound:
        return _abandoned(ctx, record_id, at=at, error=why)
    except ClusterError as exc:
        if stopping is None and isinstance(exc, Transient):
            raise
        return _unread(ctx, record_id, ref, why=why, exc=exc, at=at, stopping=stopping)
    return _close(ctx, record_id, obj, why=why, at=at, stopping=stopping)


def _close(ctx: Context, record_id: int, obj: Obj, *, why: str, at: datetime,
           stopping: str | None) -> Closed:
    ref = st.ref_of(obj)
    if modelmesh.mark_of(ctx, obj) is not None:
        return _runtime_stop(ctx, record_id, obj, why=why, at=at, stopping=stopping)
    failed = raw.rolling_back(ctx, obj)
    if failed is None and (stopping is not None or not (
            raw.begun(ctx, obj) or raw.put_back_unmarked(ctx, obj))):
        return _abandoned(ctx, record_id, at=at, error=why)
    if failed is None and (newer := _newer_stop(ctx, record_id, ref)) is not None:
        return _abandoned(ctx, record_id, at=at, error=(
            f"{why}; the stop of row {newer} holds the service now (it went on from the "
            "saved restore information): nothing put back"))
    try:
        done = putback.undo_stop(ctx, obj, at=at)
    except (ClusterError, Refused) as exc:
        if stopping is None and isinstance(exc, Transient):
            raise  # the next pass carries on putting back
        raw.drop_rollback(ctx, obj, at=at)
        return _failed(ctx, record_id, ref, st.uid_of(obj), at=at, error=(
            f"{why}; putting back what its stop began failed ({exc}): the service is "
            f"PARTIALLY STOPPED; `reclaimer start {ref}` restores it"))
    if failed is not None:
        return _failed(ctx, record_id, ref, st.uid_of(obj), at=at, error=f"{why}; {done}")
    return _abandoned(ctx, record_id, at=at, error=f"{why}; {done}")


def _unread(ctx: Context, record_id: int, ref: ServiceRef, *, why: str,  # noqa: PLR0913 - the row, its reason and what failed
            exc: ClusterError, at: datetime, stopping: str | None) -> Closed:
    """The service could not be read: a rollback in progress is dropped with its row
    (``failed``), so no later stop takes the old failure for its own; with a new stop
    decided (``stopping``), that stop finishes the stop. Else the row says how to
    restore a stop that may have begun."""
    uid = stopping if stopping is not None else _uid_of(ctx, record_id)
    failed = None if uid is None else putback.forget_rollback(ctx, ref, uid, at=at)
    if uid is not None and failed is not None:
        then = ("the stop decided now finishes the stop from the saved restore information"
                if stopping is not None else f"the service may be PARTIALLY STOPPED; "
                f"`reclaimer start {ref}` restores it")
        return _failed(ctx, record_id, ref, uid, at=at, error=(
            f"{why}; the stop failed ({failed}) and the service could not be read to "
            f"put it back ({exc}): {then}"))
    return _abandoned(ctx, record_id, at=at, error=(
        f"{why}; whether a managed stop had begun could not be read ({exc}): if the "
        f"service shows autoscalerClass external, `reclaimer start {ref}` restores it"))


def _newer_stop(ctx: Context, record_id: int, ref: ServiceRef) -> int | None:
    """A stop recorded after this row and in force (a person's `reclaimer stop` made
    while this row's putting back was retried): it finished the stop from the same
    restore information, so putting back now would undo a person's stop. One query,
    made only when there is something to put back."""
    return next((r.id for r in ctx.ledger.stops_in_force()
                 if r.transition.ref == ref and r.id > record_id), None)


def _uid_of(ctx: Context, record_id: int) -> str | None:
    """The ISVC uid of a planned row (read only when the service cannot be)."""
    return next((r.transition.uid for r in ctx.ledger.pending() if r.id == record_id), None)


def _runtime_stop(ctx: Context, record_id: int, obj: Obj, *, why: str, at: datetime,
                  stopping: str | None) -> Closed:
    """A ModelMesh stop: a new stop decided finishes it (its mark stays); otherwise its
    mark is closed and a runtime it scaled to 0 is put back, with every stop on it. A
    transient failure raises `Transient` (the row is not closed, its mark stays)."""
    if stopping is not None:
        return _abandoned(ctx, record_id, at=at, error=why)
    ref = st.ref_of(obj)
    try:
        done = modelmesh.undo_stop(ctx, obj, at=at)
    except (ClusterError, Refused) as exc:
        if isinstance(exc, Transient):
            raise  # the next pass puts the runtime back, as for a Standard stop
        return _failed(ctx, record_id, ref, st.uid_of(obj), at=at, error=(
            f"{why}; putting its ServingRuntime back failed ({exc}): the runtime may "
            f"still be at 0; `reclaimer start {ref}` restores it"))
    return _abandoned(ctx, record_id, at=at,
                      error=why if done is None else f"{why}; rolled back: {done}")


def _abandoned(ctx: Context, record_id: int, *, at: datetime, error: str) -> Closed:
    ctx.ledger.mark_abandoned(record_id, at=at, error=error)
    return Closed(failed=False, error=error)


def _failed(ctx: Context, record_id: int, ref: ServiceRef, uid: str, *,
            at: datetime, error: str) -> Closed:
    ctx.ledger.mark_failed(record_id, at=at, error=error)
    ctx.cluster.emit_event(ref, uid, reason=RECLAIM_FAILED, message=f"stop: {error}",
                           warning=True, at=at)
    return Closed(failed=True, error=error)
