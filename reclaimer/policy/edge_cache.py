"""Schedule edges, memoised per schedule and UTC day.

`decide()` looks at every policy's edges over the catch-up horizon (eight days) on
every tick. The answer for a past or future day never changes while the schedule
stays the same, so each day is computed once: a tick then costs a few cache lookups
instead of thousands of croniter steps.

Two choices keep the first tick after a restart (an empty cache) cheap as well:

- the key is what the edges depend on (zone, windows, exceptDates), not the policy:
  policies sharing office hours share the computation, and each gets its own `Edge`
  values (labelled with its key) from the shared instants;
- the days one call misses are computed together, and `AHEAD` days beyond them, as one
  span with a day of margin on each side (so DST de-duplication near midnight sees both
  occurrences of a repeated time), instead of one croniter scan and one window-state
  search per day: a schedule costs one span every `AHEAD` days.

Pure: memoisation of a pure function, keyed on everything the edges depend on.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, date, datetime, time, timedelta
from threading import Lock
from typing import Any

from reclaimer.model import Action, Edge, Policy
from reclaimer.policy.schedule import edges_between

DAY = timedelta(days=1)
# A miss also computes this many days after the last day asked for: the next wake looks
# a week ahead, and tomorrow's tick needs tomorrow, so one span serves them all.
AHEAD = timedelta(days=9)
# Enough for the 20 to 30 live days of more than a thousand distinct schedules.
MAX_DAYS = 32768
Instants = tuple[tuple[datetime, Action], ...]


class _ScheduleKey:
    """Hashes a policy by what its edges depend on, carrying the policy along."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.key = (policy.time_zone, policy.schedule, policy.except_dates)
        self._hash = hash(self.key)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, _ScheduleKey) and other.key == self.key


class _DayCache:
    """Least recently used days first out; one lock, as ticks and CLI calls may overlap."""

    def __init__(self, maxsize: int) -> None:
        self._days: OrderedDict[tuple[_ScheduleKey, date], Instants] = OrderedDict()
        self._maxsize = maxsize
        self._lock = Lock()

    def days(self, key: _ScheduleKey, days: list[date]) -> list[Instants]:
        with self._lock:
            missing = [day for day in days if (key, day) not in self._days]
        fresh = _span(key, missing[0], missing[-1] + AHEAD) if missing else {}
        with self._lock:
            for day, instants in fresh.items():
                self._days[(key, day)] = instants
            found = [fresh[day] if day in fresh else self._days[(key, day)] for day in days]
            for day in days:
                if (key, day) in self._days:
                    self._days.move_to_end((key, day))
            while len(self._days) > self._maxsize:
                self._days.popitem(last=False)
        return found

    def clear(self) -> None:
        with self._lock:
            self._days.clear()


_CACHE = _DayCache(MAX_DAYS)


def _span(key: _ScheduleKey, first: date, last: date) -> dict[date, Instants]:
    """Every day of ``first..last`` (UTC) from one computation with a day of margin."""
    lo = datetime.combine(first, time(), UTC)
    hi = datetime.combine(last, time(), UTC) + DAY
    days: dict[date, list[tuple[datetime, Action]]] = {
        first + timedelta(days=n): [] for n in range((last - first).days + 1)}
    for edge in edges_between(key.policy, lo - DAY, hi + DAY):
        if lo < edge.at <= hi:
            days[(edge.at - timedelta(microseconds=1)).date()].append((edge.at, edge.action))
    return {day: tuple(instants) for day, instants in days.items()}


def cached_edges_between(policy: Policy, start: datetime, end: datetime) -> list[Edge]:
    """Same answer as `schedule.edges_between`, from per-day memoised pieces."""
    if not policy.schedule or end <= start:
        return []
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    first = (start - timedelta(microseconds=1)).date()
    days = [first + timedelta(days=n) for n in range((end.date() - first).days + 1)]
    return [Edge(at, action, policy.key)
            for instants in _CACHE.days(_ScheduleKey(policy), days)
            for at, action in instants if start < at <= end]


def clear() -> None:
    """Forget every memoised day (benchmarks of a cold start; tests that count)."""
    _CACHE.clear()
