"""Several windows in one evaluation: one query per signal, the same answers as one by one.

A tick asks for the idle window (30 m) and the busy-at-stop lookback (5 m) together.
Against a real Prometheus 2.42 with every scenario, one `fetch_windows` sends seven
queries in all and gives each window what a `fetch` of that window alone gives; the
time of the last request may only differ beyond the lookback (coarser there).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pytest

from reclaimer.model import ServiceRef, Signals
from reclaimer.signals.answer import Row, parse_vector
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.queries import Query
from reclaimer.signals.scripted import Script
from reclaimer.signals.settings import PrometheusSettings
from reclaimer.signals.windows import WINDOW_LABEL, fold, split
from tests.fixtures.prometheus import OpenMetrics
from tests.signals.proxy import Traffic, counting_proxy
from tests.signals.scenarios import AT, COARSE, SCENARIOS, truth

LOOKBACK = timedelta(minutes=5)
IDLE = timedelta(minutes=30)
BOTH = (IDLE, LOOKBACK)
World = tuple[OpenMetrics, dict[ServiceRef, Script]]
Together = dict[timedelta, Mapping[ServiceRef, Signals]]


@pytest.fixture(scope="module")
def together(scenario_prometheus: str) -> tuple[Together, Traffic]:
    with counting_proxy(scenario_prometheus) as (proxy, traffic):
        source = PrometheusSignals(PrometheusSettings.from_mapping({"url": proxy}))
        got: Together = dict(source.fetch_windows(at=AT, windows=BOTH, recent=LOOKBACK))
    return got, traffic


@pytest.fixture(scope="module")
def alone(scenario_prometheus: str) -> Together:
    source = PrometheusSignals(PrometheusSettings.from_mapping({"url": scenario_prometheus}))
    return {w: source.fetch(at=AT, window=w) for w in BOTH}


def _values(s: Signals) -> tuple[object, ...]:
    return (s.state, s.reason, s.requests, s.coverage_seconds, s.gpus,
            s.gpu_utilization_max, s.gpu_utilization_mean)


@pytest.mark.integration
def test_two_windows_cost_one_query_per_signal(together: tuple[Together, Traffic]) -> None:
    assert together[1].queries() == len(Query)


@pytest.mark.integration
@pytest.mark.parametrize("window", [pytest.param(IDLE, id="30m"), pytest.param(LOOKBACK, id="5m")])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_window_gets_what_it_gets_alone(together: tuple[Together, Traffic],
                                            alone: Together, window: timedelta,
                                            name: str) -> None:
    ref = ServiceRef("knative", name)
    assert _values(together[0][window][ref]) == _values(alone[window][ref])


@pytest.mark.integration
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_last_request_is_exact_within_the_lookback_and_never_older(
        together: tuple[Together, Traffic], scenario_world: World, name: str) -> None:
    ref = ServiceRef("knative", name)
    want = truth(scenario_world[1]).fetch(at=AT, window=IDLE)[ref].seconds_since_last_request
    got = together[0][IDLE][ref].seconds_since_last_request
    newer_by = 60 if want is not None and want <= LOOKBACK.total_seconds() else COARSE
    assert (got is None and want is None) or (
        got is not None and want is not None and want - newer_by <= got <= want + 60)


@pytest.mark.parametrize(("texts", "folded"), [
    pytest.param({IDLE: "q", LOOKBACK: "q"}, "q", id="same-text-asked-once"),
    pytest.param({IDLE: "a"}, "a", id="one-window"),
    pytest.param({IDLE: "a", LOOKBACK: "b"},
                 f'(label_replace(a, "{WINDOW_LABEL}", "1800", "", "")) or '
                 f'(label_replace(b, "{WINDOW_LABEL}", "300", "", ""))', id="tagged"),
])
def test_fold(texts: dict[timedelta, str], folded: str) -> None:
    assert fold(texts) == folded


@pytest.mark.parametrize(("tag", "windows"), [
    pytest.param(None, [IDLE, LOOKBACK], id="untagged-row-serves-every-window"),
    pytest.param("300", [LOOKBACK], id="tagged-row-one-window"),
    pytest.param("60", [], id="unasked-window-dropped"),
])
def test_split(tag: str | None, windows: list[timedelta]) -> None:
    row = Row(ServiceRef("ns", "a"), "", 1.0, tag)
    parts = split({Query.GPUS: [row]}, BOTH)
    assert [w for w in BOTH if parts[w][Query.GPUS]] == windows


def test_one_window_is_not_tagged() -> None:
    """`reclaimer signals --queries` prints these as a starting point for a template."""
    texts = PrometheusSignals(PrometheusSettings()).queries(window=IDLE).values()
    assert [t for t in texts if f'"{WINDOW_LABEL}", "' in t] == []


@pytest.mark.parametrize(("labels", "tag"), [
    pytest.param('{"namespace": "ns", "isvc": "a"}', None, id="untagged"),
    pytest.param(f'{{"namespace": "ns", "isvc": "a", "{WINDOW_LABEL}": "300"}}', "300",
                 id="tagged"),
])
def test_a_parsed_row_keeps_its_window_tag(labels: str, tag: str | None) -> None:
    body = ('{"status": "success", "data": {"resultType": "vector", "result": '
            f'[{{"metric": {labels}, "value": [1, "2"]}}]}}}}')
    assert parse_vector(body) == [Row(ServiceRef("ns", "a"), "", 2.0, tag)]
