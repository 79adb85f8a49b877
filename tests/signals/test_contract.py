"""The `SignalSource` contract: the scripted fake and the real adapter behave alike.

The same scripts are the fake's input and, rendered as exporter series, the real
Prometheus' data; every behaviour below must hold for both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta

import pytest

from reclaimer.errors import MetricsUnavailable
from reclaimer.model import ServiceRef, Signals, SignalState
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.scripted import Script, ScriptedSignals
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import OpenMetrics
from tests.signals.scenarios import AT, WINDOW, truth

Fetch = Callable[[], Mapping[ServiceRef, Signals]]


@pytest.fixture(scope="module", params=["scripted", pytest.param("prometheus",
                                                                 marks=pytest.mark.integration)])
def signals(request: pytest.FixtureRequest,
            scenario_world: tuple[OpenMetrics, dict[ServiceRef, Script]],
            ) -> Mapping[ServiceRef, Signals]:
    """One evaluation of the knative namespace by each implementation."""
    if request.param == "scripted":
        return truth(scenario_world[1]).fetch(at=AT, window=WINDOW)
    url = request.getfixturevalue("scenario_prometheus")
    source = PrometheusSignals(PrometheusSettings.from_mapping({"url": url}))
    return source.fetch(at=AT, window=WINDOW)


def _get(signals: Mapping[ServiceRef, Signals], name: str) -> Signals:
    return signals[ServiceRef("knative", name)]


@pytest.mark.parametrize("name", [
    pytest.param("steady", id="steady"),
    pytest.param("stopped-2h-ago", id="stopped"),
    pytest.param("new-series-one-request", id="new-series"),
    pytest.param("counter-reset", id="reset"),
    pytest.param("mig", id="mig"),
    pytest.param("honor-labels-false", id="honor-labels-false"),
    pytest.param("cpu-only-idle", id="cpu-only"),
])
def test_complete_data_is_known(signals: Mapping[ServiceRef, Signals], name: str) -> None:
    assert _get(signals, name).state is SignalState.KNOWN


@pytest.mark.parametrize(("name", "reason"), [
    pytest.param("gap-10m", "gap over 5m", id="gap"),
    pytest.param("pods-no-requests", "no requests series", id="pods-without-request-series"),
    pytest.param("stale-4m", "stale", id="stale"),
    pytest.param("started-10m-ago", "late start", id="partial-window"),
])
def test_incomplete_data_is_unknown_with_reason(signals: Mapping[ServiceRef, Signals],
                                                name: str, reason: str) -> None:
    got = _get(signals, name)
    assert (got.state, got.requests, reason in (got.reason or "")) == (
        SignalState.UNKNOWN, None, True)


@pytest.mark.parametrize(("name", "low", "high"), [
    pytest.param("steady", 170, 190, id="steady"),
    pytest.param("stopped-2h-ago", 0, 0, id="stopped"),
    pytest.param("new-series-one-request", 1, 1.1, id="new-series-trap"),
    pytest.param("counter-reset", 170, 190, id="counter-reset"),
    pytest.param("cpu-only-idle", 0, 0, id="idle"),
])
def test_request_count(signals: Mapping[ServiceRef, Signals], name: str, low: float,
                       high: float) -> None:
    assert low <= (_get(signals, name).requests or 0) <= high


@pytest.mark.parametrize(("name", "seconds"), [
    pytest.param("steady", 0, id="steady"),
    pytest.param("new-series-one-request", 1200, id="new-series-20m-ago"),
])
def test_seconds_since_last_request_within_one_step(signals: Mapping[ServiceRef, Signals],
                                                    name: str, seconds: float) -> None:
    since = _get(signals, name).seconds_since_last_request
    assert since is not None and abs(since - seconds) <= 60


def test_no_last_request_beyond_the_horizon(signals: Mapping[ServiceRef, Signals]) -> None:
    """Stopped 2 h ago, and the horizon is 1 h: known, idle, and no time of a last request."""
    got = _get(signals, "stopped-2h-ago")
    assert (got.state, got.requests, got.seconds_since_last_request) == (
        SignalState.KNOWN, 0, None)


@pytest.mark.parametrize(("name", "peak", "gpus"), [
    pytest.param("steady", 40.0, 1, id="gpu-util"),
    pytest.param("mig", 60.0, 1, id="mig-gr-engine-active"),
    pytest.param("honor-labels-false", 70.0, 1, id="exported-labels"),
    pytest.param("stopped-2h-ago", 0.0, 1, id="idle-gpu"),
])
def test_gpu_utilisation_and_count(signals: Mapping[ServiceRef, Signals], name: str,
                                   peak: float, gpus: int) -> None:
    got = _get(signals, name)
    assert (got.gpu_utilization_max, got.gpu_utilization_mean, got.gpus) == (peak, peak, gpus)


def test_service_without_gpus_has_no_gpu_values(signals: Mapping[ServiceRef, Signals]) -> None:
    got = _get(signals, "cpu-only-idle")
    assert (got.gpus, got.gpu_utilization_max) == (0, None)


def test_full_window_is_covered(signals: Mapping[ServiceRef, Signals]) -> None:
    assert _get(signals, "steady").coverage_seconds == WINDOW.total_seconds()


def test_unknown_service_is_absent(signals: Mapping[ServiceRef, Signals]) -> None:
    assert ServiceRef("knative", "never-deployed") not in signals


def test_scripted_outage_raises_metrics_unavailable(
        scenario_world: tuple[OpenMetrics, dict[ServiceRef, Script]]) -> None:
    source = ScriptedSignals(scenario_world[1], outages=((AT, AT + timedelta(minutes=5)),))
    with pytest.raises(MetricsUnavailable):
        source.fetch(at=AT, window=WINDOW)
