"""Reconciliation of rows left ``planned`` or ``applied`` by an earlier term or process.

It runs whenever a process becomes leader (DESIGN §7), and on a later tick of the
term that finds another process's row pending (`service.term.TermKeeper`). A crash between
``record_planned`` and ``mark_applied`` leaves a planned row whose API call may or may
not have happened. The cluster decides, by the row's own strategy: the change is there
(the stop annotation, a managed stop's autoscaler class or minReplicas, whether or not
KServe kept our condition) → the row becomes ``applied`` and is verified like any other;
a managed Standard stop left midway (class changed, Deployments not all at 0) is
neither: `_partial_stop` finishes it through the edge or puts it back; a ModelMesh
stop left after its runtime went to 0 is read by the runtime (`_runtime_stop`: finished,
or put back when another user of the runtime runs);
it is not → a row of an edge keeps its claim and is kept like a transient failure's, so
the edge's next decision reuses it (one row per edge, whoever wrote it first) and a
decision not taken again closes it ``abandoned`` (`Executor.settle_retries`); a row
without an edge → ``abandoned``, and the next tick decides afresh.
Rows already ``applied`` resume verification with a fresh deadline.

Nothing is settled once the executor's guard says this process may not write (SIGTERM,
a lease past its margin; asked again before each row, after the reads): the next leader
recovers them. Rows another process may still
be writing are left alone: a row of another actor this process first saw pending
within ``in_flight`` before now (a `reclaimer stop` between its PATCH and its record, a
holder whose lease has not yet expired) or within the wait its writer recorded (a
`reclaimer start` verifying its own row), and this process's own rows kept for a retry
or awaiting verification. A later pass settles them (`Recovered.left` counts them).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reclaimer.errors import ClusterError, NotFound, Transient, is_transient
from reclaimer.executor import isvc_state as st
from reclaimer.executor.executor import Executor
from reclaimer.executor.managed import modelmesh, raw
from reclaimer.executor.memory import ServiceKey
from reclaimer.executor.outcome import Awaiting, Outcome, OutcomeKind
from reclaimer.executor.partial import close_stop
from reclaimer.executor.strategy import HANDLERS
from reclaimer.kube.events import RECLAIM_FAILED
from reclaimer.kube.ports import Obj
from reclaimer.ledger.records import RecordState, TransitionRecord, writer_window
from reclaimer.model import Action, ServiceRef

log = logging.getLogger("reclaimer.executor")

ABANDON_REASON = "the previous process ended between planned and applied; decided again"
KEPT_REASON = "the previous process ended before its API call; kept for the edge's next decision"
PARTIAL_REASON = "the previous process ended midway through this managed stop"
RUNTIME_REASON = "the previous process ended after scaling the runtime to 0"
RUNTIME_FINISHED = f"{RUNTIME_REASON}; the Stopped condition written"
PARTIAL_KEPT_REASON = (f"{PARTIAL_REASON}; kept for the edge's next decision, which "
                       "finishes it")


def in_target_state(obj: Obj, action: Action, *, strategy: str | None = None) -> bool:
    """By the row's strategy when known (a managed stop's own state counts while KServe
    has dropped our condition); else the stop annotation or our Stopped condition."""
    handler = HANDLERS.get(strategy or "")
    if handler is not None and handler.name != "modelmesh":
        stopped = handler.still_stopped(obj) or st.own_stopped(obj)
    else:
        stopped = st.stop_requested(obj) or st.own_stopped(obj)
    return stopped if action is Action.STOP else not stopped


@dataclass(frozen=True)
class Recovered:
    outcomes: list[Outcome]
    left: int
    """Rows left for a later pass (another process may still be writing them)."""
    unreadable: Mapping[int, str] = field(default_factory=dict)
    """Rows whose service could not be read (a 403), with why: not counted in ``left``;
    `TermKeeper` tries them again at a slow rate, not every tick."""
    stopped: bool = False
    """The guard stopped the pass (SIGTERM, the lease): rows it would settle are left."""


def recover(executor: Executor, *, at: datetime,
            in_flight: timedelta = timedelta(0)) -> list[Outcome]:
    """One LIST of ISVCs, then one ledger update per pending row it may settle."""
    return recover_pending(executor, at=at, in_flight=in_flight).outcomes


def recover_pending(executor: Executor, *, at: datetime, in_flight: timedelta = timedelta(0),
                    waiting: Collection[int] = frozenset()) -> Recovered:
    """``waiting``: rows whose service could not be read, not to be read again yet
    (`TermKeeper`): left out, so a pass made for another row (a CLI waiting on its
    own) neither LISTs for them nor GETs their services every tick."""
    executor.followup.refresh_held()
    pending = executor.ledger.pending()
    why = executor.guard()
    if why is not None:
        if pending:
            log.warning("%d pending rows left: %s", len(pending), why)
        return Recovered([], len(pending), stopped=bool(pending))
    executor.memory.forget_seen({r.id for r in pending})
    ours = executor.memory.ours()
    mine = [r for r in pending if r.id not in ours and r.id not in waiting and not (
        r.actor != executor.actor and _in_flight(executor, r, at=at, in_flight=in_flight))]
    pending = [r for r in pending if r.id not in waiting]
    if not mine:
        return Recovered([], len(pending) - len(mine))
    objs: dict[ServiceRef, Obj | None] = {
        st.ref_of(o): o for o in executor.cluster.list_isvcs()}
    unread = _read_unlisted(executor, {r.transition.ref for r in mine} - objs.keys())
    objs.update(unread.found)
    settle = [r for r in mine if r.transition.ref not in unread.unknown.keys() | unread.retry]
    outcomes = _settle(executor, settle, objs, at=at)
    unknown = {r.id: unread.unknown[r.transition.ref] for r in mine
               if r.transition.ref in unread.unknown}
    return Recovered(outcomes, len(pending) - len(outcomes) - len(unknown), unknown,
                     stopped=len(outcomes) < len(settle))


def _settle(executor: Executor, settle: list[TransitionRecord],
            objs: dict[ServiceRef, Obj | None], *, at: datetime) -> list[Outcome]:
    """Each row, the guard asked before each: the LIST and GETs before the first may
    outlast the lease's margin (20 pages at 10,000 ISVCs, a slow API server), and a
    deposed leader must not close rows its successor is settling. The rest are left."""
    outcomes: list[Outcome] = []
    for record in settle:
        why = executor.guard()
        if why is not None:
            log.warning("%d pending rows left: %s", len(settle) - len(outcomes), why)
            break
        outcomes.append(_reconcile(executor, record, objs.get(record.transition.ref), at=at))
    return outcomes


def _in_flight(executor: Executor, record: TransitionRecord, *, at: datetime,
               in_flight: timedelta) -> bool:
    """Another actor may still be writing the row: first seen pending by this process
    within ``in_flight`` before ``at``, plus its writer's window (the wait a
    `reclaimer start` recorded, and a manual row's API calls while it is planned:
    `records.writer_window`). By this process's own clock only: the row existed when
    first seen, so its writer started no later, and neither a writer's clock behind
    (a fresh row looking stale) nor ahead (a stale row looking fresh for as long as
    the clock is ahead, nobody verifying an owner's stop meanwhile) moves it."""
    window = in_flight + writer_window(record)
    return executor.memory.first_seen(record.id, at=at) > at - window


@dataclass(frozen=True)
class _Unlisted:
    found: dict[ServiceRef, Obj | None]
    unknown: dict[ServiceRef, str]
    """Not read for a reason that stays (a 403): why, logged once by `TermKeeper`."""
    retry: frozenset[ServiceRef] = frozenset()
    """Not read for a reason that may pass (a 500, a timeout): read again next pass."""


def _read_unlisted(executor: Executor, refs: set[ServiceRef]) -> _Unlisted:
    """Services of pending rows the LIST did not return: the LIST covers only the watched
    namespaces, so only a GET answering NotFound proves one gone; one that cannot be
    read (e.g. forbidden outside watchNamespaces) is unknown, and its row left alone
    (not counted in ``left``): `TermKeeper` tries it again every `UNREADABLE_RETRY`,
    not every tick (no LIST every tick for it), and says so once. A transient failure
    is no such proof: its row is left for the next pass (counted in ``left``), or a
    single replica, whose term is its life, would never settle it."""
    found: dict[ServiceRef, Obj | None] = {}
    unknown: dict[ServiceRef, str] = {}
    retry: set[ServiceRef] = set()
    for ref in refs:
        try:
            found[ref] = executor.cluster.get_isvc(ref)
        except NotFound:
            found[ref] = None
        except ClusterError as exc:
            if is_transient(exc):
                log.warning("pending row of %s left: %s", ref, exc)
                retry.add(ref)
            else:
                log.debug("pending row of %s left: %s", ref, exc)
                unknown[ref] = str(exc)
    return _Unlisted(found, unknown, frozenset(retry))


def _reconcile(executor: Executor, record: TransitionRecord, obj: Obj | None, *,
               at: datetime) -> Outcome:
    ledger, planned = executor.ledger, record.transition
    present = obj is not None and st.uid_of(obj) == planned.uid
    if obj is not None and present and _partly_stopped(executor, record, obj):
        return _partial_stop(executor, record, obj, at=at)
    if obj is not None and present and _runtime_level(executor, record, obj):
        return _runtime_stop(executor, record, obj, at=at)
    if obj is not None and present and (
            record.state is RecordState.APPLIED
            or in_target_state(obj, planned.action, strategy=record.strategy)):
        if record.state is RecordState.PLANNED:
            ledger.mark_applied(record.id, at=at)
        strategy = record.strategy if record.strategy in HANDLERS else "native"
        executor.followup.resume(Awaiting(
            record_id=record.id, ref=planned.ref, uid=planned.uid, action=planned.action,
            strategy=str(strategy), deadline=at, message=f"recovered {planned.action.value}"),
            at=at)
        return _outcome(record, OutcomeKind.APPLIED, "already in the target state")
    if present and planned.edge_key is not None:
        executor.memory.adopt(_key(record), record.id, edge_key=planned.edge_key)
        return _outcome(record, OutcomeKind.RETRY, KEPT_REASON)
    if present and record.strategy == modelmesh.NAME and planned.action is Action.STOP:
        return _close(executor, record, why=ABANDON_REASON, at=at)
    error = ABANDON_REASON if present else "the InferenceService is gone"
    ledger.mark_abandoned(record.id, at=at, error=error)
    return _outcome(record, OutcomeKind.ABANDONED, error)


def _runtime_level(executor: Executor, record: TransitionRecord, obj: Obj) -> bool:
    """A ModelMesh stop left after its runtime went to 0, before the ISVC's condition:
    by the annotation and condition alone it looks untouched, while nothing serves it."""
    return (record.state is RecordState.PLANNED and record.transition.action is Action.STOP
            and record.strategy == modelmesh.NAME and not st.own_stopped(obj)
            and modelmesh.stop_in_place(executor.ctx, obj))


def _runtime_stop(executor: Executor, record: TransitionRecord, obj: Obj, *,
                  at: datetime) -> Outcome:
    """The change is there (DESIGN §7): the stop is finished and the row applied, then
    verified like any other. If a user of the runtime runs now, the runtime is put
    back instead and the row fails with the refusal, with an Event."""
    planned = record.transition
    why = modelmesh.finish_stop(executor.ctx, obj, at=at)
    if why is not None:
        error = f"{RUNTIME_REASON}; {why}"
        executor.ledger.mark_failed(record.id, at=at, error=error)
        executor.cluster.emit_event(planned.ref, planned.uid, reason=RECLAIM_FAILED,
                                    message=f"stop: {error}", warning=True, at=at)
        return _outcome(record, OutcomeKind.FAILED, error)
    executor.ledger.mark_applied(record.id, at=at)
    gpus = HANDLERS[modelmesh.NAME].freed_gpus(executor.ctx, obj)
    if gpus is not None:
        executor.ledger.record_gpus(record.id, gpus)
    executor.followup.resume(Awaiting(
        record_id=record.id, ref=planned.ref, uid=planned.uid, action=planned.action,
        strategy=modelmesh.NAME, deadline=at, message="recovered stop"), at=at)
    return _outcome(record, OutcomeKind.APPLIED, RUNTIME_FINISHED)


def _partly_stopped(executor: Executor, record: TransitionRecord, obj: Obj) -> bool:
    return (record.state is RecordState.PLANNED and record.transition.action is Action.STOP
            and record.strategy == raw.NAME and (
                raw.rolling_back(executor.ctx, obj) is not None
                or raw.partly_stopped(executor.ctx, obj)
                or raw.put_back_unmarked(executor.ctx, obj)))


def _partial_stop(executor: Executor, record: TransitionRecord, obj: Obj, *,
                  at: datetime) -> Outcome:
    """A managed Standard stop that its process left midway (the class changed, some
    Deployments not yet at 0) is neither applied nor untouched. An edge's row is kept:
    the edge's next decision reuses it and finishes the stop (`raw` resumes from the
    saved restore information). A row without an edge is not decided again: what was
    changed is put back, and the row says so; if that fails for good, it says the
    service is partially stopped, with an Event; if it fails transiently, the row is
    left for the next pass (`_close`)."""
    planned = record.transition
    if planned.edge_key is not None:
        executor.memory.adopt(_key(record), record.id, edge_key=planned.edge_key)
        return _outcome(record, OutcomeKind.RETRY, PARTIAL_KEPT_REASON)
    return _close(executor, record, why=PARTIAL_REASON, at=at)


def _close(executor: Executor, record: TransitionRecord, *, why: str,
           at: datetime) -> Outcome:
    """Close a stop's row that no decision takes again, putting back what it began. A
    transient failure of that (a 409 storm on the class, a 5xx) leaves the row pending,
    never ``failed`` over a half-stopped service: the next tick's pass
    (`TermKeeper._others_pending`) tries again, as for a transient GET (DESIGN §5)."""
    try:
        closed = close_stop(executor.ctx, record.id, record.transition.ref, why=why, at=at)
    except Transient as exc:
        log.warning("pending row %d of %s not put back now, the next pass tries again: %s",
                    record.id, record.transition.ref, exc)
        return _outcome(record, OutcomeKind.RETRY, f"{why}; not put back now ({exc}): "
                        "the next pass tries again")
    return _outcome(record, OutcomeKind.FAILED if closed.failed else OutcomeKind.ABANDONED,
                    closed.error)


def _key(record: TransitionRecord) -> ServiceKey:
    return (record.transition.ref, record.transition.action.value)


def _outcome(record: TransitionRecord, kind: OutcomeKind, message: str) -> Outcome:
    return Outcome(ref=record.transition.ref, action=record.transition.action, kind=kind,
                   record_id=record.id, message=message, strategy=record.strategy)
