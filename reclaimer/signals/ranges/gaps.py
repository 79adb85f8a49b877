"""``idle.after: auto``'s data: each service's idle gaps, from history on a grid.

A gap is an idle period between two steps with activity (a request counted or in
flight, or a GPU at or above the policy's ``gpuUtilizationBelow``); the open gap up to
the end is not one (it has not ended). The backtest cuts them from the history it
replays (`states_before`); the service reads them from Prometheus over ``learnFrom``
(`read_busy`), a day at a time, keeping one byte per minute and service rather than
the whole history, and both hand them to `policy.auto_idle.choose_timeout`.

Each step is one of four (`step_states`): busy (activity seen), idle
(every pod's data there and no activity), unknown (the data is incomplete at that step:
a pod not scraped, a target down, a stale or missing series; the live signals' notion,
`ServiceHistory.unknown`), or stopped (no pod of the service: stopped by reclaimer or by
a person, or not yet created). Only a run of idle steps between two busy steps is an
observed gap: one that touches an unknown step might have held a request nobody saw
(two 99-minute gaps read as one of 199 when a pod's requests go unseen). A stopped
span between two busy steps is counted in (`gaps_of`), with its edges: the few
unknown steps as the pods go and as new ones load (`_stop_edges`). Stopped steps are left out of
the share of history observed (`observed`), unknown ones count against it, and so does
idle time in gaps touching them; too little observed history makes the learner fall
back to ``autoMax`` (`policy.auto_idle.MIN_OBSERVED`; a service that never ran in
``learnFrom`` too). "No pod" is read from kube-state-metrics: a span where Prometheus
lost everything, kube-state-metrics included, looks the same as a stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from reclaimer.model import ServiceRef
from reclaimer.signals.ranges.fetch import RangeReader, read_history
from reclaimer.signals.ranges.history import Grid, ServiceHistory, steps_in
from reclaimer.signals.ranges.promql import RangeQuery
from reclaimer.signals.settings import PrometheusSettings

Bools = npt.NDArray[np.bool_]
States = npt.NDArray[np.int8]
IDLE, BUSY, UNKNOWN, STOPPED = 0, 1, 2, 3
# The queries activity needs: requests counted and in flight, the GPU peak.
ACTIVITY = (RangeQuery.COUNTERS, RangeQuery.IN_FLIGHT, RangeQuery.GPU_MAX)
# And what tells a step known (as the live signals judge it) or stopped (no pod).
COVERAGE = (RangeQuery.FRESH, RangeQuery.GPUS, RangeQuery.GPU_MISSING)
LEARN_STEP = timedelta(minutes=1)
DAY = 1440  # steps of `LEARN_STEP` read per pass
STOP_EDGE = 15
"""Steps of unknown next to a stop counted as its edge (`_stop_edges`): Prometheus'
5-minute lookback at the stop, a model's loading at the start."""


def busy_steps(one: ServiceHistory, lo: int, hi: int, *, gpu_busy_at: float) -> Bools:
    """Steps of ``[lo, hi)`` with activity."""
    found: Bools = one.activity()[lo:hi] | (np.nan_to_num(one.gpu_max[lo:hi]) >= gpu_busy_at)
    return found


def step_states(one: ServiceHistory, lo: int, hi: int, *, gpu_busy_at: float,
                max_age: float) -> States:
    """Each step of ``[lo, hi)``: `BUSY` where activity was seen (seen is seen, even
    with a sibling's data missing), else `STOPPED` where no pod was mapped to the
    service, `UNKNOWN` where its data was incomplete, `IDLE`."""
    states: States = np.full(hi - lo, IDLE, dtype=np.int8)
    stopped = np.isnan(one.gpus[lo:hi])
    states[one.unknown(max_age=max_age)[lo:hi]] = UNKNOWN
    states[stopped] = STOPPED
    states[busy_steps(one, lo, hi, gpu_busy_at=gpu_busy_at)] = BUSY
    return states


def _stop_edges(states: States | Bools) -> States | Bools:
    """Unknown runs of at most `STOP_EDGE` steps next to a stopped span counted
    stopped: a stop begins with the pods' series lingering by Prometheus' lookback,
    their requests already stale, and a start ends with the new pod loading before its
    first scrape; no request is served unseen there. Left unknown, every gap through a
    stop was censored, and a service stopped in its long gaps learned only its short
    ones (10 m for 109 m). A longer unknown run stays unknown."""
    if states.dtype == np.bool_:  # the backtest's busy or idle: no edges
        return states
    unknown = states == UNKNOWN
    if not unknown.any() or not (states == STOPPED).any():
        return states
    bounds = np.flatnonzero(np.diff(np.concatenate(([0], unknown.astype(np.int8), [0]))))
    starts, ends = bounds[0::2], bounds[1::2]
    after = np.append(states, IDLE)[ends] == STOPPED
    before = np.concatenate(([IDLE], states))[starts] == STOPPED
    edge = (before | after) & (ends - starts <= STOP_EDGE)
    out = states.copy()
    out[unknown] = np.where(np.repeat(edge, ends - starts), STOPPED, UNKNOWN)
    return out


def gaps_of(states: States | Bools, step: float) -> list[float]:
    """Idle periods (seconds) between two busy steps, stopped steps between them
    counted in: a run that reaches an unknown step is no observed gap. (Booleans are
    busy or idle: the backtest's replayed history.) A run through a stop counts whole:
    the next request came that long after the last one whoever stopped the service in
    between, and dropping such runs dropped exactly the gaps longer than the timeout
    that stopped it, so a learned timeout could only shrink (a service stopped by its
    30-minute timeout in each 99-minute gap learned its fallback, 30 m, for 109 m)."""
    states = _stop_edges(states)
    marks = np.flatnonzero((states != IDLE) & (states != STOPPED))
    if marks.size < 2:
        return []
    busy_ends = states[marks] == BUSY
    lengths = (np.diff(marks) - 1) * step
    return [float(g) for g, ok in zip(lengths, busy_ends[:-1] & busy_ends[1:], strict=True)
            if ok and g > 0]


def observed(states: States) -> float:
    """The share of the steps the service ran (not stopped) whose data was complete,
    or of the idle time between busy steps that lies in observed gaps
    (`_gap_share`), whichever is less; 0 when it never ran. A stop's edges are part
    of it (`_stop_edges`)."""
    states = _stop_edges(states).astype(np.int8, copy=False)
    running = int(np.count_nonzero(states != STOPPED))
    known = int(np.count_nonzero((states == IDLE) | (states == BUSY)))
    return min(known / running, _gap_share(states)) if running else 0.0


def _gap_share(states: States) -> float:
    """The idle time between two busy steps (stopped steps not counted) that lies in
    gaps with no unknown step. A long gap is likelier than a short one to touch an
    unknown step, so dropping those keeps the short ones: a target down a quarter of
    every hour drops every 99-minute gap while 80 % of the steps are complete (the
    learner then chose its 30-minute fallback). 1 when there is no such idle time."""
    marks = np.flatnonzero(states == BUSY)
    if marks.size < 2:
        return 1.0
    unknown = np.concatenate(([0], np.cumsum(states == UNKNOWN)))
    running = np.concatenate(([0], np.cumsum(states != STOPPED)))
    idle = running[marks[1:]] - running[marks[:-1] + 1]
    touched = unknown[marks[1:]] - unknown[marks[:-1] + 1] > 0
    total = int(idle.sum())
    return int(idle[~touched].sum()) / total if total else 1.0


def states_before(one: ServiceHistory, index: int, *, learn_from: timedelta,
                  gpu_busy_at: float, max_age: float) -> States:
    """Step states before ``index`` within ``learn_from`` (the backtest's history, held
    to the same rule as the service's)."""
    lo = max(0, index - steps_in(learn_from, one.grid))
    return step_states(one, lo, index, gpu_busy_at=gpu_busy_at, max_age=max_age)


def idle_gaps(one: ServiceHistory, index: int, *, learn_from: timedelta,
              gpu_busy_at: float) -> list[float]:
    """Gaps between activity before ``index`` within ``learn_from``, every step without
    activity taken as idle (what coverage leaves out of `states_before`)."""
    lo = max(0, index - steps_in(learn_from, one.grid))
    return gaps_of(busy_steps(one, lo, index, gpu_busy_at=gpu_busy_at), one.grid.step)


def read_busy(settings: PrometheusSettings, thresholds: Mapping[ServiceRef, float], *,
              at: datetime, learn_from: timedelta,
              reader: RangeReader | None = None) -> dict[ServiceRef, States]:
    """Each service's step states (`step_states`) over ``learn_from`` before ``at``, on
    a one-minute grid, read a day at a time (`MetricsUnavailable` on any failure). A
    day with no pod of a service (not yet created, or stopped all day) is stopped, as
    a step without a pod is within a day. Each day's grid starts
    one step early, so a request counted at a day's first step is not lost (a series
    present at a grid's first step counts nothing there)."""
    grid = Grid.covering(at - learn_from, at, LEARN_STEP)
    out = {ref: np.full(grid.size, STOPPED, dtype=np.int8) for ref in thresholds}
    max_age = settings.max_sample_age.total_seconds()
    for first in range(0, grid.size, DAY):
        size = min(DAY, grid.size - first)
        day = Grid(start=grid.start + (first - 1) * grid.step, step=grid.step, size=size + 1)
        history = read_history(settings, day, reader=reader, only=ACTIVITY + COVERAGE,
                               per_pod_requests=True)
        for ref, threshold in thresholds.items():
            if ref in history.services:
                out[ref][first:first + size] = step_states(
                    history.of(ref), 1, size + 1, gpu_busy_at=threshold, max_age=max_age)
    return out
