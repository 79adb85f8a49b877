"""Reading history: each range query once per chunk, parsed into `History` arrays.

A chunk spans at most ``chunk_steps`` steps (Prometheus refuses more than 11,000
points per series in one query), and the chunks of all queries are asked
``concurrency`` at a time. Any failure (HTTP error, timeout, a partial answer with
warnings, a wrong shape) fails the whole backtest with `MetricsUnavailable`: a
replay over missing history would report savings nobody could trust.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import requests

from reclaimer.errors import MetricsUnavailable
from reclaimer.model import ServiceRef
from reclaimer.signals.presets import PodJoin
from reclaimer.signals.ranges.evaluate import evaluate, raw_texts
from reclaimer.signals.ranges.history import Array, Grid, History, increments
from reclaimer.signals.ranges.join import PodMap, fold
from reclaimer.signals.ranges.local import Row
from reclaimer.signals.ranges.pod_requests import PodRequests
from reclaimer.signals.ranges.promql import RangeQuery, build, held
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
    stamps: Array
    values: Array


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
        self.asked: list[str] = []  # each text asked, once per chunk

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

    def ask(self, name: str, text: str, grid: Grid, chunk: Chunk) -> list[Series]:
        return _parse(name, self.body(name, text, grid, chunk), chunk, grid=grid)

    def body(self, name: str, text: str, grid: Grid, chunk: Chunk) -> bytes:
        """The answer's bytes (`MetricsUnavailable` on any failure), unparsed."""
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
        self.asked.append(text)
        if response.status_code != 200:
            raise MetricsUnavailable(f"{name} range query failed: HTTP "
                                     f"{response.status_code}: {response.text[:300]}")
        return response.content


def _parse(name: str, body: bytes, chunk: Chunk, *, grid: Grid | None = None) -> list[Series]:
    """The matrix of one answer, read without building a Python object per point.

    A week of 1,000 ISVCs is tens of millions of points: ``json.loads`` makes two
    Python objects of each, which costs more than the replay. Each series' labels are
    decoded as JSON; its points, ``[t,"v"]`` pairs, are read by NumPy in one call. The
    byte patterns searched for cannot occur inside a JSON string (its quotes would be
    escaped), and a label value is a string, so ``"warnings":[`` is the top-level key.
    With the ``grid``, a series with a point at every step of the chunk has exactly
    the chunk's instants, and only its values are read (`_series`).
    """
    head = body[:body.find(b'"result":[')]
    if b'"resultType":"matrix"' not in head or b'"status":"success"' not in head:
        raise MetricsUnavailable(f"{name} range query did not return a matrix")
    tail = body.rfind(b'"warnings":[')
    if tail > body.rfind(b'"values":['):
        try:
            warnings = json.loads(body[tail + len(b'"warnings":'):].rstrip(b"}\n "))
        except ValueError:
            warnings = [body[tail:tail + 300].decode(errors="replace")]
        if warnings:
            raise MetricsUnavailable(f"partial answer to the {name} range query "
                                     f"(warnings: {'; '.join(map(str, warnings))[:300]})")
    try:
        return [_series(piece, chunk, grid) for piece in body.split(b'{"metric":')[1:]]
    except (KeyError, TypeError, ValueError) as exc:
        raise MetricsUnavailable(f"{name} range query did not return a matrix") from exc


_POINTS = bytes.maketrans(b",", b" ")


def _series(piece: bytes, chunk: Chunk, grid: Grid | None) -> Series:
    split = piece.index(b',"values":[')
    labels = json.loads(piece[:split])
    if not isinstance(labels, dict):
        raise TypeError("labels are not an object")
    end = piece.index(b"]]", split)
    points = piece[split + len(b',"values":['):end + 1]
    if grid is not None and points.count(b"],[") + 1 == chunk.size:
        # Ascending, distinct instants of the chunk, one per step: all of them. The
        # values are every other quoted field; reading only them halves the numbers.
        values = np.fromstring(b" ".join(points.split(b'"')[1::2]).decode(), sep=" ")
        if values.size == chunk.size:
            first = grid.start + chunk.first * grid.step
            return Series(labels=labels, chunk=chunk, values=values,
                          stamps=first + grid.step * np.arange(chunk.size, dtype=np.float64))
    numbers = np.fromstring(points.translate(_POINTS, b'[]"').decode(), sep=" ")
    if numbers.size % 2:
        raise ValueError("odd number of point fields")
    return Series(labels=labels, chunk=chunk, stamps=numbers[0::2], values=numbers[1::2])


def _ref(labels: dict[str, str]) -> ServiceRef | None:
    namespace, name = labels.get("namespace", ""), labels.get("isvc", "")
    return ServiceRef(namespace, name) if namespace and name else None


def _local(grid: Grid, series: Series) -> Array:
    """The series over its chunk's steps, NaN where it has no point."""
    out = np.full(series.chunk.size, np.nan)
    index = np.rint((series.stamps - grid.start) / grid.step).astype(np.int64) - series.chunk.first
    keep = (index >= 0) & (index < series.chunk.size)
    out[index[keep]] = series.values[keep]
    return out


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


def read_history(settings: PrometheusSettings, grid: Grid, *, chunk_steps: int = 1440,  # noqa: PLR0913 - the reference read is for tests
                 reader: RangeReader | None = None,
                 only: Collection[RangeQuery] | None = None,
                 per_pod_requests: bool = False, here: bool = True) -> History:
    """Every range query (or those in ``only``; ``pods`` is always asked) over every
    chunk of ``grid``; `MetricsUnavailable` on any failure. ``per_pod_requests``: each
    pod's request shortfall too, where the request preset reads requests per pod.
    ``here``: Prometheus is asked for the raw series and the queries' PromQL is
    evaluated here (`evaluate`); else it is asked the queries themselves (the
    reference the tests compare with)."""
    own = reader is None
    reader = reader or RangeReader(settings)
    collector = Collector(grid, per_pod_requests=per_pod_requests and all(
        isinstance(source.mapping, PodJoin) for source in settings.requests.counters))
    texts = {name: text for name, text in build(settings).items()
             if only is None or name in only or name is RangeQuery.PODS}
    if collector.per_pod_requests:
        texts[RangeQuery.HELD] = held()
    asked = raw_texts(settings, texts) if here else list(texts.values())
    jobs = [(text, chunk) for chunk in chunks(grid, chunk_steps) for text in asked]
    try:
        with ThreadPoolExecutor(max_workers=max(1, settings.concurrency)) as pool:
            for chunk, answers in _by_chunk(pool, reader, grid, jobs):
                for name, text in texts.items():
                    rows = (evaluate(name, settings, answers.__getitem__) if here
                            else answers[text])
                    collector.add(name, rows, chunk)
    finally:
        if own:
            reader.close()
    return collector.finish(settings.max_sample_age.total_seconds() + grid.step)


def _by_chunk(pool: ThreadPoolExecutor, reader: RangeReader, grid: Grid,
              jobs: list[tuple[str, Chunk]]) -> Iterator[tuple[Chunk, dict[str, list[Row]]]]:
    """Each chunk's answers, by text, as rows over the chunk, chunk after chunk. The
    pool only fetches; answers are parsed here, so the pool keeps Prometheus busy with
    the next queries meanwhile (parsing in the pool held its threads, and Prometheus
    waited: the reading used 1.2 of 2 cores at 1,000 ISVCs)."""
    futures = [(text, chunk, pool.submit(reader.body, text[:60], text, grid, chunk))
               for text, chunk in jobs]
    try:
        answers: dict[str, list[Row]] = {}
        for number, (text, chunk, future) in enumerate(futures):
            parsed = _parse(text[:60], future.result(), chunk, grid=grid)
            answers[text] = [(s.labels, _local(grid, s)) for s in parsed]
            if number + 1 == len(futures) or futures[number + 1][1] != chunk:
                yield chunk, answers
                answers = {}
    finally:
        for _, _, future in futures:
            future.cancel()
