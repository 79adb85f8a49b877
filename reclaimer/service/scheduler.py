"""Drives `reconcile_once` with APScheduler 3.11 (docs/design.md §7).

Two jobs call the same tick: an interval job every ``tick`` (``max_instances=1``,
``coalesce=True``) and a one-shot job at the next instant the plan says is worth waking
for, so a 19:00 edge fires at 19:00 and not up to a tick later. A lock serialises them.
Only the leader acts; followers keep their probes green and wait.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler

from reclaimer.clock import Clock

log = logging.getLogger("reclaimer.scheduler")


class Leadership(Protocol):
    term: int
    """Counts the gains of leadership; a new value is a new term."""
    term_started_at: datetime | None

    def is_leader(self) -> bool: ...

    def valid_for(self) -> float:
        """Seconds this process may still start writes (the lease's safety margin)."""
        ...


class AlwaysLeader:
    """Leader election switched off: a single replica always acts, in one long term."""

    term = 1
    term_started_at: datetime | None = None

    def is_leader(self) -> bool:
        return True

    def valid_for(self) -> float:
        return math.inf


TickFunction = Callable[[datetime], datetime | None]


class TickScheduler:
    def __init__(self, tick_function: TickFunction, *, clock: Clock, tick: timedelta,
                 leadership: Leadership) -> None:
        self._tick_function = tick_function
        self._clock = clock
        self._tick = tick
        self._leadership = leadership
        self._lock = threading.Lock()
        self._scheduler = BackgroundScheduler(timezone="UTC")
        self.last_success: datetime | None = None
        self.ticks = 0
        self._stopping = False

    def start(self) -> None:
        self._scheduler.add_job(
            self.run_tick, "interval", seconds=self._tick.total_seconds(), id="reconcile",
            max_instances=1, coalesce=True, next_run_time=self._clock.wall_time_of(
                self._clock.now()),
        )
        self._scheduler.start()

    def shutdown(self) -> None:
        """Waits for the tick in flight, so a started transition is finished and recorded.

        The tick's lock is taken first: a tick ending during APScheduler's own shutdown
        would schedule its wake-up job into a scheduler that holds its job store's lock
        while it waits for that very tick, and neither would ever return."""
        with self._lock:
            self._stopping = True
        self._scheduler.shutdown(wait=True)

    def run_tick(self) -> None:
        with self._lock:
            if self._stopping or not self._leadership.is_leader():
                return
            now = self._clock.now()
            try:
                next_wake = self._tick_function(now)
            except Exception:
                log.exception("tick failed; the next tick retries")
                return
            self.ticks += 1
            self.last_success = now
            self._schedule_wake(next_wake)

    def _schedule_wake(self, next_wake: datetime | None) -> None:
        if next_wake is None:
            return
        self._scheduler.add_job(
            self.run_tick, "date", run_date=self._clock.wall_time_of(next_wake), id="edge",
            replace_existing=True, misfire_grace_time=None,
        )
