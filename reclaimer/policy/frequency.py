"""At most one schedule edge per 15 minutes (DESIGN §3.7, issue 13 case 8).

A minutely cron costs every tick thousands of croniter steps and memo entries, and 50
of them widen the window in which a lost lease goes unnoticed; no office-hours schedule
needs edges closer than a quarter of an hour. So a schedule is checked when the policy
is read, from croniter's expanded fields (no iteration, so the check costs the same for
any cron): the times of day each expression fires, and whether two expressions can fire
on the same day. Two edges of one schedule closer than `MIN_GAP`, whether of one
expression or of two, make the policy invalid, naming the field.

The day check is conservative: two expressions are taken to share a day unless their
months, or their days of week (both without a day of month), or their days of month
(both without a day of week) are disjoint; a day boundary is assumed crossable.
Instants that coincide exactly (one window's stop at another's start) are not "closer".
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations, pairwise

from croniter import croniter

MIN_GAP_MINUTES = 15
DAY_MINUTES = 24 * 60
_ALL: dict[int, range] = {0: range(60), 1: range(24), 2: range(1, 32), 3: range(1, 13),
                          4: range(7)}


class _Cron:
    def __init__(self, text: str) -> None:
        fields = croniter(text).expanded
        self.text = text
        self.sets = [frozenset(_ALL[i] if values == ["*"] else (int(v) % 7 if i == 4 else int(v)
                                                                  for v in values))
                     for i, values in enumerate(fields)]
        self.any_dom, self.any_dow = fields[2] == ["*"], fields[4] == ["*"]
        self.times = sorted(h * 60 + m for h in self.sets[1] for m in self.sets[0])


def _own_gap(cron: _Cron) -> int:
    """The shortest gap between two firings of one expression (a day wraps around)."""
    times = cron.times
    gaps = [b - a for a, b in pairwise(times)]
    gaps.append(times[0] + DAY_MINUTES - times[-1])
    return min(gaps)


def _may_share_day(a: _Cron, b: _Cron) -> bool:
    if not a.sets[3] & b.sets[3]:
        return False
    if a.any_dom and b.any_dom and not a.sets[4] & b.sets[4]:
        return False
    return not (a.any_dow and b.any_dow and not a.sets[2] & b.sets[2])


def _pair_gap(a: _Cron, b: _Cron) -> int | None:
    """The shortest non-zero distance between firings of two expressions, or None."""
    if not _may_share_day(a, b):
        return None
    distances = (min(abs(x - y), DAY_MINUTES - abs(x - y)) for x in a.times for y in b.times)
    return min((d for d in distances if d), default=None)


def too_frequent(crons: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
    """``(field, message)`` for the first expression whose edges come closer than 15
    minutes (to its own or another's); ``crons`` are ``(field, expression)`` pairs."""
    parsed = [(field, _Cron(text)) for field, text in crons]
    for field, cron in parsed:
        own = _own_gap(cron)
        if own < MIN_GAP_MINUTES:
            return field, _message(cron.text, own)
    for (field, a), (_, b) in combinations(parsed, 2):
        pair = _pair_gap(a, b)
        if pair is not None and pair < MIN_GAP_MINUTES and a.text != b.text:
            return field, (f'"{a.text}" and "{b.text}" give edges {pair} minutes apart; '
                           f"a schedule has at most one edge per {MIN_GAP_MINUTES} minutes")
    return None


def _message(text: str, gap: int) -> str:
    return (f'"{text}" fires twice within {gap} minutes; a schedule has at most one edge '
            f"per {MIN_GAP_MINUTES} minutes")
