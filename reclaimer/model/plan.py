"""What `decide()` returns: the plan's entries, its conflicts and faults, and the
safety knobs it is decided under."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reclaimer.model.actions import Action, Reason, Trigger
from reclaimer.model.empty import EMPTY
from reclaimer.model.service import ServiceRef


@dataclass(frozen=True)
class Transition:
    """One entry of a plan.

    ``blocked`` says why it is not acted on (held, dry run, deferred, breaker...);
    blocked entries are still recorded, so the ledger says what would have happened.
    """

    ref: ServiceRef
    uid: str
    action: Action
    trigger: Trigger
    reason: Reason
    policy: str | None
    at: datetime
    edge_key: str | None = None
    evidence: Mapping[str, Any] = EMPTY
    blocked: str | None = None
    gpus: int | None = None

    @property
    def actionable(self) -> bool:
        return self.blocked is None


@dataclass(frozen=True)
class PolicyConflict:
    """Several policies of equal top priority match one ISVC."""

    ref: ServiceRef
    policies: tuple[str, ...]
    chosen: str


@dataclass(frozen=True)
class PolicyFault:
    """A policy whose decision raised: it is left out of this tick's plan entirely, and
    the loop reports it as invalid (``Valid=False``, metric, log); the others act."""

    policy: str
    source: str
    message: str


@dataclass(frozen=True)
class Plan:
    transitions: tuple[Transition, ...] = ()
    missed: tuple[Transition, ...] = ()
    conflicts: tuple[PolicyConflict, ...] = ()
    alerts: tuple[str, ...] = ()
    next_wake: datetime | None = None
    breaker_open: bool = False
    faults: tuple[PolicyFault, ...] = ()

    @property
    def actionable(self) -> tuple[Transition, ...]:
        return tuple(t for t in self.transitions if t.actionable)


@dataclass(frozen=True)
class DecideSettings:
    """Safety knobs from config (docs/design.md §3.5, §8)."""

    max_stops_per_tick: int = 50
    mass_idle_fraction: float = 0.5
    mass_idle_minimum: int = 5
    # Idle stops made this long ago still count for the breaker (at most `RECENT_IDLE`).
    mass_idle_span: timedelta = timedelta(minutes=15)
    max_concurrent_starts: int = 20
    start_lead_time: timedelta = timedelta(0)
    busy_lookback: timedelta = timedelta(minutes=5)
    catch_up_horizon: timedelta = timedelta(days=8)
    # An edge acted on later than this after it was due is recorded as a catch-up.
    catch_up_after: timedelta = timedelta(minutes=5)
    # Signals taken longer ago than this (or ahead of ``now``) are stale: unknown.
    signals_max_age: timedelta = timedelta(minutes=2)
    # Starts held back by ``max_concurrent_starts`` are tried again this soon, not a tick
    # later: a Monday-morning edge for 1,000 services must not take 50 ticks.
    stagger_retry: timedelta = timedelta(seconds=5)
