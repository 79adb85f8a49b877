"""What a transition does and why: the words every plan entry and ledger row use."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    STOP = "stop"
    START = "start"


class Trigger(StrEnum):
    """Why a transition was considered at all (docs/design.md §6)."""

    SCHEDULE = "schedule"
    IDLE = "idle"
    MANUAL = "manual"
    EXTERNAL = "external"
    CATCH_UP = "catch-up"


class Reason(StrEnum):
    """The specific rule that produced a plan entry."""

    SCHEDULE_STOP = "ScheduleStop"
    SCHEDULE_START = "ScheduleStart"
    IDLE_TIMEOUT = "IdleTimeout"
    CAUGHT_UP = "CaughtUp"
    MISSED = "Missed"
    SUPERSEDED = "Superseded"
    DEFERRED_BUSY = "DeferredBusy"
    FORCED_AFTER_MAX_DEFER = "ForcedAfterMaxDefer"
    HELD = "Held"
    DRY_RUN = "DryRun"
    MAX_STOPS_PER_TICK = "MaxStopsPerTick"
    MASS_IDLE_BREAKER = "MassIdleBreaker"
    STAGGERED = "Staggered"
    MEMBERS_STOPPED = "MembersStopped"
    MEMBER_STARTING = "MemberStarting"
    RUNTIME_WOKEN = "RuntimeWoken"
    """A ModelMesh service served again because another's start brought its runtime back."""
    MANUAL = "Manual"
    EXTERNAL_CHANGE = "ExternalChange"
