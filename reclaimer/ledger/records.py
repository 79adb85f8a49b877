"""Frozen values the ledger hands out: recorded transitions and the GPU-hours report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from reclaimer.model import ServiceRef, Transition, Trigger


class RecordState(StrEnum):
    """Where a transition row is in its life (docs/design.md §6).

    ``planned → applied → verified | failed | abandoned`` is the life of an action.
    Two more states exist because not every row is an action of ours:

    - ``skipped``: decided but not acted on (held, dry run, deferred, missed,
      superseded, breaker); recorded so the ledger says what would have happened;
    - ``observed``: somebody else changed the stop state (trigger ``external``); it
      is a fact about the service, not an action, so it never goes through planned.
    """

    PLANNED = "planned"
    APPLIED = "applied"
    VERIFIED = "verified"
    FAILED = "failed"
    ABANDONED = "abandoned"
    SKIPPED = "skipped"
    OBSERVED = "observed"


# States whose row changed the service: they feed the per-service facts and the report.
EFFECTIVE_STATES = frozenset({RecordState.APPLIED, RecordState.VERIFIED, RecordState.OBSERVED})
# Actions a crash may have interrupted: planned (was the API call made?) and applied
# (was it verified?). `pending()` returns these for start-up reconciliation.
UNFINISHED_STATES = frozenset({RecordState.PLANNED, RecordState.APPLIED})
# A stop of ours that is in force: made (applied) or seen done (verified).
IN_FORCE_STATES = frozenset({RecordState.APPLIED, RecordState.VERIFIED})
RESTORE_INFO_VERSION = 1


@dataclass(frozen=True)
class TransitionRecord:
    """One ledger row: the `Transition` as planned, and what became of it.

    ``transition.at`` is the instant the plan meant, ``recorded_at`` when the row was
    written; the rest is the row's life (docs/design.md §6)."""

    id: int
    state: RecordState
    transition: Transition
    recorded_at: datetime
    actor: str
    strategy: str | None = None
    applied_at: datetime | None = None
    verified_at: datetime | None = None
    ended_at: datetime | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The `history -o json` item: flat, camelCase like the rest of docs/design.md §8."""
        t = self.transition
        return {
            "id": self.id, "state": self.state.value, "namespace": t.ref.namespace,
            "kind": t.ref.kind.value, "name": t.ref.name, "uid": t.uid,
            "action": t.action.value,
            "trigger": t.trigger.value, "reason": t.reason.value, "policy": t.policy,
            "at": t.at, "recordedAt": self.recorded_at, "actor": self.actor,
            "via": via(self),
            "edgeKey": t.edge_key, "strategy": self.strategy,
            "evidence": dict(t.evidence), "gpus": t.gpus, "blocked": t.blocked,
            "appliedAt": self.applied_at, "verifiedAt": self.verified_at,
            "endedAt": self.ended_at, "error": self.error,
        }


def via(record: TransitionRecord) -> str:
    """Where a row came from, for the audit (issue 19): ``api`` or ``cli`` (as recorded
    in its evidence; a manual row from before that is the CLI's), ``kubectl`` (someone
    else's change whose field manager is kubectl; another manager by its own name), or
    ``reclaimer`` (the service's own decisions)."""
    planned = record.transition
    recorded = planned.evidence.get("via")
    if isinstance(recorded, str) and recorded:
        return recorded
    if planned.trigger is Trigger.EXTERNAL:
        return "kubectl" if record.actor.startswith("kubectl") else record.actor
    return "cli" if planned.trigger is Trigger.MANUAL else "reclaimer"


WAIT_KEY = "waitSeconds"
"""Evidence of a manual row: how long its writer (``reclaimer start`` without
``--no-wait``) keeps verifying it itself, so no other process settles it meanwhile."""
MAX_WAIT = timedelta(days=1)
"""A recorded wait counts at most this long: a row is settled within a day whatever it says."""


MANUAL_WRITES = timedelta(minutes=5)
"""How long a person's `reclaimer stop/start`, or an owner's request through the API,
may still be making its API calls after it recorded its ``planned`` row. No lease
stops such a writer (a leader's in-flight time is its lease); each call may take its
inline retries (a slow API server, a 429's Retry-After), and a managed stop makes
several. Its planned row is not settled (abandoned, put back) before that."""


def writer_waits(record: TransitionRecord) -> timedelta:
    """The wait its writer recorded; none (or one that cannot be read) is zero. Compared
    before any conversion: an integer too large for a float (evidence is what another
    version or a hand-edited row stored) is the cap, not an OverflowError each tick."""
    value = record.transition.evidence.get(WAIT_KEY)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return timedelta(0)
    if value >= MAX_WAIT.total_seconds():
        return MAX_WAIT
    return timedelta(seconds=float(value))


def writer_window(record: TransitionRecord) -> timedelta:
    """How long past a lease's in-flight time the row's writer may still act on it:
    its recorded wait, and for a manual row still ``planned`` its API calls too."""
    manual = record.transition.trigger is Trigger.MANUAL
    writes = MANUAL_WRITES if manual and record.state is RecordState.PLANNED else timedelta(0)
    return writer_waits(record) + writes


def new_record(transition: Transition, *, record_id: int, state: RecordState,
               strategy: str | None, actor: str, at: datetime) -> TransitionRecord:
    """The record a store writes for ``transition``; both stores build it the same way."""
    return TransitionRecord(id=record_id, state=state, transition=transition, recorded_at=at,
                            actor=actor, strategy=strategy)


@dataclass(frozen=True)
class NoticeRecord:
    """A StopPlanned notice sent: ``at`` is the planned stop, ``sent_at`` when told."""

    key: str
    ref: ServiceRef
    uid: str
    policy: str
    trigger: Trigger
    at: datetime
    sent_at: datetime


@dataclass(frozen=True)
class StopInterval:
    """One stretch during which a service was stopped by a recorded transition."""

    ref: ServiceRef
    policy: str | None
    start: datetime
    end: datetime
    gpus: int | None

    @property
    def gpu_hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0 * (self.gpus or 0)


@dataclass(frozen=True)
class ReportRow:
    key: str
    gpu_hours: float
    stops: int
    unknown_gpus: int

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "gpuHours": round(self.gpu_hours, 3), "stops": self.stops,
                "stopsWithUnknownGpus": self.unknown_gpus}


@dataclass(frozen=True)
class Report:
    """GPU-hours reclaimed in ``[since, now]``: stopped duration × GPU count.

    A stop with an unknown GPU count counts zero hours and is counted in
    ``unknown_gpus``, so the report never claims GPUs it cannot show.
    """

    since: datetime
    now: datetime
    by_namespace: tuple[ReportRow, ...]
    by_policy: tuple[ReportRow, ...]
    intervals: tuple[StopInterval, ...]

    @property
    def total_gpu_hours(self) -> float:
        return sum(row.gpu_hours for row in self.by_namespace)
