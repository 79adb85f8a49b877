"""``idle.after: auto``'s data: each service's idle gaps, from history on a grid.

A gap is an idle period between two steps with activity (a request counted or in
flight, or a GPU at or above the policy's ``gpuUtilizationBelow``); the open gap up to
the end is not one (it has not ended). The backtest cuts them from the history it
replays (`idle_gaps`); the service reads them from Prometheus over ``learnFrom``
(`read_busy`), a day at a time, keeping one boolean per minute and service rather than
the whole history, and both hand them to `policy.auto_idle.choose_timeout`.
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
# The queries activity needs: requests counted and in flight, the GPU peak.
ACTIVITY = (RangeQuery.COUNTERS, RangeQuery.IN_FLIGHT, RangeQuery.GPU_MAX)
LEARN_STEP = timedelta(minutes=1)
DAY = 1440  # steps of `LEARN_STEP` read per pass


def busy_steps(one: ServiceHistory, lo: int, hi: int, *, gpu_busy_at: float) -> Bools:
    """Steps of ``[lo, hi)`` with activity."""
    found: Bools = one.activity()[lo:hi] | (np.nan_to_num(one.gpu_max[lo:hi]) >= gpu_busy_at)
    return found


def gaps_of(busy: Bools, step: float) -> list[float]:
    """Idle periods (seconds) between the steps marked busy."""
    marks = np.flatnonzero(busy)
    return [float(g) for g in (np.diff(marks) - 1) * step if g > 0]


def idle_gaps(one: ServiceHistory, index: int, *, learn_from: timedelta,
              gpu_busy_at: float) -> list[float]:
    """Idle gaps before ``index`` within ``learn_from`` (the backtest's history)."""
    lo = max(0, index - steps_in(learn_from, one.grid))
    return gaps_of(busy_steps(one, lo, index, gpu_busy_at=gpu_busy_at), one.grid.step)


def read_busy(settings: PrometheusSettings, thresholds: Mapping[ServiceRef, float], *,
              at: datetime, learn_from: timedelta,
              reader: RangeReader | None = None) -> dict[ServiceRef, Bools]:
    """Each service's busy steps over ``learn_from`` before ``at``, on a one-minute grid,
    read a day at a time (`MetricsUnavailable` on any failure). Each day's grid starts
    one step early, so a request counted at a day's first step is not lost (a series
    present at a grid's first step counts nothing there)."""
    grid = Grid.covering(at - learn_from, at, LEARN_STEP)
    out = {ref: np.zeros(grid.size, dtype=np.bool_) for ref in thresholds}
    for first in range(0, grid.size, DAY):
        size = min(DAY, grid.size - first)
        day = Grid(start=grid.start + (first - 1) * grid.step, step=grid.step, size=size + 1)
        history = read_history(settings, day, reader=reader, only=ACTIVITY)
        for ref, threshold in thresholds.items():
            if ref in history.services:
                out[ref][first:first + size] = busy_steps(history.of(ref), 1, size + 1,
                                                          gpu_busy_at=threshold)
    return out
