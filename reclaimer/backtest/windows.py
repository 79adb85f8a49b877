"""Each step's windows, evaluated locally from `History` by the service's own rules.

`signals_at` fills one `signals.assemble.Observations` for one service, one window
and one step, as the service's seven queries would have answered it at that
instant, and `assemble` turns it into `Signals` with the service's rules (coverage of
every step, freshness, per-pod GPU shortfalls, unknown is never idle). Steps before
the service's simulated start are not covered: its pods did not exist, so a window
reaching back over a stop is unknown, as it is in the service.

`idle_candidates` is a necessary condition for an IDLE verdict, vectorised over all
steps: it lets the loop skip the steps at which no idle stop can happen. It never
decides anything itself; every stop comes from `decide()` on `signals_at`.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import numpy.typing as npt

from reclaimer.model import IdleRule, ServiceRef, Signals
from reclaimer.signals.assemble import GPU, REQUESTS, Evaluation, Observations, assemble
from reclaimer.signals.ranges.history import Array, ServiceHistory, steps_in

# The name standing for "some pod of the service" in a GPU shortfall: the range query
# sums the shortfall of every pod (each pod held to its own series), not per pod.
SOME_POD = "(one or more pods)"
HORIZON = timedelta(hours=1)
Bools = npt.NDArray[np.bool_]
BySignal = dict[tuple[ServiceRef, str], float]  # a coverage or freshness row per signal


def _last_activity(one: ServiceHistory, lo: int, hi: int) -> float | None:
    last = int(one.counts().last_active[hi - 1])
    return None if last < lo else float(one.grid.start + last * one.grid.step)


def _peak(values: Array, present: int) -> float | None:
    return float(np.fmax.reduce(values)) if present else None


def _covered_and_fresh(ref: ServiceRef, one: ServiceHistory, index: int, *, lo: int, hi: int,
                       since: int) -> tuple[BySignal, BySignal]:
    """Steps with a series of each signal in ``[lo, hi)``, and its newest sample at ``index``
    (none before ``since``): the coverage and freshness queries' rows."""
    counts = one.counts()
    coverage: dict[tuple[ServiceRef, str], float] = {}
    freshness: dict[tuple[ServiceRef, str], float] = {}
    for signal, newest, present in ((REQUESTS, one.requests_newest, counts.requests_present),
                                    (GPU, one.gpu_newest, counts.gpu_present)):
        seen = int(present[hi] - present[lo])
        if seen:
            coverage[(ref, signal)] = seen
            if not np.isnan(newest[index]) and index >= since:
                freshness[(ref, signal)] = float(newest[index])
    return coverage, freshness


def observations(ref: ServiceRef, one: ServiceHistory, index: int, *, window: timedelta,
                 recent: timedelta, since: int) -> Observations:
    """What the service's queries would have said at ``index`` (nothing before ``since``)."""
    grid = one.grid
    counts = one.counts()
    lo = max(index - steps_in(window, grid), since, 0)
    hi = index + 1
    coverage, freshness = _covered_and_fresh(ref, one, index, lo=lo, hi=hi, since=since)
    requests = float(one.increments[lo + 1:hi].sum()) + float(one.in_flight[lo:hi].max())
    last = _last_activity(one, lo, hi)
    gpu_values = one.gpu_max[lo:hi]
    gpu_seen = int(counts.gpu_max_present[hi] - counts.gpu_max_present[lo])
    gpu_max = _peak(gpu_values, gpu_seen)
    recent_lo = max(index - steps_in(recent, grid), lo)
    recent_max = _peak(one.gpu_max[recent_lo:hi],
                       int(counts.gpu_max_present[hi] - counts.gpu_max_present[recent_lo]))
    missing = float(one.gpu_missing[lo:hi].sum())
    gpus = one.gpus[index]
    return Observations(
        requests={ref: requests} if (ref, REQUESTS) in coverage else {},
        last_request={} if last is None else {ref: last},
        coverage=coverage, freshness=freshness,
        gpu_max={} if gpu_max is None else {ref: gpu_max},
        gpu_mean={} if gpu_max is None else {  # as np.nanmean computes it
            ref: float(counts.gpu_filled[lo:hi].sum() / gpu_seen)},
        gpus={} if np.isnan(gpus) or index < since else {ref: float(gpus)},
        gpu_pod_missing={ref: {SOME_POD: missing}} if missing > 0 else {},
        recent_gpu_max={} if recent_max is None else {ref: recent_max})


def signals_at(ref: ServiceRef, one: ServiceHistory, index: int, *, window: timedelta,  # noqa: PLR0913 - one window of one step
               recent: timedelta, since: int, max_sample_age: timedelta) -> Signals:
    grid = one.grid
    obs = observations(ref, one, index, window=window, recent=recent, since=since)
    evaluation = Evaluation(at=grid.at(index), window=window,
                            step=timedelta(seconds=grid.step), max_sample_age=max_sample_age,
                            recent=recent)
    found = assemble(obs, evaluation).get(ref)
    if found is None:
        return Signals.unknown(ref, at=evaluation.at, window=window,
                               reason="no series for this service")
    return found


def _sums(values: Array, width: int) -> Array:
    """Sum over the ``width`` values ending at each index (fewer at the start)."""
    total = np.concatenate(([0.0], np.cumsum(values)))
    ends = np.arange(1, values.size + 1)
    return total[ends] - total[np.maximum(ends - width, 0)]


def idle_candidates(one: ServiceHistory, rule: IdleRule, *, lookback: timedelta) -> Bools:
    """Steps at which an IDLE verdict is possible: a necessary condition only.

    Over the window: a request series at every step, at most ``maxRequests`` requests,
    no GPU at or above the threshold; within the lookback: no request.
    """
    grid = one.grid
    window = max(rule.after, lookback)
    width = steps_in(window, grid)
    covered = _sums((~np.isnan(one.requests_newest)).astype(np.float64), width + 1)
    requests = _sums(one.increments, width) + _sums(one.in_flight, width + 1)
    hot = _sums((one.gpu_max >= rule.gpu_utilization_below).astype(np.float64), width + 1)
    recent = _sums(one.activity().astype(np.float64), steps_in(lookback, grid))
    result: Bools = ((covered >= width + 1) & (requests <= rule.max_requests) & (hot == 0)
                     & (recent == 0))
    result[: width] = False
    return result
