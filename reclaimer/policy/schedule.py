"""Schedule edges of a policy and its window state at an instant (docs/design.md §3.1).

A policy says "keep running inside these windows". Its edges are computed per window
with croniter in the policy's zone and merged:

- every **start** edge of every window is an edge of the policy, except those whose
  local date is in ``exceptDates`` (a skipped start leaves that window closed);
- a **stop** edge is an edge of the policy only if, after it, no window is open: the end
  of one window must not stop a service that another, overlapping window keeps running;
- at most one edge per instant. When one window's stop meets another window's start
  (``08-12`` and ``12-19``), the union stays open: the start is the edge, and the
  back-to-back schedule never blips the service. When a window's *own* start and stop
  coincide (both fall inside one DST gap, or two crons that meet), that window is empty:
  it stays closed, and the instant yields a stop if no other window is open.

Window state is found by looking back for each window's latest edge; searches give up
after `HORIZON` (four years and a day, so even a leap-day cron is found). All instants in
and out are timezone-aware; results are UTC. Pure: the caller passes every instant.

**Local time.** croniter runs on *naive* local times; what each local time means at a
DST change (a gap, a repeated hour) is `policy.local_time`'s (`to_instants`).

**The memo.** `decide()` looks at every policy's edges over the catch-up horizon on every
tick; a past or future day's answer never changes while the schedule stays the same, so
`cached_edges_between` computes each UTC day once. The key is what the edges depend on
(zone, windows, exceptDates), not the policy, so policies sharing office hours share the
work; the days one call misses are computed together with `AHEAD` days beyond them, as
one span with a day of margin on each side (so DST de-duplication near midnight sees both
occurrences of a repeated time). Memoising a pure function keeps it pure.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from threading import Lock
from typing import Any
from zoneinfo import ZoneInfo

from reclaimer.model import Action, Edge, Policy, Window
from reclaimer.policy.local_time import SLACK, cron_instants, to_instants

# The local-time readers stay importable from here, where they were first defined.
__all__ = ["SLACK", "cron_instants", "to_instants"]

HORIZON = timedelta(days=4 * 365 + 2)
# Look back/ahead in growing steps so frequent crons are answered after a short scan.
_STEPS = (timedelta(hours=6), timedelta(days=2), timedelta(days=9), timedelta(days=40),
          timedelta(days=400), HORIZON)


def edges_between(policy: Policy, start: datetime, end: datetime) -> list[Edge]:
    """All policy edges with start < edge.at <= end, sorted; [] without a schedule."""
    if not policy.schedule:
        return []
    start, end = _utc(start), _utc(end)
    zone = _zone(policy)
    is_open = [_window_open(window, policy, zone=zone, at=start) for window in policy.schedule]
    actions: defaultdict[datetime, list[tuple[int, Action]]] = defaultdict(list)
    for index, window in enumerate(policy.schedule):
        for at, action in _window_edges(window, policy, zone=zone, lo=start, hi=end):
            actions[at].append((index, action))
    edges = []
    for at in sorted(actions):
        opened = _opened(actions[at])
        for index, _ in actions[at]:
            is_open[index] = index in opened
        if opened:
            edges.append(Edge(at, Action.START, policy.key))
        elif not any(is_open):
            edges.append(Edge(at, Action.STOP, policy.key))
    return edges


def previous_edge(policy: Policy, at: datetime) -> Edge | None:
    """The latest edge with edge.at <= at, or None (no schedule, or none within HORIZON)."""
    for step in _STEPS if policy.schedule else ():
        edges = edges_between(policy, at - step, at)
        if edges:
            return edges[-1]
    return None


def next_edge(policy: Policy, after: datetime) -> Edge | None:
    """The first edge with edge.at > after, or None (no schedule, or none within HORIZON)."""
    for step in _STEPS if policy.schedule else ():
        edges = edges_between(policy, after, after + step)
        if edges:
            return edges[0]
    return None


def window_open(policy: Policy, at: datetime) -> bool | None:
    """True inside a schedule window, False outside it, None for a policy without schedule.

    Equivalent to "the latest edge <= at is a start"; a window whose last edge lies
    beyond HORIZON counts as closed.
    """
    if not policy.schedule:
        return None
    zone = _zone(policy)
    return any(_window_open(window, policy, zone=zone, at=_utc(at)) for window in policy.schedule)


def _opened(actions: list[tuple[int, Action]]) -> set[int]:
    """Windows that start at one instant without also stopping there."""
    started = {index for index, action in actions if action is Action.START}
    return started - {index for index, action in actions if action is Action.STOP}


def _window_edges(
    window: Window, policy: Policy, *, zone: ZoneInfo, lo: datetime, hi: datetime
) -> set[tuple[datetime, Action]]:
    """One window's own edges in (lo, hi], deduped, with exceptDates applied to starts."""
    edges = {(at, Action.START) for at, day in cron_instants(window.start, zone, lo=lo, hi=hi)
             if day.isoformat() not in policy.except_dates}
    edges.update((at, Action.STOP) for at, _ in cron_instants(window.stop, zone, lo=lo, hi=hi))
    return edges


def _window_open(window: Window, policy: Policy, *, zone: ZoneInfo, at: datetime) -> bool:
    """Whether this one window is open at ``at``: its latest edge is a start alone."""
    for step in _STEPS:
        edges = _window_edges(window, policy, zone=zone, lo=at - step, hi=at)
        if edges:
            latest = max(edge_at for edge_at, _ in edges)
            return (latest, Action.START) in edges and (latest, Action.STOP) not in edges
    return False


def _zone(policy: Policy) -> ZoneInfo:
    if policy.time_zone is None:
        raise ValueError(f"policy {policy.key} has a schedule but no time zone")
    return ZoneInfo(policy.time_zone)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError(f"instant {instant.isoformat()} has no time zone")
    return instant.astimezone(UTC)


# --- the memo: edges per schedule and UTC day ------------------------------------

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
    """Same answer as `edges_between`, from per-day memoised pieces."""
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
