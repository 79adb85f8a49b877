"""Coverage is counted per workload: a pod, or a named service with all its pods.

One ISVC whose only pod was replaced 15 minutes before the evaluation (old pod until
then, new pod from a minute earlier), in a real Prometheus 2.42. Series mapped by name
(Knative's ``service_name``) belong to one workload across pods, so the window is
covered; series joined by pod (the KServe model server, dcgm-exporter) are two
workloads, neither covering the window, so the service is unknown until the new pod
has covered it: never idle sooner.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from reclaimer.model import ServiceRef, Signals, SignalState
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import OpenMetrics
from tests.signals.render import ISVC_LABEL
from tests.signals.scenarios import AT, WINDOW

pytestmark = pytest.mark.integration
REF = ServiceRef("rollout", "llama")
PODS = (("llama-predictor-old", AT - timedelta(hours=1), AT - timedelta(minutes=15)),
        ("llama-predictor-new", AT - timedelta(minutes=16), AT))


def _pod(om: OpenMetrics, pod: str, at: datetime) -> None:
    target = {"namespace": REF.namespace, "pod": pod}
    om.add("kube_pod_labels", {**target, ISVC_LABEL: REF.name}, 1, at)
    om.add("kube_pod_container_resource_requests",
           {**target, "container": "kserve-container", "resource": "nvidia_com_gpu"}, 1, at)
    om.add("DCGM_FI_DEV_GPU_UTIL", {**target, "gpu": "0"}, 0, at)
    om.add("request_predict_seconds_count", {**target, "model_name": "m"}, 5, at)
    om.add("revision_app_request_count",
           {**target, "namespace_name": REF.namespace, "service_name": "llama-predictor",
            "pod_name": pod}, 5, at)


def _world() -> OpenMetrics:
    om = OpenMetrics()
    for pod, start, end in PODS:
        at = start
        while at <= end:
            _pod(om, pod, at)
            at += timedelta(seconds=30)
    return om


@pytest.fixture(scope="module")
def url(prometheus_factory: Callable[[OpenMetrics], str]) -> str:
    return prometheus_factory(_world())


def _fetch(url: str, preset: str) -> Signals:
    settings = PrometheusSettings.from_mapping({"url": url, "signals": {"requests": preset}})
    return PrometheusSignals(settings).fetch(at=AT, window=WINDOW)[REF]


@pytest.mark.parametrize(("preset", "state", "reason"), [
    pytest.param("knative", SignalState.UNKNOWN, "gpu data covers", id="by-name-gpu-by-pod"),
    pytest.param("kserve-python", SignalState.UNKNOWN, "requests data covers", id="by-pod"),
])
def test_replaced_pods_are_not_one_workload(url: str, preset: str, state: SignalState,
                                            reason: str) -> None:
    got = _fetch(url, preset)
    assert (got.state, reason in (got.reason or "")) == (state, True)


def test_a_named_service_is_one_workload_across_pods(url: str) -> None:
    got = _fetch(url, "knative")
    assert "requests data" not in (got.reason or "")
