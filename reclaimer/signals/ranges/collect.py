"""Folding every chunk's rows into one `History`: pods joined to their ISVC here.

The queries answer per pod or per workload; a service's arrays are the fold of its
rows (`join.fold`), its counters' increments summed over its workloads, and its
newest-sample times as the service's freshness check would read them (`newest`).
Kept apart from the reading so the same fold serves Prometheus's answers and the
locally evaluated ones (`evaluate`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from reclaimer.model import ServiceRef
from reclaimer.signals.ranges.history import Array, Grid, History, increments
from reclaimer.signals.ranges.join import PodMap, fold
from reclaimer.signals.ranges.local import Row
from reclaimer.signals.ranges.matrix import Chunk
from reclaimer.signals.ranges.pod_requests import PodRequests
from reclaimer.signals.ranges.promql import RangeQuery


def _ref(labels: dict[str, str]) -> ServiceRef | None:
    namespace, name = labels.get("namespace", ""), labels.get("isvc", "")
    return ServiceRef(namespace, name) if namespace and name else None


def _workload(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


FOLD = {RangeQuery.FRESH: "max", RangeQuery.IN_FLIGHT: "max", RangeQuery.GPU_MAX: "max",
        RangeQuery.GPUS: "sum", RangeQuery.GPU_MISSING: "sum"}


class Collector:
    """Folds the answers of every chunk into one `History`, joining pod rows locally.

    Answers must come chunk by chunk with ``pods`` first (`read_history` orders them so).
    """

    def __init__(self, grid: Grid, *, per_pod_requests: bool = False) -> None:
        """``per_pod_requests``: count each pod's request shortfall (`pod_requests`);
        only where requests are read per pod."""
        self.history = History(grid)
        self.workloads: dict[tuple[tuple[tuple[str, str], ...], ServiceRef],
                             tuple[ServiceRef, Array]] = {}
        self.pods: dict[int, PodMap] = {}
        self.per_pod_requests = per_pod_requests
        self.requests: tuple[Chunk, PodRequests] | None = None

    def add(self, name: RangeQuery, answer: list[Row], chunk: Chunk) -> None:
        """One query's rows over ``chunk`` (labels, a value per step of it)."""
        if name is RangeQuery.PODS:
            self._pods(answer, chunk)
            return
        pod_map = self.pods[chunk.first]
        if name is RangeQuery.HELD:
            self._per_pod(name, answer)
            return
        if self.requests is not None and name is RangeQuery.COUNTERS:
            self._per_pod(name, answer)
        for labels, row in answer:
            for ref, values in self._rows(labels, row, pod_map):
                if name is RangeQuery.COUNTERS:
                    self._counter(labels, ref, values, chunk)
                else:
                    fold(self._target(name, ref, labels)[chunk.first:chunk.first
                                                         + chunk.size],
                         values, how=FOLD[name])

    @staticmethod
    def _rows(labels: dict[str, str], values: Array,
              pod_map: PodMap) -> list[tuple[ServiceRef, Array]]:
        ref = _ref(labels)
        if ref is not None:
            return [(ref, values)]
        namespace, pod = labels.get("namespace", ""), labels.get("pod", "")
        return pod_map.rows(namespace, pod, values) if namespace and pod else []

    def _per_pod(self, name: RangeQuery, answer: list[Row]) -> None:
        if self.requests is None:
            return
        for labels, values in answer:
            if name is RangeQuery.COUNTERS:
                self.requests[1].counter(labels, values)
            else:
                self.requests[1].requested(labels, values)

    def _close_requests(self) -> None:
        if self.requests is not None:
            chunk, requests = self.requests
            requests.close(self.pods[chunk.first], self.history, chunk.first)
            self.requests = None

    def _pods(self, answer: list[Row], chunk: Chunk) -> None:
        self._close_requests()  # chunks come in order: the previous one is complete
        self.pods.clear()
        if self.per_pod_requests:
            self.requests = (chunk, PodRequests(chunk.size))
        pod_map = self.pods[chunk.first] = PodMap(chunk.size)
        for labels, values in answer:
            if labels.get("namespace") and labels.get("pod") and labels.get("isvc"):
                pod_map.add(labels["namespace"], labels["pod"], labels["isvc"], values)
        for ref, present in pod_map.services():
            # ``gpus`` is 0 for an ISVC with pods and no GPU request (``or 0 * count``).
            gpus = self.history.of(ref).gpus[chunk.first:chunk.first + chunk.size]
            gpus[~np.isnan(present) & np.isnan(gpus)] = 0.0

    def _counter(self, labels: dict[str, str], ref: ServiceRef, values: Array,
                 chunk: Chunk) -> None:
        key = (_workload(labels), ref)
        if key not in self.workloads:
            self.workloads[key] = (ref, self.history.grid.empty())
        target = self.workloads[key][1][chunk.first:chunk.first + chunk.size]
        here = ~np.isnan(values)
        target[here] = values[here]

    def _target(self, name: RangeQuery, ref: ServiceRef, labels: dict[str, str]) -> Array:
        one = self.history.of(ref)
        if name is RangeQuery.FRESH:
            return one.requests_newest if labels.get("signal") == "requests" else one.gpu_newest
        targets = {RangeQuery.IN_FLIGHT: one.in_flight, RangeQuery.GPU_MAX: one.gpu_max,
                   RangeQuery.GPUS: one.gpus, RangeQuery.GPU_MISSING: one.gpu_missing}
        return targets[name]

    def finish(self, stale: float) -> History:
        """Increments per service; the newest-sample arrays from fresh and present steps."""
        self._close_requests()
        for ref, values in self.workloads.values():
            one = self.history.of(ref)
            one.increments += increments(values)
            one.counted = np.maximum(one.counted, (~np.isnan(values)).astype(np.float64))
        grid = self.history.grid
        stamps: Array = grid.start + grid.step * np.arange(grid.size, dtype=np.float64)
        for one in self.history.services.values():
            one.requests_newest = newest(one.requests_newest, one.counted > 0, stamps, stale)
            one.gpu_newest = newest(one.gpu_newest, ~np.isnan(one.gpu_max), stamps, stale)
        return self.history


def newest(fresh: Array, present: npt.NDArray[np.bool_], stamps: Array, stale: float) -> Array:
    """The newest sample's time as the service's freshness check reads it: the step
    itself where a sample is fresh, ``stale`` seconds earlier where one is present but
    older than ``maxSampleAge``, NaN where none is in the 5-minute lookback."""
    out: Array = np.where(present, stamps - stale, np.nan)
    is_fresh = ~np.isnan(fresh) & (np.nan_to_num(fresh) > 0)
    out[is_fresh] = stamps[is_fresh]
    return out
