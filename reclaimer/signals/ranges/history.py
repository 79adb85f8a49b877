"""What Prometheus recorded per ISVC, as arrays over one time grid.

Index ``i`` is the instant ``grid.start + i * grid.step``; the grid is aligned to
multiples of the step, as the service's subqueries are (`signals.assemble.expected_steps`).
Absent values are NaN: a step at which no series was seen is a step not covered.

``increments`` are requests counted at each step (since the step before): the
counters' increases per workload, a counter reset counting its new value and a series
born inside the range its first value, as the service's ``requests`` query counts them
(the new-series trap, docs/signals.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from reclaimer.model import ServiceRef

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Grid:
    start: float  # unix seconds, a multiple of ``step``
    step: float
    size: int

    @classmethod
    def covering(cls, start: datetime, end: datetime, step: timedelta) -> Grid:
        """Instants from the first multiple of ``step`` at or after ``start`` to before ``end``."""
        seconds = step.total_seconds()
        first = -(-start.timestamp() // seconds) * seconds
        size = max(0, int(-(-(end.timestamp() - first) // seconds)))
        return cls(start=first, step=seconds, size=size)

    def at(self, index: int) -> datetime:
        return datetime.fromtimestamp(self.start + index * self.step, UTC)

    def index(self, instant: float) -> int:
        """The first grid index at or after ``instant``."""
        return int(-(-(instant - self.start) // self.step))

    def empty(self, fill: float = np.nan) -> Array:
        return np.full(self.size, fill, dtype=np.float64)


def steps_in(span: timedelta, grid: Grid) -> int:
    """Grid steps within a span (the window's increments; its points are one more)."""
    return max(1, round(span.total_seconds() / grid.step))


@dataclass(frozen=True)
class Counts:
    """Running counts over one service's arrays, so that each step's window reads them
    in O(1) (``x[hi] - x[lo]`` counts over ``[lo, hi)``): a replay evaluates windows
    tens of thousands of times, and NumPy's NaN-aware reductions on short slices cost
    more in overhead than in work."""

    requests_present: npt.NDArray[np.int64]
    gpu_present: npt.NDArray[np.int64]
    gpu_max_present: npt.NDArray[np.int64]
    last_active: npt.NDArray[np.int64]  # latest index <= i with activity, else -1
    gpu_filled: Array  # ``gpu_max`` with NaN as 0, as ``np.nanmean`` sums it


def _running(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    return np.concatenate(([0], np.cumsum(mask, dtype=np.int64)))


@dataclass
class ServiceHistory:
    """One ISVC's arrays; NaN is "no series at this step"."""

    grid: Grid
    requests_newest: Array = field(init=False)
    gpu_newest: Array = field(init=False)
    increments: Array = field(init=False)
    counted: Array = field(init=False)  # 1 where some counter series was seen
    in_flight: Array = field(init=False)
    gpu_max: Array = field(init=False)
    gpus: Array = field(init=False)
    gpu_missing: Array = field(init=False)
    requests_missing: Array = field(init=False)
    """Pods that held a GPU with no request series, where requests are read per pod
    (`ranges.pod_requests`; counted only where asked, e.g. `ranges.gaps.read_busy`)."""

    def __post_init__(self) -> None:
        self.requests_newest = self.grid.empty()
        self.gpu_newest = self.grid.empty()
        self.increments = self.grid.empty(0.0)
        self.counted = self.grid.empty(0.0)
        self.in_flight = self.grid.empty(0.0)
        self.gpu_max = self.grid.empty()
        self.gpus = self.grid.empty()
        self.gpu_missing = self.grid.empty(0.0)
        self.requests_missing = self.grid.empty(0.0)

    def counts(self) -> Counts:
        """Computed once, at the first window read (the arrays are complete by then)."""
        found: Counts | None = self.__dict__.get("_counts")
        if found is None:
            steps = np.arange(self.grid.size, dtype=np.int64)
            found = Counts(
                requests_present=_running(~np.isnan(self.requests_newest)),
                gpu_present=_running(~np.isnan(self.gpu_newest)),
                gpu_max_present=_running(~np.isnan(self.gpu_max)),
                last_active=np.maximum.accumulate(np.where(self.activity(), steps, -1)),
                gpu_filled=np.nan_to_num(self.gpu_max))
            self.__dict__["_counts"] = found
        return found

    def unknown(self, *, max_age: float) -> npt.NDArray[np.bool_]:
        """Steps at which the service's data, at that instant, says nothing: as the
        service's live check (docs/signals.md "Known or unknown"), per step: no request
        series or a stale one; GPUs requested with no GPU series or a stale one; a pod
        short of GPU series (`gpu_missing`) or of request series (`requests_missing`)."""
        stamps = self.grid.start + np.arange(self.grid.size) * self.grid.step
        with np.errstate(invalid="ignore"):
            requests = np.isnan(self.requests_newest) | (stamps - self.requests_newest > max_age)
            gpu_stale = np.isnan(self.gpu_newest) | (stamps - self.gpu_newest > max_age)
        needs_gpu = np.nan_to_num(self.gpus) > 0
        result: npt.NDArray[np.bool_] = (requests | (needs_gpu & gpu_stale)
                                         | (self.gpu_missing > 0) | (self.requests_missing > 0))
        return result

    def activity(self) -> npt.NDArray[np.bool_]:
        """Steps with a request counted or in flight."""
        result: npt.NDArray[np.bool_] = (self.increments > 0) | (self.in_flight > 0)
        return result


@dataclass
class History:
    grid: Grid
    services: dict[ServiceRef, ServiceHistory] = field(default_factory=dict)

    def of(self, ref: ServiceRef) -> ServiceHistory:
        found = self.services.get(ref)
        if found is None:
            found = self.services[ref] = ServiceHistory(self.grid)
        return found


def increments(values: Array) -> Array:
    """Requests per step of one counter series (NaN where absent).

    A rise counts its difference; a fall is a reset and counts the new value; after a
    gap the value is compared with the last one seen. A series that first appears
    inside the grid counts its first value (the new-series trap); one already there
    at the grid's first step counts nothing for it (it was born earlier).
    """
    out = np.zeros_like(values)
    present = np.flatnonzero(~np.isnan(values))
    if present.size == 0:
        return out
    seen = values[present]
    rises = np.diff(seen, prepend=np.nan)
    counted = np.where(rises >= 0, rises, seen)
    counted[0] = 0.0 if present[0] == 0 else seen[0]
    out[present] = counted
    return out
