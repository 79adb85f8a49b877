"""Carry out one planned transition: ledger first, then the API, then the outcome.

Order (DESIGN §5, §6): read the ISVC; ``record_planned``; the strategy's API calls;
``mark_applied`` and an Event. Verification is not waited for here: the transition joins
the ``awaiting`` set and `FollowUp.run` checks all of them once per tick with two LIST
calls, so 1,000 stops in one tick never wait on each other.

Transient failures (409, 429 beyond the inline budget, 5xx after backoff, API down)
keep the planned row and remember it, so the next tick's attempt at the same transition
reuses it: no duplicate ledger rows, and nothing is recorded as applied that was not.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from reclaimer.errors import (
    ClusterError,
    ClusterUnavailable,
    Conflict,
    EdgeAlreadyClaimed,
    NotFound,
    Refused,
    ServerError,
    TooManyRequests,
)
from reclaimer.executor import isvc_state as st
from reclaimer.executor.base import Context, Handler
from reclaimer.executor.followup import FollowUp
from reclaimer.executor.outcome import Awaiting, ExecutorOptions, Outcome, OutcomeKind
from reclaimer.executor.strategy import choose
from reclaimer.kube.events import DEFERRED, RECLAIM_FAILED, RECLAIMED, RESTORED
from reclaimer.kube.ports import Cluster, Obj
from reclaimer.ledger.protocol import Ledger
from reclaimer.model import Action, Reason, Transition

log = logging.getLogger("reclaimer.executor")
TRANSIENT = (Conflict, TooManyRequests, ServerError, ClusterUnavailable)
RetryKey = tuple[str, str, str, str | None]
T = TypeVar("T")


def _key(t: Transition) -> RetryKey:
    return (t.ref.namespace, t.ref.name, t.action.value, t.edge_key)


class Executor:
    def __init__(self, cluster: Cluster, ledger: Ledger, *, actor: str,
                 options: ExecutorOptions | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.cluster = cluster
        self.ledger = ledger
        self.actor = actor
        self.options = options or ExecutorOptions()
        self.cluster_native = False
        self._sleep = sleep
        self._retry: dict[RetryKey, int] = {}
        self._refused: dict[RetryKey, str] = {}
        self._lock = threading.Lock()
        self.ctx = Context(cluster=cluster, ledger=ledger, call=self.call)
        self.followup = FollowUp(self.ctx, timeout=self.options.verify_timeout)

    def call(self, fn: Callable[[], T]) -> T:
        return self.options.retry.run(fn, sleep=self._sleep)

    def apply(self, transition: Transition, *, at: datetime) -> Outcome:
        try:
            obj = self.call(lambda: self.cluster.get_isvc(transition.ref))
        except NotFound:
            return self._gone(transition, at=at)
        except TRANSIENT as exc:
            return self._outcome(transition, OutcomeKind.RETRY, self._pending(transition),
                                 f"not read, retried next tick: {exc}")
        if transition.uid and st.uid_of(obj) != transition.uid:
            return self._gone(transition, at=at)
        handler = self._handler(transition, obj)
        refusal = handler.refusal(obj, action=transition.action)
        if refusal is not None and self._refused.get(_key(transition)) == refusal:
            return self._refused_again(transition, obj, f"{handler.name}: {refusal}", at=at)
        try:
            record_id = self._claim(transition, handler.name, at=at)
        except EdgeAlreadyClaimed as exc:
            return self._outcome(transition, OutcomeKind.SKIPPED, None, str(exc))
        return self._act(transition, obj, handler, record_id, at=at)

    def apply_all(self, transitions: Iterable[Transition], *, at: datetime) -> list[Outcome]:
        """A plan's entries in order: actionable ones applied, busy-deferred ones announced.

        Other blocked entries (held, dry run, breaker) are recorded by the caller with
        ``ledger.record_blocked`` and touch nothing here.
        """
        outcomes = []
        for transition in transitions:
            if transition.actionable:
                outcomes.append(self.apply(transition, at=at))
            else:
                self.announce_blocked(transition, at=at)
        return outcomes

    def announce_blocked(self, transition: Transition, *, at: datetime) -> bool:
        """A Deferred Event for a stop put off because the service is busy (DESIGN §3.4).

        Repeats each tick fold into one Event with a count; other blocked entries (held,
        dry run, breaker) are only in the ledger. True when an Event was emitted.
        """
        if transition.reason is not Reason.DEFERRED_BUSY:
            return False
        message = (f"stop deferred: {transition.blocked or 'busy'} "
                   f"(policy {transition.policy or '-'})")
        self.cluster.emit_event(transition.ref, transition.uid, reason=DEFERRED,
                                message=message, warning=False, at=at)
        return True

    def _handler(self, transition: Transition, obj: Obj) -> Handler:
        restore = None
        if transition.action is Action.START:
            restore = self.ledger.load_restore_info(transition.ref, st.uid_of(obj))
        return choose(obj, action=transition.action, configured=self.options.strategy,
                      default_mode=self.options.default_mode,
                      cluster_native=self.cluster_native, restore=restore)

    def _pending(self, transition: Transition) -> int | None:
        with self._lock:
            return self._retry.get(_key(transition))

    def _claim(self, transition: Transition, strategy: str, *, at: datetime) -> int:
        existing = self._pending(transition)
        if existing is not None:
            return existing
        record = self.ledger.record_planned(transition, strategy=strategy, actor=self.actor,
                                            at=at)
        return record.id

    def _act(self, t: Transition, obj: Obj, handler: Handler, record_id: int, *,
             at: datetime) -> Outcome:
        act = handler.stop if t.action is Action.STOP else handler.start
        try:
            message = act(self.ctx, obj, at=at)
        except TRANSIENT as exc:
            with self._lock:
                self._retry[_key(t)] = record_id
            return self._outcome(t, OutcomeKind.RETRY, record_id, f"retried next tick: {exc}")
        except NotFound:
            return self._finish(t, record_id, OutcomeKind.ABANDONED,
                                "the InferenceService is gone", at=at)
        except Refused as exc:
            with self._lock:
                self._refused[_key(t)] = str(exc)
            return self._fail(t, record_id, f"{handler.name}: {exc}", at=at)
        except ClusterError as exc:
            return self._fail(t, record_id, f"{handler.name}: {exc}", at=at)
        return self._applied(t, obj, handler, record_id, message, at=at)

    def _applied(self, t: Transition, obj: Obj, handler: Handler, record_id: int,
                 message: str, *, at: datetime) -> Outcome:
        with self._lock:
            self._retry.pop(_key(t), None)
        self.ledger.mark_applied(record_id, at=at)
        reason = RECLAIMED if t.action is Action.STOP else RESTORED
        why = f"{message} (trigger {t.trigger.value}, policy {t.policy or '-'}, {t.reason.value})"
        self.cluster.emit_event(t.ref, st.uid_of(obj), reason=reason, message=why,
                                warning=False, at=at)
        self.followup.track(Awaiting(
            record_id=record_id, ref=t.ref, uid=st.uid_of(obj), action=t.action,
            strategy=handler.name, deadline=at + self.options.verify_timeout, message=why),
            managed_stop=handler.name.startswith("managed"))
        return self._outcome(t, OutcomeKind.APPLIED, record_id, why, handler.name)

    def _refused_again(self, t: Transition, obj: Obj, error: str, *,
                       at: datetime) -> Outcome:
        """A refusal already in the ledger: bump the Event's count, add no row."""
        self.cluster.emit_event(t.ref, st.uid_of(obj), reason=RECLAIM_FAILED,
                                message=f"{t.action.value} failed: {error}", warning=True,
                                at=at)
        return self._outcome(t, OutcomeKind.FAILED, None, error)

    def _fail(self, t: Transition, record_id: int, error: str, *, at: datetime) -> Outcome:
        self.cluster.emit_event(t.ref, t.uid, reason=RECLAIM_FAILED,
                                message=f"{t.action.value} failed: {error}", warning=True,
                                at=at)
        return self._finish(t, record_id, OutcomeKind.FAILED, error, at=at)

    def _finish(self, t: Transition, record_id: int, kind: OutcomeKind, error: str, *,
                at: datetime) -> Outcome:
        with self._lock:
            self._retry.pop(_key(t), None)
        if kind is OutcomeKind.FAILED:
            self.ledger.mark_failed(record_id, at=at, error=error)
        else:
            self.ledger.mark_abandoned(record_id, at=at, error=error)
        log.info("%s %s: %s (%s)", t.action.value, t.ref, kind.value, error)
        return self._outcome(t, kind, record_id, error)

    def _gone(self, t: Transition, *, at: datetime) -> Outcome:
        record_id = self._pending(t)
        if record_id is not None:
            return self._finish(t, record_id, OutcomeKind.ABANDONED,
                                "the InferenceService is gone", at=at)
        return self._outcome(t, OutcomeKind.SKIPPED, None, "the InferenceService is gone")

    def _outcome(self, t: Transition, kind: OutcomeKind, record_id: int | None,
                 message: str, strategy: str | None = None) -> Outcome:
        return Outcome(ref=t.ref, action=t.action, kind=kind, record_id=record_id,
                       message=message, strategy=strategy)
