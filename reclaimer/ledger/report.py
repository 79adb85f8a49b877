"""GPU-hours reclaimed: pure arithmetic over recorded transitions, shared by both stores."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from itertools import groupby

from reclaimer.ledger.records import Report, ReportRow, StopInterval, TransitionRecord
from reclaimer.model import Action

NO_POLICY = "(manual)"


def build_report(records: Iterable[TransitionRecord], *, since: datetime,
                 now: datetime) -> Report:
    """Report over effective records (any order), clipped to ``[since, now]``.

    The caller must include, per service, the last effective record before ``since``:
    a service stopped last week and still stopped is reclaiming GPUs inside the window.
    """
    ordered = sorted(records, key=lambda r: (r.transition.ref, r.transition.at, r.id))
    intervals: list[StopInterval] = []
    for _, group in groupby(ordered, key=lambda r: r.transition.ref):
        intervals.extend(_intervals(list(group), since=since, now=now))
    return Report(
        since=since, now=now,
        by_namespace=_rows(intervals, lambda i: i.ref.namespace),
        by_policy=_rows(intervals, lambda i: i.policy or NO_POLICY),
        intervals=tuple(intervals),
    )


def _intervals(history: list[TransitionRecord], *, since: datetime,
               now: datetime) -> list[StopInterval]:
    """A stop lasts until the next start of the same service, or until ``now``.

    A second stop while already stopped (say, an external flip after our stop) does
    not open a second interval: the GPUs came back once.
    """
    found: list[StopInterval] = []
    stopped: TransitionRecord | None = None
    for record in (r for r in history if r.transition.at < now):
        if record.transition.action is Action.STOP and stopped is None:
            stopped = record
        elif record.transition.action is Action.START and stopped is not None:
            found.extend(_clipped(stopped, record.transition.at, since=since))
            stopped = None
    if stopped is not None:
        found.extend(_clipped(stopped, now, since=since))
    return found


def _clipped(stop: TransitionRecord, end: datetime, *, since: datetime) -> list[StopInterval]:
    planned = stop.transition
    start = max(planned.at, since)
    if end <= start:
        return []
    return [StopInterval(ref=planned.ref, policy=planned.policy, start=start, end=end,
                         gpus=planned.gpus)]


def _rows(intervals: list[StopInterval], key: Callable[[StopInterval], str],
          ) -> tuple[ReportRow, ...]:
    hours: dict[str, float] = defaultdict(float)
    stops: dict[str, int] = defaultdict(int)
    unknown: dict[str, int] = defaultdict(int)
    for interval in intervals:
        name = key(interval)
        hours[name] += interval.gpu_hours
        stops[name] += 1
        unknown[name] += interval.gpus is None
    return tuple(ReportRow(key=name, gpu_hours=hours[name], stops=stops[name],
                           unknown_gpus=unknown[name]) for name in sorted(hours))
