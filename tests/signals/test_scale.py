"""One evaluation is a fixed number of queries, whatever the number of services.

Counted with a proxy in front of a real Prometheus: 5 and 500 ISVCs cost the same
number of HTTP queries, each answer has at most a row or two per service, and denser
samples (10 s instead of 30 s scrapes) do not add rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from reclaimer.model import ServiceRef, SignalState
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.queries import Query
from reclaimer.signals.scripted import Script, Steady
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import OpenMetrics
from tests.signals.proxy import Traffic, counting_proxy
from tests.signals.render import Style, render
from tests.signals.scenarios import AT, WINDOW

pytestmark = pytest.mark.integration
START = AT - timedelta(minutes=45)


def _world(services: int, *, every: timedelta) -> OpenMetrics:
    om = OpenMetrics()
    busy = (Steady(START, AT, timedelta(seconds=20)),)
    for i in range(services):
        script = Script(data_from=START, steady=busy if i % 2 else (),
                        gpu_levels=((START, float(i % 100)),))
        render(om, ServiceRef(f"team-{i % 7}", f"model-{i}"), script, Style(),
               start=START, end=AT, every=every)
    return om


def _evaluate(url: str) -> tuple[dict[ServiceRef, SignalState], Traffic]:
    with counting_proxy(url) as (proxy, traffic):
        source = PrometheusSignals(PrometheusSettings.from_mapping({"url": proxy}))
        states = {ref: s.state for ref, s in source.fetch(at=AT, window=WINDOW).items()}
    return states, traffic


@pytest.fixture(scope="module")
def runs(prometheus_factory: Callable[[OpenMetrics], str],
         ) -> dict[str, tuple[dict[ServiceRef, SignalState], Traffic]]:
    worlds = {"5": _world(5, every=timedelta(seconds=30)),
              "5-dense": _world(5, every=timedelta(seconds=10)),
              "500": _world(500, every=timedelta(seconds=30))}
    return {name: _evaluate(prometheus_factory(om)) for name, om in worlds.items()}


def test_query_count_is_constant_from_5_to_500_services(runs: dict[str, tuple[
        dict[ServiceRef, SignalState], Traffic]]) -> None:
    assert (runs["5"][1].queries(), runs["500"][1].queries()) == (len(Query), len(Query))


@pytest.mark.parametrize("name", ["5", "500"])
def test_every_service_is_evaluated(runs: dict[str, tuple[dict[ServiceRef, SignalState],
                                                          Traffic]], name: str) -> None:
    states = runs[name][0]
    assert (len(states), set(states.values())) == (int(name), {SignalState.KNOWN})


@pytest.mark.parametrize("name", ["5", "500"])
def test_rows_grow_with_services_only(runs: dict[str, tuple[dict[ServiceRef, SignalState],
                                                            Traffic]], name: str) -> None:
    assert max(runs[name][1].rows()) <= 2 * int(name)


def test_denser_samples_add_no_rows(runs: dict[str, tuple[dict[ServiceRef, SignalState],
                                                          Traffic]]) -> None:
    assert sorted(runs["5-dense"][1].rows()) == sorted(runs["5"][1].rows())
