"""Every request preset against a real Prometheus 2.42 agrees with the scripted truth.

Each preset's namespace holds every scenario (steady, stopped 2 h ago, new series with
one request, counter reset, 10-minute gap, MIG, honorLabels=false, pods without
request series, stale, partial window, CPU only) rendered with that preset's metric
names and labels; kube_pod_labels is duplicated for one ISVC, as HA kube-state-metrics
does.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from reclaimer.model import ServiceRef, Signals
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.scripted import Script
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import OpenMetrics
from tests.signals.scenarios import AT, COARSE, PRESETS, SCENARIOS, WEIRD, WINDOW, truth

pytestmark = pytest.mark.integration
World = tuple[OpenMetrics, dict[ServiceRef, Script]]


@pytest.fixture(scope="module")
def expected(scenario_world: World) -> Mapping[ServiceRef, Signals]:
    return truth(scenario_world[1]).fetch(at=AT, window=WINDOW)


@pytest.fixture(scope="module")
def measured(scenario_prometheus: str) -> dict[str, Mapping[ServiceRef, Signals]]:
    """One evaluation per preset (each reads only its own metric names)."""
    return {preset: PrometheusSignals(PrometheusSettings.from_mapping(
        {"url": scenario_prometheus, "signals": {"requests": preset}})).fetch(
            at=AT, window=WINDOW) for preset in PRESETS}


CASES = [pytest.param(p, s, id=f"{p}-{s}") for p in PRESETS for s in SCENARIOS]


def _close(a: float | None, b: float | None, tolerance: float) -> bool:
    return (a is None) == (b is None) and (a is None or abs(a - b) <= tolerance)  # type: ignore[operator]


def _since_close(got: float | None, want: float | None) -> bool:
    """One step either way inside the window; beyond it newer by up to a coarse step."""
    if got is None or want is None:
        return got is want
    newer_by = 60 if want <= WINDOW.total_seconds() else COARSE
    return want - newer_by <= got <= want + 60


@pytest.mark.parametrize(("preset", "scenario"), CASES)
def test_state_matches_truth(measured: dict[str, Mapping[ServiceRef, Signals]],
                             expected: Mapping[ServiceRef, Signals], preset: str,
                             scenario: str) -> None:
    ref = ServiceRef(preset, scenario)
    assert (measured[preset][ref].state, measured[preset][ref].reason) == (
        expected[ref].state, expected[ref].reason)


@pytest.mark.parametrize(("preset", "scenario"), CASES)
def test_values_match_truth(measured: dict[str, Mapping[ServiceRef, Signals]],
                            expected: Mapping[ServiceRef, Signals], preset: str,
                            scenario: str) -> None:
    ref = ServiceRef(preset, scenario)
    got, want = measured[preset][ref], expected[ref]
    assert [_close(got.requests, want.requests, 0.05 * (want.requests or 0) + 0.5),
            _since_close(got.seconds_since_last_request, want.seconds_since_last_request),
            _close(got.gpu_utilization_max, want.gpu_utilization_max, 0.01),
            _close(got.gpu_utilization_mean, want.gpu_utilization_mean, 0.01),
            got.gpus == want.gpus,
            _close(got.coverage_seconds, want.coverage_seconds, 1)] == [True] * 6


def test_names_with_quote_backslash_and_brace_come_back_intact(
        measured: dict[str, Mapping[ServiceRef, Signals]],
        expected: Mapping[ServiceRef, Signals]) -> None:
    got = measured["knative"][WEIRD]
    assert (got.ref, got.state, got.requests) == (WEIRD, expected[WEIRD].state,
                                                  expected[WEIRD].requests)


def test_only_services_with_series_are_returned(
        measured: dict[str, Mapping[ServiceRef, Signals]]) -> None:
    namespaces = {ref.namespace for ref in measured["istio"]}
    assert namespaces == {*PRESETS, WEIRD.namespace}
