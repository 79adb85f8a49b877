"""The only place that reads the wall clock.

Decision code takes ``now`` as a parameter; the service loop calls ``clock.now()`` once
per tick. Tests and the demo pass another clock:

- `ManualClock` moves only when told to (unit tests, the demo's simulated week);
- `ShiftedClock` starts at a chosen instant and runs at ``speed`` times real time. It is
  the documented test hook for a child `reclaimer run`: set
  ``RECLAIMER_TEST_CLOCK_START=2026-03-27T18:59:58+01:00`` (and optionally
  ``RECLAIMER_TEST_CLOCK_SPEED=60``) and the process lives in that time. With
  ``RECLAIMER_TEST_CLOCK_ORIGIN=<RFC3339 real instant>`` the clock showed START at that
  real instant rather than at process start, so several processes (a test, its sandbox,
  replicas, a restarted child) share one timeline whatever their start-up time. An
  origin in the future holds the clock at START until then, so children can start up
  (slowly, on a loaded machine) before their time begins to run.

`wall_time_of` converts an instant on the clock into the real instant at which the clock
will show it, so APScheduler (which runs on real time) can fire a job exactly at an edge.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

START_ENV = "RECLAIMER_TEST_CLOCK_START"
SPEED_ENV = "RECLAIMER_TEST_CLOCK_SPEED"
ORIGIN_ENV = "RECLAIMER_TEST_CLOCK_ORIGIN"


class Clock(Protocol):
    def now(self) -> datetime: ...

    def wall_time_of(self, instant: datetime) -> datetime: ...


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("clocks need timezone-aware datetimes")
    return instant.astimezone(UTC)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def wall_time_of(self, instant: datetime) -> datetime:
        return _aware(instant)


class ManualClock:
    """A clock that moves only when told to; thread-safe for the scheduler's threads."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def wall_time_of(self, instant: datetime) -> datetime:
        """A manual clock never gets there by itself: fire as soon as asked."""
        return datetime.now(UTC)

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = _aware(instant)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now


class ShiftedClock:
    """Real time, shifted to start at ``start`` and running ``speed`` times faster."""

    def __init__(self, start: datetime, *, speed: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic,
                 origin: datetime | None = None) -> None:
        """``origin``: the real instant at which the clock showed ``start`` (default: now);
        until then it stays at ``start``."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start = _aware(start)
        self._speed = speed
        self._monotonic = monotonic
        self._origin = monotonic()
        if origin is not None:
            self._origin -= (datetime.now(UTC) - _aware(origin)).total_seconds()

    def now(self) -> datetime:
        elapsed = max(self._monotonic() - self._origin, 0.0)
        return self._start + timedelta(seconds=elapsed * self._speed)

    def wall_time_of(self, instant: datetime) -> datetime:
        """Real seconds until the clock shows ``instant``, counting any hold before origin."""
        due = self._origin + (_aware(instant) - self._start).total_seconds() / self._speed
        ahead = due - self._monotonic()
        return datetime.now(UTC) + timedelta(seconds=max(ahead, 0.0))


def clock_from_env(env: Mapping[str, str]) -> Clock:
    """The system clock, unless the documented test hook asks for a shifted one."""
    start = env.get(START_ENV)
    if not start:
        return SystemClock()
    origin = env.get(ORIGIN_ENV)
    return ShiftedClock(datetime.fromisoformat(start), speed=float(env.get(SPEED_ENV, "1")),
                        origin=datetime.fromisoformat(origin) if origin else None)
