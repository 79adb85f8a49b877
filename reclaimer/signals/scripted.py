"""`ScriptedSignals`: a first-class `SignalSource` whose traffic is scripted per ISVC.

For tests and the demo. A `Script` says what happened to one ISVC (requests, GPU
load, when its metrics were scraped); `fetch` works out what a perfect Prometheus would
report and runs it through the same `assemble` as the real adapter, so states and
reasons follow the same rules. The contract tests render the same scripts as
OpenMetrics, backfill a real Prometheus, and require `PrometheusSignals` to agree.

Scrapes are simulated every ``scrape_interval`` from ``data_from`` (or from the first
request for a lazily created counter, the Knative/OpenCensus case), skipping ``gaps``;
an instant lookup sees a sample up to 5 minutes old, like Prometheus' lookback.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from reclaimer.errors import MetricsUnavailable
from reclaimer.model import ServiceKind, ServiceRef, Signals
from reclaimer.signals.assemble import GPU, REQUESTS, Evaluation, Observations, assemble
from reclaimer.signals.kinds import measured

LOOKBACK = timedelta(minutes=5)


@dataclass(frozen=True)
class Steady:
    """One request every ``every``, starting at ``start``, the last one before ``end``."""

    start: datetime
    end: datetime
    every: timedelta

    def count(self, until: datetime) -> int:
        last = min(until, self.end - timedelta(microseconds=1))
        return 0 if last < self.start else (last - self.start) // self.every + 1

    def last(self, until: datetime) -> datetime | None:
        done = self.count(until)
        return self.start + (done - 1) * self.every if done else None


@dataclass(frozen=True)
class Script:
    """What happened to one ISVC; instants are aware UTC datetimes."""

    data_from: datetime
    data_to: datetime | None = None
    steady: tuple[Steady, ...] = ()
    single: tuple[datetime, ...] = ()
    new_series: tuple[datetime, ...] = ()
    request_series: bool = True
    gaps: tuple[tuple[datetime, datetime], ...] = ()
    gpus: int = 1
    gpu_levels: tuple[tuple[datetime, float], ...] = ()

    def requests_until(self, until: datetime) -> int:
        singles = sum(1 for t in (*self.single, *self.new_series) if t <= until)
        return sum(s.count(until) for s in self.steady) + singles

    def last_request(self, until: datetime) -> datetime | None:
        times = [s.last(until) for s in self.steady]
        times += [t for t in (*self.single, *self.new_series) if t <= until]
        return max((t for t in times if t is not None), default=None)

    def gpu_at(self, instant: datetime) -> float:
        level = 0.0
        for since, value in sorted(self.gpu_levels):
            if since <= instant:
                level = value
        return level

    def scrapes(self, start: datetime, end: datetime, *, every: timedelta,
                first: datetime | None = None) -> list[datetime]:
        """Scrape instants in [start, end], aligned to ``data_from``."""
        begin = max(start, first or self.data_from)
        stop = min(end, self.data_to) if self.data_to else end
        k = max(0, -int((self.data_from - begin) // every) - 1)
        times = []
        t = self.data_from + k * every
        while t <= stop:
            if t >= begin and not any(a <= t < b for a, b in self.gaps):
                times.append(t)
            t += every
        return times


class ScriptedSignals:
    """`SignalSource` over scripts; ``outages`` are spans in which `fetch` fails."""

    def __init__(self, scripts: Mapping[ServiceRef, Script], *,
                 scrape_interval: timedelta = timedelta(seconds=15),
                 step: timedelta = timedelta(minutes=1),
                 max_sample_age: timedelta = timedelta(minutes=2),
                 horizon: timedelta = timedelta(hours=1),
                 outages: tuple[tuple[datetime, datetime], ...] = ()) -> None:
        self.scripts = dict(scripts)
        self.scrape_interval = scrape_interval
        self.step = step
        self.max_sample_age = max_sample_age
        self.horizon = horizon
        self.outages = outages
        self.calls = 0

    def fetch(self, *, at: datetime, window: timedelta) -> dict[ServiceRef, Signals]:
        return self.fetch_windows(at=at, windows=(window,))[window]

    def fetch_windows(self, *, at: datetime, windows: Sequence[timedelta],
                      recent: timedelta | None = None,
                      kinds: Collection[ServiceKind] = (ServiceKind.INFERENCE_SERVICE,),
                      ) -> dict[timedelta, dict[ServiceRef, Signals]]:
        """One evaluation (one call) for every window, as the real adapter does.

        A perfect Prometheus resolves the last request exactly; ``recent`` (default: the
        shortest window) is the span of the GPU peak in `RecentActivity`. A script is one
        pod whose series all share its scrapes, so no pod falls short of its siblings.
        Like the real adapter, only scripts of the ``kinds`` asked and measured count.
        """
        self.calls += 1
        if any(a <= at < b for a, b in self.outages):
            raise MetricsUnavailable(f"scripted outage at {at.isoformat()}")
        span = recent or min(windows)
        asked = {k for k in kinds if measured(k)}
        return {w: self._evaluate(at, w, span, asked) for w in windows}

    def _evaluate(self, at: datetime, window: timedelta, recent: timedelta,
                  kinds: Collection[ServiceKind]) -> dict[ServiceRef, Signals]:
        ev = Evaluation(at=at, window=window, step=self.step, max_sample_age=self.max_sample_age,
                        recent=recent)
        obs = Observations()
        for ref, script in self.scripts.items():
            if ref.kind not in kinds:
                continue
            obs = _merge(obs, self._observe(ref, script, ev))
        return assemble(obs, ev)

    def _observe(self, ref: ServiceRef, script: Script, ev: Evaluation) -> Observations:
        start = ev.at - ev.window
        scrapes = script.scrapes(start - LOOKBACK, ev.at, every=self.scrape_interval)
        counter = scrapes if script.request_series else []
        coverage = {(ref, REQUESTS): _steps(counter, ev)} if counter else {}
        freshness = {(ref, REQUESTS): counter[-1].timestamp()} if counter else {}
        if script.gpus and scrapes:
            coverage[(ref, GPU)] = _steps(scrapes, ev)
            freshness[(ref, GPU)] = scrapes[-1].timestamp()
        gpu = _gpu(ref, script, ev, scrapes)
        return Observations(
            requests=self._requests(ref, script, ev, counter),
            last_request=self._last(ref, script, ev),
            coverage={k: v for k, v in coverage.items() if v},
            freshness=freshness,
            gpus={ref: float(script.gpus)} if scrapes else {},
            gpu_max=gpu.get("max", {}), gpu_mean=gpu.get("mean", {}),
            recent_gpu_max=gpu.get("recent", {}))

    def _requests(self, ref: ServiceRef, script: Script, ev: Evaluation,
                  counter: list[datetime]) -> dict[ServiceRef, float]:
        if len([t for t in counter if t >= ev.at - ev.window]) < 2:
            return {}
        done = script.requests_until(ev.at) - script.requests_until(ev.at - ev.window)
        return {ref: float(done)}

    def _last(self, ref: ServiceRef, script: Script, ev: Evaluation) -> dict[ServiceRef, float]:
        last = script.last_request(ev.at)
        if last is None or last < ev.at - max(self.horizon, ev.window):
            return {}
        return {ref: last.timestamp()}


def _steps(samples: list[datetime], ev: Evaluation) -> float:
    """Subquery steps of the window with a sample in the lookback before them.

    ``samples`` are in time order, so each step is two binary searches: the demo asks
    this for a week of ticks and must not scan every sample for every step.
    """
    step_s = ev.step.total_seconds()
    first = -(-(ev.at - ev.window).timestamp() // step_s) * step_s
    points = [first + i * step_s for i in range(int((ev.at.timestamp() - first) // step_s) + 1)]
    stamps = [t.timestamp() for t in samples]
    lookback = LOOKBACK.total_seconds()
    return float(sum(1 for p in points
                     if bisect_right(stamps, p) > bisect_right(stamps, p - lookback)))


def _gpu(ref: ServiceRef, script: Script, ev: Evaluation,
         scrapes: list[datetime]) -> dict[str, dict[ServiceRef, float]]:
    values = [script.gpu_at(t) for t in scrapes if t >= ev.at - ev.window]
    if not script.gpus or not values:
        return {}
    recent = [script.gpu_at(t) for t in scrapes if t >= ev.at - (ev.recent or ev.window)]
    return {"max": {ref: max(values)}, "mean": {ref: sum(values) / len(values)},
            "recent": {ref: max(recent)} if recent else {}}


def _merge(a: Observations, b: Observations) -> Observations:
    return Observations(
        requests={**a.requests, **b.requests}, last_request={**a.last_request, **b.last_request},
        coverage={**a.coverage, **b.coverage}, freshness={**a.freshness, **b.freshness},
        gpu_max={**a.gpu_max, **b.gpu_max}, gpu_mean={**a.gpu_mean, **b.gpu_mean},
        gpus={**a.gpus, **b.gpus}, recent_gpu_max={**a.recent_gpu_max, **b.recent_gpu_max})
