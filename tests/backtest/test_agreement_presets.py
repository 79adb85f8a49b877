"""The local pod join agrees with the service on series joined by pod, with aliases.

vLLM's counters and in-flight gauges carry the workload's pod and are joined through
kube_pod_labels; dcgm-exporter scraped with ``honorLabels: false`` names the workload
in ``exported_*`` labels; a MIG device reads GR_ENGINE_ACTIVE (scaled by 100). Scrapes
every 30 s, not on the grid. At each instant the backtest's local evaluation and the
service's instant queries must give the same state, whether any request was served,
GPU peak and GPUs. Counts differ: the service's ``increase()`` extrapolates to the
window's ends (84.4 for 85 requests), the backtest counts each scrape's increment at
the next step (docs/backtest.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from reclaimer.backtest.windows import signals_at
from reclaimer.model import ServiceRef, Signals
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.ranges.fetch import read_history
from reclaimer.signals.ranges.history import Grid, History
from reclaimer.signals.scripted import Script, Steady
from reclaimer.signals.settings import PrometheusSettings
from tests.backtest.test_agreement import RECENT, WINDOW
from tests.fixtures.prometheus import OpenMetrics
from tests.signals.render import Style, render

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

START = datetime(2026, 11, 2, 8, 0, 7, tzinfo=UTC)
END = START + timedelta(hours=3)
NS = "team-v"
BUSY = (Steady(START + timedelta(minutes=40), START + timedelta(minutes=70),
               timedelta(seconds=20)),)
SERVICES = {
    "served": (Script(data_from=START, steady=BUSY,
                      gpu_levels=((START + timedelta(minutes=45), 60.0),
                                  (START + timedelta(minutes=75), 0.0))), Style()),
    "exported": (Script(data_from=START, steady=BUSY, gpus=2), Style(honor_labels=False)),
    "mig": (Script(data_from=START, gpu_levels=((START + timedelta(minutes=90), 35.0),)),
            Style(mig=True)),
    "quiet": (Script(data_from=START), Style()),
}


def _facts(signals: Signals) -> tuple[object, ...]:
    served = None if signals.requests is None else signals.requests > 0
    return (signals.state, served, signals.gpu_utilization_max, signals.gpus)


@pytest.fixture(scope="module")
def vllm(prometheus_factory: Callable[[OpenMetrics], str]) -> tuple[PrometheusSettings, History]:
    om = OpenMetrics()
    for name, (script, style) in SERVICES.items():
        render(om, ServiceRef(NS, name), script, Style(**{**vars(style), "preset": "vllm"}),
               start=START, end=END)
    settings = PrometheusSettings.from_mapping(
        {"url": prometheus_factory(om), "signals": {"requests": "vllm"}})
    return settings, read_history(settings, Grid.covering(START, END, timedelta(minutes=1)))


@pytest.mark.parametrize("minutes", [
    pytest.param(35, id="before-traffic"),
    pytest.param(55, id="serving"),
    pytest.param(72, id="just-quiet"),
    pytest.param(110, id="after-traffic-mig-busy"),
    pytest.param(150, id="all-quiet"),
])
def test_vllm_and_dcgm_aliases_agree(vllm: tuple[PrometheusSettings, History],
                                     minutes: int) -> None:
    settings, history = vllm
    at = (START + timedelta(minutes=minutes)).replace(second=0)
    service = PrometheusSignals(settings)
    try:
        asked = service.fetch_windows(at=at, windows=(WINDOW,), recent=RECENT)[WINDOW]
    finally:
        service.close()
    index = history.grid.index(at.timestamp())
    for name in SERVICES:
        ref = ServiceRef(NS, name)
        local = signals_at(ref, history.of(ref), index, window=WINDOW, recent=RECENT, since=0,
                           max_sample_age=settings.max_sample_age)
        assert _facts(local) == _facts(asked[ref]), name
