"""Reading a ``recorded`` answer (`recorded.py`): the rules' heartbeat, coverage in the
raw grid's steps, the last request as the raw queries report it.

The recorded queries return what PromQL computes cheaply; what would cost a second
read of a recorded series in PromQL (a branch on its value) is done here, once per
row, after the answer: the rounding of the rules' newest change (`LastSeen`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from reclaimer.model import ServiceRef
from reclaimer.signals.answer import Row
from reclaimer.signals.assemble import GPU, REQUESTS, expected_steps
from reclaimer.signals.queries import Query, Spans
from reclaimer.signals.windows import window_value

RULES_EVALUATIONS = "rules-evaluations"
RULES_NEWEST = "rules-newest"
RULES_WRITTEN = "rules-written"  # heartbeats of every file writing the presets' series
RECORDED_CHANGE = "recorded-change"  # the rules' newest change, before `LastSeen` rounds it
SERVICE_SIGNALS = (REQUESTS, GPU)
LAG_STEPS = 2  # the rules' newest evaluation may be this many steps old (it takes time)


@dataclass(frozen=True)
class LastSeen:
    """What the raw queries report for a change the rules recorded at ``newest``.

    A step later (the evaluation that saw it may be a step after the sample), never
    after the evaluation; beyond the recent span rounded up to the raw coarse grid
    and no later than the recent span's start, as the raw subquery rounds it: never
    older than the raw answer. Done here, not in PromQL, where the branch would read
    the recorded series twice.
    """

    step: timedelta
    recent: timedelta
    coarse: timedelta

    @classmethod
    def of(cls, spans: Spans) -> LastSeen:
        return cls(step=spans.step, recent=spans.recent, coarse=spans.coarse_step)

    def __call__(self, newest: float, *, at: float) -> float:
        step, coarse = self.step.total_seconds(), self.coarse.total_seconds()
        start = at - self.recent.total_seconds()
        near = min(newest + step, at)
        if near > start:
            return near
        return min(math.floor((newest + coarse + step) / coarse) * coarse, start)


@dataclass(frozen=True)
class Check:
    """What the coverage query says of the rules: evaluations over the horizon, the newest,
    and the evaluations of every file writing the same series (``written``)."""

    evaluations: float | None
    newest: float | None
    written: float | None = None

    def complete(self, *, at: float, horizon: timedelta, step: timedelta) -> bool:
        """Every evaluation since ``at - horizon - step`` is there, the newest is recent,
        and no other file wrote the same series: two files' groups run at two phases,
        so a series with data half the time would count a whole window's samples."""
        if self.evaluations is None or self.newest is None or self.written is None:
            return False
        step_s = step.total_seconds()
        if at - self.newest > LAG_STEPS * step_s:
            return False
        expected = self.expected(at=at, span=horizon + step, step=step)
        return self.evaluations >= expected >= self.written

    def expected(self, *, at: float, span: timedelta, step: timedelta) -> int:
        """Evaluations in ``[at - span, at]``, one a step, the last at ``newest``."""
        assert self.newest is not None
        return math.floor((self.newest - (at - span.total_seconds())) / step.total_seconds()) + 1


def rules_check(coverage: Sequence[Row]) -> Check:
    """The rules' heartbeat rows of a recorded coverage answer (no service labels)."""
    found = {row.signal: row.value for row in coverage
             if row.signal in (RULES_EVALUATIONS, RULES_NEWEST, RULES_WRITTEN)}
    return Check(evaluations=found.get(RULES_EVALUATIONS), newest=found.get(RULES_NEWEST),
                 written=found.get(RULES_WRITTEN))


def normalized(rows: Mapping[Query, list[Row]], check: Check, *, at: datetime,
               windows: Sequence[timedelta], step: timedelta,
               last_seen: LastSeen) -> dict[Query, list[Row]]:
    """Coverage in the raw grid's steps: evaluations with data over those made; the
    last request as the raw queries report it (`LastSeen`), one row per service.

    `assemble` compares coverage with the raw grid's steps; a service whose data was
    there at every evaluation gets all of them, one that missed any gets the share.
    Per-pod rows (GPU-steps short) are counts of evaluations already.
    """
    by_value = {window_value(w): w for w in windows}
    out = dict(rows)
    out[Query.LAST_REQUEST] = _last_requests(rows[Query.LAST_REQUEST], last_seen,
                                             at=round(at.timestamp(), 3))
    # (evaluations made, raw steps) per window: the same for every row of it
    steps = {w: (check.expected(at=at.timestamp(), span=w + step, step=step),
                 expected_steps(at, w, step)) for w in windows}
    scaled = []
    for row in rows[Query.COVERAGE]:
        if row.signal in SERVICE_SIGNALS:
            made, full = steps[by_value[row.window] if row.window is not None else windows[0]]
            scaled.append(row._replace(value=full * min(1.0, row.value / max(made, 1))))
        else:
            scaled.append(row)
    out[Query.COVERAGE] = scaled
    return out


def _last_requests(rows: Sequence[Row], last_seen: LastSeen, *, at: float) -> list[Row]:
    """The recorded change rounded (`LastSeen`), the newest of it and the raw tails.

    ``at`` as Prometheus's ``time()`` saw it (the query's time, to the millisecond).
    Rows of an operator's own template carry no `RECORDED_CHANGE` and pass as they are.
    """
    newest: dict[ServiceRef, Row] = {}
    for row in rows:
        seen = row._replace(signal="", value=last_seen(row.value, at=at)) \
            if row.signal == RECORDED_CHANGE else row
        kept = newest.get(seen.ref)
        if kept is None or seen.value > kept.value:
            newest[seen.ref] = seen
    return list(newest.values())
