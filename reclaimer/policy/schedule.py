"""Schedule edges of a policy and its window state at an instant (docs/design.md §3.1).

A policy says "keep running inside these windows". Its edges are computed per window
with croniter in the policy's zone (DST rules: `reclaimer.policy.localtime`) and merged:

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
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from reclaimer.model import Action, Edge, Policy, Window
from reclaimer.policy.localtime import cron_instants

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
