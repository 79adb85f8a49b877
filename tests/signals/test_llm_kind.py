"""LLMInferenceServices judged by vLLM's metrics on their workload pods (issue 15 item 3).

Real Prometheus 2.42, backfilled with the series an LLMInferenceService's pods export in
KServe 0.17: kube-state-metrics' ``kube_pod_labels`` with ``app.kubernetes.io/name``,
``part-of=llminferenceservice`` and the workload component (``singleNodeLabels``,
``pkg/controller/v1alpha2/llmisvc/workload_single_node.go`` at v0.17.0), vLLM's counter
and gauges (metrics.md §2.3), dcgm-exporter and GPU requests. The router's scheduler pod
carries the same name and part-of but another component, and no GPU.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from reclaimer.model import ServiceKind, ServiceRef, Signals, SignalState
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import OpenMetrics
from tests.signals.render import ISVC_LABEL, llm_pods, vllm
from tests.signals.scenarios import AT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
LLM = ServiceKind.LLM_INFERENCE_SERVICE
IDLE = ServiceRef("ml", "chat", LLM)
BUSY = ServiceRef("ml", "coder", LLM)
UNSCRAPED = ServiceRef("ml", "silent", LLM)
NAMESAKE = ServiceRef("ml", "chat")  # an InferenceService of the same name, busy
WINDOW = timedelta(minutes=30)
STEP = timedelta(seconds=15)


def _world() -> OpenMetrics:
    om = OpenMetrics()
    at = AT - timedelta(hours=2)
    n = 0
    while at <= AT:
        for ref in (IDLE, BUSY, UNSCRAPED):
            llm_pods(om, ref, at, util=60.0 if ref == BUSY else 0.0)
        vllm(om, IDLE, "chat-kserve-7c9d-0", at, done=12, running=0)
        vllm(om, BUSY, "coder-kserve-7c9d-0", at, done=12 + n, running=2)
        namesake = {"namespace": "ml", "pod": "chat-predictor-0"}
        om.add("kube_pod_labels", {**namesake, ISVC_LABEL: NAMESAKE.name}, 1, at)
        om.add("revision_app_request_count",
               {"namespace_name": "ml", "service_name": "chat-predictor", **namesake}, n, at)
        at += STEP
        n += 1
    return om


@pytest.fixture(scope="module")
def url(prometheus_factory: Callable[[OpenMetrics], str]) -> str:
    return prometheus_factory(_world())


@pytest.fixture(scope="module")
def found(url: str) -> dict[ServiceRef, Signals]:
    source = PrometheusSignals(PrometheusSettings.from_mapping({"url": url}))
    try:
        return dict(source.fetch_windows(at=AT, windows=(WINDOW,),
                                         kinds=(ServiceKind.INFERENCE_SERVICE, LLM))[WINDOW])
    finally:
        source.close()


def test_an_llmisvc_without_traffic_is_known_and_idle(found: dict[ServiceRef, Signals]) -> None:
    signals = found[IDLE]
    assert (signals.state, signals.requests, signals.seconds_since_last_request,
            signals.gpu_utilization_max) == (SignalState.KNOWN, 0.0, None, 0.0)


def test_requests_running_make_an_llmisvc_busy(found: dict[ServiceRef, Signals]) -> None:
    signals = found[BUSY]
    assert (signals.state, signals.seconds_since_last_request) == (SignalState.KNOWN, 0.0)
    assert signals.requests is not None and signals.requests > 100


def test_gpus_are_counted_from_the_workload_pods(found: dict[ServiceRef, Signals]) -> None:
    assert (found[IDLE].gpus, found[BUSY].gpus) == (1, 1)


def test_an_llmisvc_without_vllm_series_is_unknown(found: dict[ServiceRef, Signals]) -> None:
    signals = found[UNSCRAPED]
    assert (signals.state, signals.requests) == (SignalState.UNKNOWN, None)
    assert "no requests series" in (signals.reason or "")


def test_an_isvc_of_the_same_name_is_judged_apart(found: dict[ServiceRef, Signals]) -> None:
    assert (found[NAMESAKE].state, found[IDLE].requests) == (SignalState.KNOWN, 0.0)
    assert found[NAMESAKE].requests is not None and found[NAMESAKE].requests > 0


def test_the_scheduler_pod_is_no_service(found: dict[ServiceRef, Signals]) -> None:
    assert {ref for ref in found if ref.kind is LLM} == {IDLE, BUSY, UNSCRAPED}


def test_without_the_kind_asked_no_llmisvc_is_evaluated(url: str) -> None:
    """InferenceServices only, as before: seven queries, no LLMInferenceService."""
    source = PrometheusSignals(PrometheusSettings.from_mapping({"url": url}))
    try:
        refs = set(source.fetch_windows(at=AT, windows=(WINDOW,))[WINDOW])
    finally:
        source.close()
    assert {ref.kind for ref in refs} == {ServiceKind.INFERENCE_SERVICE}
