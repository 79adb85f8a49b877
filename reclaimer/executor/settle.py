"""What a transition leaves behind: its row's end, its Event, what is remembered.

Used by the preparation (the ISVC is gone before any write) and by a chunk (the write
failed, or was applied); one place, so a row is closed and remembered the same way
whichever step found out.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from reclaimer.executor.memory import Memory, Rejection
from reclaimer.executor.outcome import (
    Awaiting,
    ErrorClass,
    Outcome,
    OutcomeKind,
    held_while_stopped,
    outcome,
)
from reclaimer.kube.events import RECLAIM_FAILED
from reclaimer.kube.ports import Cluster
from reclaimer.ledger.protocol import Ledger
from reclaimer.model import Transition

log = logging.getLogger("reclaimer.executor")
GONE = "the InferenceService is gone"


class Settle:
    """``verify_timeout``: how long an applied transition is awaited."""

    def __init__(self, *, cluster: Cluster, ledger: Ledger, memory: Memory,
                 verify_timeout: timedelta) -> None:
        self.cluster = cluster
        self.ledger = ledger
        self.memory = memory
        self.verify_timeout = verify_timeout

    def applied(self, t: Transition, record_id: int, *, uid: str, strategy: str,
                message: str, at: datetime) -> None:
        """Awaited until verified; a managed stop is held from now."""
        self.memory.applied(t, Awaiting(
            record_id=record_id, ref=t.ref, uid=uid, action=t.action, strategy=strategy,
            deadline=at + self.verify_timeout, message=message),
            managed_stop=held_while_stopped(strategy))

    def keep(self, t: Transition, record_id: int) -> None:
        """A transient failure, or a bug: the row waits for a retry of the decision."""
        self.memory.keep(t, record_id)

    def forget(self, t: Transition, record_id: int) -> None:
        """The kept row was settled by another process: nothing acts on it again."""
        self.memory.drop(t, record_id)

    def reject(self, t: Transition, record_id: int, error: str, *, rejection: Rejection,
               strategy: str, at: datetime) -> Outcome:
        """A permanent failure: the decision fails once. An edge keeps its claim (it is
        not planned again); a decision without one waits in memory."""
        self.memory.reject(t, rejection)
        self.cluster.emit_event(t.ref, t.uid, reason=RECLAIM_FAILED,
                                message=f"{t.action.value} failed: {error}", warning=True,
                                at=at)
        failed = self.finish(t, record_id, OutcomeKind.FAILED, error, at=at, keep_claim=True)
        return replace(failed, error=ErrorClass.PERMANENT, strategy=strategy)

    def finish(self, t: Transition, record_id: int, kind: OutcomeKind, error: str, *,
               at: datetime, keep_claim: bool = False) -> Outcome:
        self.memory.drop(t, record_id)
        if kind is OutcomeKind.FAILED:
            self.ledger.mark_failed(record_id, at=at, error=error, keep_claim=keep_claim)
        else:
            self.ledger.mark_abandoned(record_id, at=at, error=error)
        log.info("%s %s: %s (%s)", t.action.value, t.ref, kind.value, error)
        return outcome(t, kind, record_id, error)

    def gone(self, t: Transition, *, at: datetime) -> Outcome:
        """The ISVC is gone: a kept row of this decision is closed, else nothing."""
        record_id = self.memory.reusable(t)
        if record_id is not None:
            return self.finish(t, record_id, OutcomeKind.ABANDONED, GONE, at=at)
        return outcome(t, OutcomeKind.SKIPPED, None, GONE)
