"""Cron matches in a policy's local time, as UTC instants: where DST lives.

croniter runs on *naive* local times, so it never does zone arithmetic itself;
`to_instants` decides what each local time means, which is where DST lives:

- a local time inside a spring-forward gap does not exist: it fires at the first instant
  after the gap (02:30 on the Berlin spring day fires at 03:00 CEST). Several matches in
  one gap (``*/15``) therefore land on one instant, and the caller dedupes them;
- a local time that exists twice at fall-back fires once, at its first occurrence
  (``fold=0``, PEP 495), because "02:30" in a policy is an appointment, not an interval;
- except for expressions whose hour field is ``*``: those mean "every hour" and also fire
  in the repeated hour's second pass, so ``*/15 * * * *`` keeps its 15-minute rhythm
  through the night of the change (the rule Vixie/Debian cron applies to wildcard jobs).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter

# How far beyond the bounds, in local time, to scan for matches that land inside them:
# wider than any DST shift (at most 2 h, "double summer time"), plus any net offset
# change between the bounds (a zone that jumps the date line, as Samoa did in 2011).
SLACK = timedelta(hours=3)


def to_instants(local: datetime, zone: ZoneInfo, *, both_folds: bool) -> tuple[datetime, ...]:
    """The UTC instants at which a naive local cron match fires (see module docstring)."""
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return (first,)
    if first < second:  # repeated at fall-back: fold=0 is the earlier occurrence
        return (first, second) if both_folds else (first,)
    # In a gap, fold=0 applies the offset before the change and fold=1 the one after,
    # so the change itself lies between them.
    return (_transition(second, first, zone=zone),)


def _transition(before: datetime, after: datetime, *, zone: ZoneInfo) -> datetime:
    """The first UTC instant in (before, after] that has ``after``'s offset.

    Zones change offset on whole seconds, so a bisection over seconds is exact.
    """
    wanted = after.astimezone(zone).utcoffset()
    span = int((after - before).total_seconds())
    while span > 1:
        middle = before + timedelta(seconds=span // 2)
        if middle.astimezone(zone).utcoffset() == wanted:
            after = middle
        else:
            before = middle
        span = int((after - before).total_seconds())
    return after


def cron_instants(
    expression: str, zone: ZoneInfo, *, lo: datetime, hi: datetime
) -> Iterator[tuple[datetime, date]]:
    """Each (UTC instant, local date of the match) of ``expression`` with lo < instant <= hi.

    The local date is the cron match's own date, which is what ``exceptDates`` name.
    Instants may repeat (matches inside one DST gap); callers dedupe.
    """
    both_folds = expression.split()[1] == "*"
    start, end = lo.astimezone(zone), hi.astimezone(zone)
    margin = SLACK + abs(_offset(end) - _offset(start))
    local_lo = start.replace(tzinfo=None) - margin
    local_hi = end.replace(tzinfo=None) + margin
    matches = croniter(expression, local_lo)
    while (local := _next(matches)) is not None and local <= local_hi:
        for at in to_instants(local, zone, both_folds=both_folds):
            if lo < at <= hi:
                yield at, local.date()


def _offset(local: datetime) -> timedelta:
    return local.utcoffset() or timedelta(0)


def _next(matches: croniter) -> datetime | None:
    """The next match, or None when there is none (``0 8 30 2 *`` never fires)."""
    try:
        return matches.get_next(datetime)
    except CroniterBadDateError:
        return None
