"""A generation still running is traffic, even when the pod also has request counters.

vLLM counts a request when it finishes; one long generation shows only in the gauge
``vllm:num_requests_running``. Reduced per pod, the counter and the gauge have the same
labels, and a ``or`` between them kept the counter alone: a pod whose last finished
request was 40 minutes ago, busy for the last 30 minutes, looked idle. Real Prometheus
2.42, both windows of a tick in one evaluation and each window alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from reclaimer.model import ServiceRef, Signals
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import OpenMetrics
from tests.signals.render import ISVC_LABEL
from tests.signals.scenarios import AT

pytestmark = pytest.mark.integration
REF = ServiceRef("ml", "llm")
LOOKBACK, IDLE = timedelta(minutes=5), timedelta(minutes=20)


def _world() -> OpenMetrics:
    om = OpenMetrics()
    target = {"namespace": REF.namespace, "pod": "llm-predictor-0"}
    at = AT - timedelta(hours=2)
    while at <= AT:
        running = 1 if at >= AT - timedelta(minutes=30) else 0
        finished = 3 if at < AT - timedelta(minutes=40) else 4
        om.add("kube_pod_labels", {**target, ISVC_LABEL: REF.name}, 1, at)
        om.add("vllm:request_success_total",
               {**target, "model_name": "m", "finished_reason": "stop"}, finished, at)
        om.add("vllm:num_requests_running", {**target, "model_name": "m"}, running, at)
        om.add("vllm:num_requests_waiting", {**target, "model_name": "m"}, 0, at)
        at += timedelta(seconds=15)
    return om


@pytest.fixture(scope="module")
def url(prometheus_factory: Callable[[OpenMetrics], str]) -> str:
    return prometheus_factory(_world())


def _fetch(url: str, windows: list[timedelta]) -> dict[timedelta, Signals]:
    settings = PrometheusSettings.from_mapping({"url": url, "signals": {"requests": "vllm"}})
    found = PrometheusSignals(settings).fetch_windows(at=AT, windows=windows, recent=LOOKBACK)
    return {w: by_ref[REF] for w, by_ref in found.items()}


@pytest.mark.parametrize("windows", [
    pytest.param([LOOKBACK], id="lookback-alone"),
    pytest.param([IDLE], id="idle-window-alone"),
    pytest.param([LOOKBACK, IDLE], id="both-windows-in-one-evaluation"),
])
def test_a_running_generation_counts_as_requests(url: str, windows: list[timedelta]) -> None:
    assert all((s.requests or 0) > 0 for s in _fetch(url, windows).values())


@pytest.mark.parametrize("windows", [
    pytest.param([LOOKBACK], id="lookback-alone"),
    pytest.param([LOOKBACK, IDLE], id="both-windows-in-one-evaluation"),
])
def test_a_running_generation_is_a_request_within_the_lookback(
        url: str, windows: list[timedelta]) -> None:
    since = [s.seconds_since_last_request for s in _fetch(url, windows).values()]
    assert all(s is not None and s < LOOKBACK.total_seconds() for s in since)
