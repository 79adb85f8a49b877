"""What the metrics say about one service over one window; unknown is explicit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from reclaimer.model.service import ServiceRef


class SignalState(StrEnum):
    KNOWN = "known"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RecentActivity:
    """Activity within the evaluation's recent span (the busy-at-stop lookback).

    A schedule stop that defers busy services asks what happened in the last few
    minutes, not over an idle rule's longer window: a GPU that ran a long generation
    with no request completed is busy (docs/design.md §3.4). Completed requests and requests
    in flight are in ``Signals.seconds_since_last_request`` (an in-flight gauge above
    0 at a step is activity at that step); this adds the GPU.
    """

    span: timedelta
    gpu_utilization_max: float | None = None


@dataclass(frozen=True)
class Signals:
    """What Prometheus said about one ISVC over ``window`` ending at ``at``.

    Every value may be None: unknown is explicit, and unknown is never idle.
    ``recent`` is None where the source did not measure it or the state is unknown.
    """

    ref: ServiceRef
    at: datetime
    window: timedelta
    state: SignalState
    requests: float | None = None
    seconds_since_last_request: float | None = None
    gpu_utilization_max: float | None = None
    gpu_utilization_mean: float | None = None
    gpus: int | None = None
    coverage_seconds: float | None = None
    reason: str | None = None
    recent: RecentActivity | None = None

    @classmethod
    def unknown(cls, ref: ServiceRef, *, at: datetime, window: timedelta, reason: str) -> Signals:
        return cls(ref=ref, at=at, window=window, state=SignalState.UNKNOWN, reason=reason)
