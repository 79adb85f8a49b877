"""The ledger's facts that `decide()` reads: holds, last transitions, applied edges."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reclaimer.model.actions import Action, Trigger
from reclaimer.model.empty import EMPTY
from reclaimer.model.service import ServiceRef


@dataclass(frozen=True)
class Hold:
    ref: ServiceRef
    until: datetime
    reason: str
    who: str


@dataclass(frozen=True)
class LastTransition:
    """The latest recorded transition of one ISVC: its state and since when.

    ``transition_id`` names the ledger row (None where no ledger row exists: backtests):
    two facts can share action and time (a clock behind the last fact dates a change
    at it), never a row, so what an external change changes is keyed by it. Decisions
    never read it, so it takes no part in equality."""

    ref: ServiceRef
    action: Action
    trigger: Trigger
    at: datetime
    uid: str = ""
    transition_id: int | None = field(default=None, compare=False)


# How far back the ledger reports idle stops to the breaker; ``mass_idle_span`` is at
# most this.
RECENT_IDLE = timedelta(hours=1)


@dataclass(frozen=True)
class LedgerView:
    """Read-only facts from the ledger that `decide()` needs."""

    applied_edge_keys: frozenset[str] = frozenset()
    last_transitions: Mapping[ServiceRef, LastTransition] = EMPTY
    holds: Mapping[ServiceRef, Hold] = EMPTY
    # Edge key -> the first tick that deferred that stop (its first ``DeferredBusy`` row):
    # the deferral clock (``maxDefer``) counts from there, never from the edge instant.
    deferred_since: Mapping[str, datetime] = EMPTY
    # Services reclaimer idle-stopped within the last `RECENT_IDLE` (latest instant): the
    # mass-idle breaker counts them with this tick's proposals.
    recent_idle_stops: Mapping[ServiceRef, datetime] = EMPTY

    def active_hold(self, ref: ServiceRef, now: datetime) -> Hold | None:
        hold = self.holds.get(ref)
        return hold if hold is not None and hold.until > now else None
