"""Start-up reconciliation of rows left ``planned`` or ``applied`` by a previous process.

A crash between ``record_planned`` and ``mark_applied`` leaves a planned row whose API
call may or may not have happened. The cluster decides: already in the target state →
the call happened, the row becomes ``applied`` and is verified like any other;
otherwise → ``abandoned``, and the next tick decides afresh (the edge is still open).
Rows already ``applied`` resume verification with a fresh deadline. Services whose
latest recorded transition is a managed stop are held again, so their ``Stopped``
condition stays asserted across restarts.
"""

from __future__ import annotations

from datetime import datetime

from reclaimer.executor import isvc_state as st
from reclaimer.executor.executor import Executor
from reclaimer.executor.managed import knative, raw
from reclaimer.executor.outcome import Awaiting, Outcome, OutcomeKind
from reclaimer.executor.strategy import HANDLERS
from reclaimer.kube.ports import Obj
from reclaimer.ledger.records import RecordState, TransitionRecord
from reclaimer.model import Action

MANAGED_MESSAGES = {raw.NAME: raw.STOPPED_MESSAGE, knative.NAME: knative.STOPPED_MESSAGE}
ABANDON_REASON = "the previous process ended between planned and applied; decided again"


def in_target_state(obj: Obj, action: Action) -> bool:
    """Stopped: the stop annotation, or reclaimer's own Stopped condition (managed)."""
    stopped = st.stop_requested(obj) or st.own_stopped(obj)
    return stopped if action is Action.STOP else not stopped


def recover(executor: Executor, *, at: datetime) -> list[Outcome]:
    """One LIST of ISVCs, then one ledger update per pending row."""
    hold_managed_stops(executor, at=at)
    pending = executor.ledger.pending()
    if not pending:
        return []
    objs = {st.ref_of(o): o for o in executor.cluster.list_isvcs()}
    return [_reconcile(executor, record, objs.get(record.ref), at=at) for record in pending]


def hold_managed_stops(executor: Executor, *, at: datetime) -> int:
    """Re-hold every service whose last recorded transition is a managed stop."""
    held = 0
    for ref, last in executor.ledger.view(at).last_transitions.items():
        if last.action is not Action.STOP or not last.uid:
            continue
        info = executor.ledger.load_restore_info(ref, last.uid) or {}
        strategy = str(info.get("strategy", ""))
        if strategy in MANAGED_MESSAGES:
            executor.followup.hold(ref, strategy=strategy, message=MANAGED_MESSAGES[strategy])
            held += 1
    return held


def _reconcile(executor: Executor, record: TransitionRecord, obj: Obj | None, *,
               at: datetime) -> Outcome:
    ledger = executor.ledger
    present = obj is not None and st.uid_of(obj) == record.uid
    if obj is not None and present and (
            record.state is RecordState.APPLIED or in_target_state(obj, record.action)):
        if record.state is RecordState.PLANNED:
            ledger.mark_applied(record.id, at=at)
        strategy = record.strategy if record.strategy in HANDLERS else "native"
        executor.followup.resume(Awaiting(
            record_id=record.id, ref=record.ref, uid=record.uid, action=record.action,
            strategy=str(strategy), deadline=at, message=f"recovered {record.action.value}"),
            at=at)
        return _outcome(record, OutcomeKind.APPLIED, "already in the target state")
    error = ABANDON_REASON if present else "the InferenceService is gone"
    ledger.mark_abandoned(record.id, at=at, error=error)
    return _outcome(record, OutcomeKind.ABANDONED, error)


def _outcome(record: TransitionRecord, kind: OutcomeKind, message: str) -> Outcome:
    return Outcome(ref=record.ref, action=record.action, kind=kind, record_id=record.id,
                   message=message, strategy=record.strategy)
