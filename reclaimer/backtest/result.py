"""The figures of a backtest, per service and in total, and the oracle they compare with.

JSON field names are the ones issue 18 fixes: ``gpuHoursReclaimed``, ``stops``,
``starts``, ``coldStarts`` (stopped intervals a request hit), ``requestsWhileStopped``
(requests that arrived while stopped or starting), ``oracleGpuHours``; in the totals
also ``fractionOfOracle`` and ``stopsDuringTraffic`` (stops made while requests were
in flight or completed in the step before), plus ``unknownServiceHours``: running
service-hours at which the data said nothing (a service is unknown there, never idle).

The oracle knows every future request: it stops at the start of each gap between
activity (requests, or GPU at or above the policy's threshold; steps with unknown data
count as activity) longer than twice the start time, is running again when the next
request arrives, and so gives back ``gap - start time`` of each such gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from reclaimer.backtest.state import Outcome, Track
from reclaimer.model import ServiceRef
from reclaimer.policy.idle import busy_gpu_threshold
from reclaimer.signals.ranges.history import ServiceHistory


@dataclass(frozen=True)
class ServiceResult:
    ref: ServiceRef
    policy: str
    gpus: int
    gpu_hours: float
    stops: int
    starts: int
    cold_starts: int
    requests_while_stopped: float
    oracle_gpu_hours: float
    during_traffic: int
    unknown_hours: float

    def json(self) -> dict[str, Any]:
        return {"namespace": self.ref.namespace, "name": self.ref.name, "policy": self.policy,
                "gpus": self.gpus, "gpuHoursReclaimed": round(self.gpu_hours, 4),
                "stops": self.stops, "starts": self.starts, "coldStarts": self.cold_starts,
                "requestsWhileStopped": round(self.requests_while_stopped, 3),
                "oracleGpuHours": round(self.oracle_gpu_hours, 4),
                "unknownServiceHours": round(self.unknown_hours, 4)}


def unknown_steps(one: ServiceHistory, *, max_age: float) -> npt.NDArray[np.bool_]:
    """Steps at which the service's own data, at that instant, was missing or stale
    (`ServiceHistory.unknown`: the learner of ``idle.after: auto`` reads the same)."""
    return one.unknown(max_age=max_age)


def oracle_hours(active: npt.NDArray[np.bool_], *, first: int, end: int, step: float,
                 start_time: timedelta, gpus: int) -> float:
    """GPU-hours the oracle gives back over ``[first, end)``."""
    cost = start_time.total_seconds()
    marks = np.concatenate(([first - 1], first + np.flatnonzero(active[first:end]), [end]))
    gaps = (np.diff(marks) - 1) * step
    useful = gaps[gaps > 2 * cost]
    return float((useful - cost).sum()) * gpus / 3600


def _requests_while_stopped(track: Track, one: ServiceHistory, end: int) -> tuple[int, float]:
    """Stopped intervals a request hit, and the requests that arrived stopped or starting."""
    cold, waited = 0, 0.0
    for stop in track.stops:
        last = min(end - 1, stop.ready if stop.ready is not None else end - 1)
        span = slice(stop.start + 1, last + 1)
        if one.increments[span].sum() + one.in_flight[span].sum() > 0:
            cold += 1
            waited += float(one.increments[span].sum())
    return cold, waited


def service_result(track: Track, one: ServiceHistory, outcome: Outcome, *,
                   start_time: timedelta, max_age: float) -> ServiceResult:
    policy = outcome.policies[track.ref]
    step = one.grid.step
    stopped = sum(((s.end if s.end is not None else outcome.end) - s.start) for s in track.stops)
    unknown = unknown_steps(one, max_age=max_age)
    running = np.ones(one.grid.size, dtype=bool)
    for stop in track.stops:
        running[stop.start:stop.end if stop.end is not None else outcome.end] = False
    active = one.activity() | (np.nan_to_num(one.gpu_max) >= busy_gpu_threshold(policy)) | unknown
    cold, waited = _requests_while_stopped(track, one, outcome.end)
    window = slice(outcome.first, outcome.end)
    return ServiceResult(
        ref=track.ref, policy=policy.key, gpus=track.gpus,
        gpu_hours=stopped * step * track.gpus / 3600, stops=len(track.stops),
        starts=track.starts, cold_starts=cold, requests_while_stopped=waited,
        oracle_gpu_hours=oracle_hours(active, first=outcome.first, end=outcome.end, step=step,
                                      start_time=start_time, gpus=track.gpus),
        during_traffic=track.during_traffic,
        unknown_hours=float(np.count_nonzero(unknown[window] & running[window])) * step / 3600)


def totals(results: list[ServiceResult]) -> dict[str, Any]:
    reclaimed = sum(r.gpu_hours for r in results)
    oracle = sum(r.oracle_gpu_hours for r in results)
    return {"gpuHoursReclaimed": round(reclaimed, 4), "oracleGpuHours": round(oracle, 4),
            "fractionOfOracle": round(reclaimed / oracle, 4) if oracle > 0 else None,
            "stops": sum(r.stops for r in results),
            "coldStarts": sum(r.cold_starts for r in results),
            "requestsWhileStopped": round(sum(r.requests_while_stopped for r in results), 3),
            "stopsDuringTraffic": sum(r.during_traffic for r in results),
            "unknownServiceHours": round(sum(r.unknown_hours for r in results), 4)}
