"""A managed Standard stop begun and left unfinished, whose decision is gone: put back.

The stop's class change goes first (`managed.raw`), so a stop interrupted for good (its
process killed, its transient failure's row closed because the decision changed) can
leave the service half-stopped: HPA gone, some Deployments at 0. Its row then says
``abandoned``, which must be true: what the stop changed is put back from the saved
restore information, and the row says what was put back; when that fails, the row is
``failed`` and says the service is PARTIALLY STOPPED, with a ``ReclaimFailed`` Event.

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

from reclaimer.errors import ClusterError, NotFound, Refused
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context
from reclaimer.executor.managed import putback, raw
from reclaimer.kube.events import RECLAIM_FAILED
from reclaimer.model import ServiceRef


@dataclass(frozen=True)
class Closed:
    failed: bool
    error: str


def close_stop(ctx: Context, record_id: int, ref: ServiceRef, *, why: str,
               at: datetime, stopping: bool = False) -> Closed:
    """Close a stop's planned row that no decision takes again, putting back what its
    stop began (nothing, for a stop that never wrote or is not a managed one). With a
    new stop decided (``stopping``), only a rollback in progress is put back: a stop
    merely begun is finished by the new decision instead."""
    try:
        obj = ctx.call(lambda: ctx.cluster.get_isvc(ref))
    except NotFound:
        return _abandoned(ctx, record_id, at=at, error=why)
    except ClusterError as exc:
        return _abandoned(ctx, record_id, at=at, error=(
            f"{why}; whether a managed stop had begun could not be read ({exc}): if the "
            f"service shows autoscalerClass external, `reclaimer start {ref}` restores it"))
    failed = raw.rolling_back(ctx, obj)
    if not raw.begun(ctx, obj) or (stopping and failed is None):
        return _abandoned(ctx, record_id, at=at, error=why)
    try:
        done = putback.undo_stop(ctx, obj, at=at)
    except (ClusterError, Refused) as exc:
        raw.drop_rollback(ctx, obj, at=at)
        return _failed(ctx, record_id, ref, st.uid_of(obj), at=at, error=(
            f"{why}; putting back what its stop began failed ({exc}): the service is "
            f"PARTIALLY STOPPED; `reclaimer start {ref}` restores it"))
    if failed is not None:
        return _failed(ctx, record_id, ref, st.uid_of(obj), at=at, error=f"{why}; {done}")
    return _abandoned(ctx, record_id, at=at, error=f"{why}; {done}")


def _abandoned(ctx: Context, record_id: int, *, at: datetime, error: str) -> Closed:
    ctx.ledger.mark_abandoned(record_id, at=at, error=error)
    return Closed(failed=False, error=error)


def _failed(ctx: Context, record_id: int, ref: ServiceRef, uid: str, *,
            at: datetime, error: str) -> Closed:
    ctx.ledger.mark_failed(record_id, at=at, error=error)
    ctx.cluster.emit_event(ref, uid, reason=RECLAIM_FAILED, message=f"stop: {error}",
                           warning=True, at=at)
    return Closed(failed=True, error=error)
