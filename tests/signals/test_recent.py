"""The lookback's GPU peak (`Signals.recent`) comes with every window, still in seven queries.

Busy-at-stop reads the GPU over the last 5 minutes even when the only window the
policies ask for is an idle rule's 30 minutes: `gpuMax` then asks the recent span too,
tagged like a window. Real Prometheus 2.42 with the shared scenarios, and the scripted
fake, agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pytest

from reclaimer.model import RecentActivity, ServiceRef, Signals
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.queries import Query
from reclaimer.signals.scripted import Script
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import OpenMetrics
from tests.signals.proxy import Traffic, counting_proxy
from tests.signals.scenarios import AT, truth

LOOKBACK = timedelta(minutes=5)
IDLE = timedelta(minutes=30)
CASES = [pytest.param(name, peak, id=name)
         for name, peak in (("steady", 40.0), ("mig", 60.0), ("honor-labels-false", 70.0))]


@pytest.fixture(scope="module")
def measured(scenario_prometheus: str) -> tuple[Mapping[ServiceRef, Signals], Traffic]:
    with counting_proxy(scenario_prometheus) as (proxy, traffic):
        source = PrometheusSignals(PrometheusSettings.from_mapping({"url": proxy}))
        got = source.fetch_windows(at=AT, windows=[IDLE], recent=LOOKBACK)[IDLE]
        source.close()
    return got, traffic


@pytest.mark.integration
def test_the_recent_span_costs_no_query(measured: tuple[Mapping[ServiceRef, Signals],
                                                        Traffic]) -> None:
    assert measured[1].queries() == len(Query)


@pytest.mark.integration
@pytest.mark.parametrize(("name", "peak"), CASES)
def test_prometheus_gives_the_lookback_gpu_peak(
        measured: tuple[Mapping[ServiceRef, Signals], Traffic], name: str, peak: float) -> None:
    assert measured[0][ServiceRef("knative", name)].recent == RecentActivity(LOOKBACK, peak)


@pytest.mark.parametrize(("name", "peak"), CASES)
def test_the_fake_gives_the_lookback_gpu_peak(
        scenario_world: tuple[OpenMetrics, dict[ServiceRef, Script]], name: str,
        peak: float) -> None:
    got = truth(scenario_world[1]).fetch_windows(at=AT, windows=[IDLE], recent=LOOKBACK)[IDLE]
    assert got[ServiceRef("knative", name)].recent == RecentActivity(LOOKBACK, peak)
