"""Reading history: each range query once per chunk, parsed into `History` arrays.

A chunk spans at most ``chunk_steps`` steps (Prometheus refuses more than 11,000
points per series in one query), and the chunks of all queries are asked
``concurrency`` at a time. Any failure (HTTP error, timeout, a partial answer with
warnings, a wrong shape) fails the whole backtest with `MetricsUnavailable`: a
replay over missing history would report savings nobody could trust.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import requests

from reclaimer.backtest.history import Array, Grid, History, increments
from reclaimer.backtest.promql import RangeQuery, build
from reclaimer.errors import MetricsUnavailable
from reclaimer.model import ServiceRef
from reclaimer.signals.settings import PrometheusSettings

MAX_POINTS = 11_000
QUERY_TIMEOUT = 120.0


@dataclass(frozen=True)
class Chunk:
    first: int  # grid index of the chunk's first instant
    size: int


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    chunk: Chunk
    stamps: list[float]
    values: list[float]


def chunks(grid: Grid, chunk_steps: int) -> list[Chunk]:
    size = max(1, min(chunk_steps, MAX_POINTS))
    return [Chunk(first, min(size, grid.size - first)) for first in range(0, grid.size, size)]


class RangeReader:
    """One HTTP session; headers, bearer token and TLS as the service's client uses them."""

    def __init__(self, settings: PrometheusSettings, *, timeout: float = QUERY_TIMEOUT) -> None:
        self.settings = settings
        self.timeout = timeout
        self.session = requests.Session()
        tls = settings.tls
        self.session.verify = False if tls.insecure_skip_verify else (tls.ca_file or True)
        if tls.cert_file is not None:
            self.session.cert = (tls.cert_file, tls.key_file or tls.cert_file)
        self.queries = 0

    def close(self) -> None:
        self.session.close()

    def _headers(self) -> dict[str, str]:
        headers = dict(self.settings.headers)
        path = self.settings.bearer_token_file
        if path is not None:
            try:
                token = Path(path).read_text().strip()
            except OSError as exc:
                raise MetricsUnavailable(f"cannot read bearerTokenFile {path}: "
                                         f"{exc.strerror}") from exc
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def ask(self, name: RangeQuery, text: str, grid: Grid, chunk: Chunk) -> list[Series]:
        start = grid.start + chunk.first * grid.step
        params = {"query": text, "start": f"{start:.3f}",
                  "end": f"{start + (chunk.size - 1) * grid.step:.3f}",
                  "step": f"{grid.step:g}", "timeout": f"{self.timeout:g}s"}
        url = f"{self.settings.url.rstrip('/')}/api/v1/query_range"
        try:
            response = self.session.post(url, data=params, headers=self._headers(),
                                         timeout=self.timeout)
        except requests.RequestException as exc:
            raise MetricsUnavailable(f"{name} range query failed: {exc}") from exc
        self.queries += 1
        if response.status_code != 200:
            raise MetricsUnavailable(f"{name} range query failed: HTTP "
                                     f"{response.status_code}: {response.text[:300]}")
        return _parse(name, response.content, chunk)


def _parse(name: RangeQuery, body: bytes, chunk: Chunk) -> list[Series]:
    try:
        answer = json.loads(body)
        data = answer["data"]
        if data["resultType"] != "matrix":
            raise ValueError("not a matrix")
        warnings = answer.get("warnings")
        if warnings:
            raise MetricsUnavailable(f"partial answer to the {name} range query "
                                     f"(warnings: {'; '.join(map(str, warnings))[:300]})")
        return [_series(item, chunk) for item in data["result"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise MetricsUnavailable(f"{name} range query did not return a matrix") from exc


def _series(item: dict[str, Any], chunk: Chunk) -> Series:
    points = item["values"]
    return Series(labels=item["metric"], chunk=chunk, stamps=[float(p[0]) for p in points],
                  values=[float(p[1]) for p in points])


def _ref(labels: dict[str, str]) -> ServiceRef | None:
    namespace, name = labels.get("namespace", ""), labels.get("isvc", "")
    return ServiceRef(namespace, name) if namespace and name else None


def _place(target: Array, grid: Grid, series: Series) -> None:
    index = np.rint((np.asarray(series.stamps) - grid.start) / grid.step).astype(np.int64)
    values = np.asarray(series.values, dtype=np.float64)
    keep = (index >= 0) & (index < grid.size)
    target[index[keep]] = values[keep]


def _workload(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


class Collector:
    """Folds the answers of every chunk into one `History`."""

    def __init__(self, grid: Grid) -> None:
        self.history = History(grid)
        self.workloads: dict[tuple[tuple[str, str], ...], tuple[ServiceRef, Array]] = {}

    def add(self, name: RangeQuery, answer: list[Series]) -> None:
        grid = self.history.grid
        for series in answer:
            ref = _ref(series.labels)
            if ref is None:
                continue
            if name is RangeQuery.COUNTERS:
                key = _workload(series.labels)
                if key not in self.workloads:
                    self.workloads[key] = (ref, grid.empty())
                _place(self.workloads[key][1], grid, series)
                continue
            self._place_one(name, ref, series)

    def _place_one(self, name: RangeQuery, ref: ServiceRef, series: Series) -> None:
        one = self.history.of(ref)
        targets = {RangeQuery.IN_FLIGHT: one.in_flight, RangeQuery.GPU_MAX: one.gpu_max,
                   RangeQuery.GPUS: one.gpus, RangeQuery.GPU_MISSING: one.gpu_missing}
        if name is RangeQuery.FRESH:
            signal = series.labels.get("signal")
            target = one.requests_newest if signal == "requests" else one.gpu_newest
        else:
            target = targets[name]
        _place(target, self.history.grid, series)

    def finish(self, stale: float) -> History:
        """Increments per service; the newest-sample arrays from fresh and present steps."""
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


def read_history(settings: PrometheusSettings, grid: Grid, *, chunk_steps: int = 1440,
                 reader: RangeReader | None = None) -> History:
    """Every range query over every chunk of ``grid``; `MetricsUnavailable` on any failure."""
    own = reader is None
    reader = reader or RangeReader(settings)
    collector = Collector(grid)
    texts = build(settings)
    jobs = [(name, text, chunk) for chunk in chunks(grid, chunk_steps)
            for name, text in texts.items()]
    try:
        with ThreadPoolExecutor(max_workers=max(1, settings.concurrency)) as pool:
            for name, answer in _answers(pool, reader, grid, jobs):
                collector.add(name, answer)
    finally:
        if own:
            reader.close()
    return collector.finish(settings.max_sample_age.total_seconds() + grid.step)


def _answers(pool: ThreadPoolExecutor, reader: RangeReader, grid: Grid,
             jobs: list[tuple[RangeQuery, str, Chunk]]
             ) -> Iterator[tuple[RangeQuery, list[Series]]]:
    futures = [(name, pool.submit(reader.ask, name, text, grid, chunk))
               for name, text, chunk in jobs]
    try:
        for name, future in futures:
            yield name, future.result()
    finally:
        for _, future in futures:
            future.cancel()
