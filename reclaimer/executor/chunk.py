"""One chunk of a tick's transitions: prepare, claim, write, mark applied (executor.py).

Only the API calls and the preparation (which may GET) run on the pool; the two ledger
transactions run on the calling thread, so a chunk never queues on the database's lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor as Pool
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from reclaimer.errors import PERMANENT, TRANSIENT, ClusterError, LedgerError, NotFound, Refused
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context
from reclaimer.executor.memory import Rejection
from reclaimer.executor.outcome import ErrorClass, Outcome, OutcomeKind, outcome
from reclaimer.executor.prepare import Prepared, Preparer
from reclaimer.executor.settle import GONE, Settle
from reclaimer.kube.events import RECLAIMED, RESTORED
from reclaimer.ledger.protocol import PlannedEntry
from reclaimer.model import Action, ServiceRef, Transition

log = logging.getLogger("reclaimer.executor")
A = TypeVar("A")
B = TypeVar("B")


@dataclass(frozen=True)
class Claimed:
    prepared: Prepared
    record_id: int


@dataclass(frozen=True)
class Announcement:
    """An applied transition's Event, emitted once every chunk is written."""

    ref: ServiceRef
    uid: str
    reason: str
    message: str


def _settled(slot: Outcome | Prepared) -> Outcome:
    if not isinstance(slot, Outcome):
        raise AssertionError(f"{slot.transition.ref}: prepared but never claimed")
    return slot


class Chunk:
    """One tick's chunks, in turn; their Events wait for `emit_events`.

    ``ctx``: the cluster, the ledger and the retry policy the strategies act through;
    ``settle``: what each transition leaves behind (its row's end, what is remembered
    for the next tick)."""

    def __init__(self, ctx: Context, *, prepare: Preparer, settle: Settle, actor: str,
                 at: datetime, pool: Pool | None) -> None:
        self.ctx = ctx
        self.prepare = prepare
        self.settle = settle
        self.actor = actor
        self.at = at
        self.pool = pool
        self.events: list[Announcement] = []

    def map(self, fn: Callable[[A], B], items: Iterable[A]) -> Iterator[B]:
        return self.pool.map(fn, items) if self.pool is not None else map(fn, items)

    def run(self, transitions: Sequence[Transition]) -> list[Outcome]:
        slots: list[Outcome | Prepared] = list(self.map(self._prepared, transitions))
        claimed: dict[int, Claimed] = {}
        for index, taken in self._claim(slots):
            if isinstance(taken, Claimed):
                claimed[index] = taken
            else:
                slots[index] = taken
        written = dict(zip(claimed, self.map(self._guarded, claimed.values()), strict=True))
        applied = [claimed[i].record_id for i, w in written.items() if isinstance(w, str)]
        unmarked = self._mark_applied(applied)
        for index, result in written.items():
            if isinstance(result, str | Outcome):
                slots[index] = self._settle(claimed[index], result, unmarked)
        for result in written.values():
            if isinstance(result, Exception):
                raise result
        return [_settled(s) for s in slots]

    def _prepared(self, transition: Transition) -> Outcome | Prepared:
        """One transition that cannot be prepared (restore info this version cannot read,
        a bug) fails alone: raised, it would stop the chunk and every later one, on
        every tick, and nothing in the fleet would move."""
        try:
            return self.prepare(transition, at=self.at)
        except Exception as exc:
            log.exception("%s %s not prepared", transition.action.value, transition.ref)
            return outcome(transition, OutcomeKind.FAILED, None, f"not prepared: {exc}")

    def _settle(self, claimed: Claimed, result: str | Outcome,
                unmarked: Mapping[int, str]) -> Outcome:
        if isinstance(result, Outcome):
            return result
        why = unmarked.get(claimed.record_id)
        if why is None:
            return self._applied(claimed, result)
        return outcome(claimed.prepared.transition, OutcomeKind.FAILED, claimed.record_id,
                       f"written, not recorded as applied: {why}")

    def _mark_applied(self, record_ids: list[int]) -> dict[int, str]:
        """One transaction for the chunk; if it is refused, row by row, so one row that
        may not move (settled meanwhile by someone else) does not take the others'
        records with it. Returns the rows left unmarked, with why."""
        try:
            self.ctx.ledger.mark_applied_many(record_ids, at=self.at)
            return {}
        except LedgerError as exc:
            log.warning("chunk not marked applied at once, row by row: %s", exc)
        unmarked = {}
        for record_id in record_ids:
            try:
                self.ctx.ledger.mark_applied(record_id, at=self.at)
            except LedgerError as exc:
                log.error("transition %d written but not marked applied: %s", record_id, exc)
                unmarked[record_id] = str(exc)
        return unmarked

    def _guarded(self, claimed: Claimed) -> str | Outcome | Exception:
        """An unexpected error (a bug, the ledger down inside a managed stop) is raised
        only after the chunk's successful writes are marked applied; its own planned row
        is kept for the next tick, like a transient failure."""
        try:
            return self._write(claimed)
        except Exception as exc:
            self.settle.keep(claimed.prepared.transition, claimed.record_id)
            return exc

    def _claim(self, slots: Sequence[Outcome | Prepared]
               ) -> Iterator[tuple[int, Claimed | Outcome]]:
        """The chunk's planned rows, edge claims and restore info: one transaction."""
        ready = [(i, p) for i, p in enumerate(slots) if isinstance(p, Prepared)]
        entries = [PlannedEntry(p.transition, p.handler.name, p.restore, record_id=p.retried)
                   for _, p in ready]
        ids = self.ctx.ledger.record_planned_many(entries, actor=self.actor, at=self.at)
        for (index, prepared), record_id in zip(ready, ids, strict=True):
            yield index, (Claimed(prepared, record_id) if record_id is not None
                          else self._not_claimed(prepared))

    def _not_claimed(self, prepared: Prepared) -> Outcome:
        """Another replica claimed the edge first, or settled the kept row meanwhile
        (then it is forgotten: nothing acts on a settled row)."""
        t = prepared.transition
        if prepared.retried is not None:
            self.settle.forget(t, prepared.retried)
            return outcome(t, OutcomeKind.SKIPPED, None,
                           f"its planned row {prepared.retried} was settled meanwhile")
        return outcome(t, OutcomeKind.SKIPPED, None, f"edge {t.edge_key} is already claimed")

    def _write(self, claimed: Claimed) -> str | Outcome:
        """The strategy's API calls; a failure is settled here, a success returns its
        message and is marked applied with the rest of the chunk."""
        p, record_id = claimed.prepared, claimed.record_id
        t, handler = p.transition, p.handler
        act = handler.stop if t.action is Action.STOP else handler.start
        try:
            return act(self.ctx, p.obj, at=self.at)
        except TRANSIENT as exc:
            self.settle.keep(t, record_id)
            return outcome(t, OutcomeKind.RETRY, record_id, f"retried next tick: {exc}",
                           error=ErrorClass.TRANSIENT)
        except NotFound:
            return self.settle.finish(t, record_id, OutcomeKind.ABANDONED, GONE, at=self.at)
        except PERMANENT as exc:
            return self._reject(claimed, f"{handler.name}: {exc}")
        except ClusterError as exc:  # not known to be transient: failed once, like PERMANENT
            return self._reject(claimed, f"{handler.name}: {exc}")

    def _reject(self, claimed: Claimed, error: str) -> Outcome:
        p = claimed.prepared
        t = p.transition
        rejection = Rejection(uid=st.uid_of(p.obj), at=self.at, error=error,
                              refusal=p.handler.refusal(p.obj, action=t.action))
        return self.settle.reject(t, claimed.record_id, error, rejection=rejection,
                                  strategy=p.handler.name, at=self.at)

    def _record_gpus(self, claimed: Claimed) -> None:
        """The GPUs a stop freed, where its strategy knows them (best effort: a failed
        read or write keeps the decision's count)."""
        p = claimed.prepared
        try:
            gpus = p.handler.freed_gpus(self.ctx, p.obj)
            if gpus is not None and gpus != p.transition.gpus:
                self.ctx.ledger.record_gpus(claimed.record_id, gpus)
        except (ClusterError, LedgerError, Refused) as exc:
            log.warning("GPUs freed by %s not recorded: %s", p.transition.ref, exc)

    def _applied(self, claimed: Claimed, message: str) -> Outcome:
        p = claimed.prepared
        t, uid, name = p.transition, st.uid_of(p.obj), p.handler.name
        if t.action is Action.STOP:
            self._record_gpus(claimed)
        why = f"{message} (trigger {t.trigger.value}, policy {t.policy or '-'}, {t.reason.value})"
        self.settle.applied(t, claimed.record_id, uid=uid, strategy=name, message=why,
                            at=self.at)
        self.events.append(Announcement(
            t.ref, uid, RECLAIMED if t.action is Action.STOP else RESTORED, why))
        return outcome(t, OutcomeKind.APPLIED, claimed.record_id, why, name)

    def emit_events(self) -> None:
        """Best effort (a failed Event is logged by the recorder), after every write."""
        emit = self.ctx.cluster.emit_event
        list(self.map(lambda e: emit(e.ref, e.uid, reason=e.reason, message=e.message,
                                     warning=False, at=self.at), self.events))
        self.events.clear()
