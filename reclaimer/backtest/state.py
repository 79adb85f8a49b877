"""The simulated world of a backtest: each service's state and what happened to it.

Intervals are grid indices. A service stopped at ``s`` and started at ``e`` gave its
GPUs back for ``[s, e)``; requests that arrived in ``(s, ready]`` (``ready`` is ``e``
plus the start time) found it stopped or still starting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from reclaimer.model import (
    Action,
    Hold,
    LastTransition,
    LedgerView,
    Policy,
    ServiceRef,
    Trigger,
)


@dataclass
class Stopped:
    """One stopped interval; ``end`` None while it lasts."""

    start: int
    end: int | None = None
    ready: int | None = None  # first index at which it serves again


@dataclass
class Track:
    """One service's simulated life."""

    ref: ServiceRef
    uid: str
    gpus: int
    running: bool = True
    since: int = 0  # index of the last start: nothing before it is covered
    stops: list[Stopped] = field(default_factory=list)
    starts: int = 0
    during_traffic: int = 0

    def stop(self, index: int) -> None:
        self.running = False
        self.stops.append(Stopped(start=index))

    def start(self, index: int, *, start_steps: int) -> None:
        self.running = True
        self.since = index
        self.starts += 1
        if self.stops and self.stops[-1].end is None:
            self.stops[-1].end = index
            self.stops[-1].ready = index + start_steps


@dataclass
class Ledger:
    """The ledger facts `decide()` reads, kept as the loop applies plans."""

    applied: set[str] = field(default_factory=set)
    last: dict[ServiceRef, LastTransition] = field(default_factory=dict)
    deferred_since: dict[str, datetime] = field(default_factory=dict)
    idle_stops: dict[ServiceRef, datetime] = field(default_factory=dict)

    def view(self, now: datetime, *, keep: float) -> LedgerView:
        recent = {ref: at for ref, at in self.idle_stops.items()
                  if (now - at).total_seconds() <= keep}
        self.idle_stops = recent
        return LedgerView(applied_edge_keys=frozenset(self.applied), last_transitions=self.last,
                          holds=_NO_HOLDS, deferred_since=self.deferred_since,
                          recent_idle_stops=recent)

    def record(self, ref: ServiceRef, uid: str, action: Action, trigger: Trigger,
               at: datetime) -> None:
        self.last[ref] = LastTransition(ref=ref, action=action, trigger=trigger, at=at, uid=uid)
        if action is Action.STOP and trigger is Trigger.IDLE:
            self.idle_stops[ref] = at


_NO_HOLDS: dict[ServiceRef, Hold] = {}


@dataclass
class Outcome:
    """What the loop did, per service, and how often it asked `decide()`."""

    tracks: dict[ServiceRef, Track]
    policies: dict[ServiceRef, Policy]
    first: int
    end: int
    decisions: int = 0
    asked: int = 0  # services asked about, summed over the decisions
