"""Property (issue 13): a service is never idle unless every GPU pod alive in the window
is covered for its lifetime.

Hypothesis draws pod and scrape layouts; each example is one real Prometheus 2.42
(promtool backfill) holding one ISVC per layout, evaluated as the service evaluates
(`PrometheusSignals` → rows → `assemble`) and judged by the idle rule. Request data
is always complete (an activator counter by name, always 0) and every GPU reads 0 %,
so only GPU coverage stands between a service and ``idle``.

Each pod is listed by kube-state-metrics from ``start`` to ``end`` and requests
``gpus`` GPUs; ``series`` of them have dcgm-exporter series, scraped from ``start``
until ``stop`` (if any), except during the 10-minute ``gap`` (if any). A pod holding
GPUs is *short* when it has fewer series than GPUs, or its scrapes stopped before it
ended, or the gap falls inside its life. Defects are drawn large enough that
Prometheus can see them (over the 5-minute lookback), and a healthy control ISVC in
every example must come out idle, so the property is never vacuous.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reclaimer.model import IdleRule, ServiceRef, Signals
from reclaimer.policy.idle import Verdict, judge_idle
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import OpenMetrics, running_prometheus
from tests.policy.decide_builders import svc
from tests.signals.render import ISVC_LABEL
from tests.signals.scenarios import AT, WINDOW

pytestmark = pytest.mark.integration
NS = "prop"
_M = timedelta(minutes=1)
BEGIN = AT - 50 * _M
EVERY = timedelta(seconds=30)
GAP = (AT - 25 * _M, AT - 15 * _M)
RULE = IdleRule(after=WINDOW, min_uptime=timedelta(0))


@dataclass(frozen=True)
class Pod:
    start: datetime
    end: datetime
    gpus: int
    series: int
    stop: datetime | None
    gap: bool

    def scraped(self, at: datetime) -> bool:
        stopped = self.stop is not None and at > self.stop
        return not stopped and not (self.gap and GAP[0] <= at < GAP[1])

    @property
    def short(self) -> bool:
        if self.gpus == 0:
            return False
        stopped_early = self.stop is not None and self.stop < self.end
        gap_inside = self.gap and GAP[0] < self.end and GAP[1] > self.start
        return self.series < self.gpus or stopped_early or gap_inside


@st.composite
def pods(draw: st.DrawFn) -> Pod:
    start = draw(st.sampled_from([BEGIN, AT - 20 * _M, AT - 8 * _M]))
    end = draw(st.sampled_from([AT, AT - 12 * _M]).filter(lambda e: e > start + 3 * _M))
    gpus = draw(st.integers(0, 2))
    return Pod(start=start, end=end, gpus=gpus, series=draw(st.integers(0, gpus)),
               stop=draw(st.sampled_from([None, AT - 35 * _M, AT - 12 * _M, AT - 7 * _M])),
               gap=draw(st.booleans()))


HEALTHY = (Pod(start=BEGIN, end=AT, gpus=1, series=1, stop=None, gap=False),)
layouts = st.lists(st.lists(pods(), min_size=1, max_size=3).map(tuple), min_size=8, max_size=16)


def _scrape(om: OpenMetrics, isvc: str, name: str, pod: Pod, at: datetime) -> None:
    target = {"namespace": NS, "pod": name}
    om.add("kube_pod_labels", {**target, ISVC_LABEL: isvc}, 1, at)
    if pod.gpus:
        om.add("kube_pod_container_resource_requests",
               {**target, "container": "c", "resource": "nvidia_com_gpu", "unit": "integer"},
               pod.gpus, at)
    for gpu in range(pod.series if pod.scraped(at) else 0):
        om.add("DCGM_FI_DEV_GPU_UTIL", {**target, "gpu": str(gpu), "UUID": f"{name}-{gpu}"},
               0.0, at)


def _world(services: dict[str, tuple[Pod, ...]]) -> OpenMetrics:
    om = OpenMetrics()
    for isvc, layout in services.items():
        at = BEGIN
        while at <= AT:
            om.add("activator_request_count",
                   {"namespace_name": NS, "service_name": f"{isvc}-predictor",
                    "pod_name": "activator-0"}, 0, at)
            for i, pod in enumerate(layout):
                if pod.start <= at <= pod.end:
                    _scrape(om, isvc, f"{isvc}-pod-{i}", pod, at)
            at += EVERY
    return om


def _evaluate(services: dict[str, tuple[Pod, ...]]) -> dict[str, Signals]:
    with tempfile.TemporaryDirectory() as tmp, \
            running_prometheus(_world(services), Path(tmp)) as url:
        source = PrometheusSignals(PrometheusSettings.from_mapping({"url": url}))
        try:
            found = source.fetch_windows(at=AT, windows=[WINDOW], recent=5 * _M)[WINDOW]
        finally:
            source.close()
    return {ref.name: signals for ref, signals in found.items()}


def _idle(signals: Signals | None, name: str) -> bool:
    service = svc(name, ref=ServiceRef(NS, name))
    return judge_idle(RULE, signals, service=service, now=AT).verdict is Verdict.IDLE


@pytest.mark.timeout(180)
@settings(max_examples=4, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(layouts)
def test_never_idle_unless_every_gpu_pod_is_covered_for_its_lifetime(
        drawn: list[tuple[Pod, ...]]) -> None:
    services = {"control": HEALTHY, **{f"isvc-{i}": layout for i, layout in enumerate(drawn)}}
    found = _evaluate(services)
    idle_but_short = [name for name, layout in services.items()
                      if _idle(found.get(name), name) and any(p.short for p in layout)]
    assert (_idle(found.get("control"), "control"), idle_but_short) == (True, [])
