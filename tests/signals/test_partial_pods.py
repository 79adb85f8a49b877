"""Issue 13 case 1: partial data is unknown, judged per pod that held a GPU.

Real Prometheus 2.42, promtool backfill, scrapes every 30 s. ISVC ``two-pods``: pod A
is flat (no requests, GPU 0 %); pod B served 20 requests per 30 s at 90 % GPU until its
scrapes stopped 35 minutes before the evaluation, while kube-state-metrics still lists
it and its GPU request. The best-covered pod (A) used to speak for both: ``known``, 0
requests, GPU max 0, so idle. Every pod that held a GPU must now be covered for the
time it held it, so the answer is ``unknown``, naming pod B.

The same holds for request series joined by pod (the KServe Python server): a GPU pod
at 3 % whose request counter is no longer scraped makes the service unknown.

Controls: two healthy pods, a pod that started inside the window (covered for its
lifetime), and an evicted (Failed) and a Pending pod beside a healthy one (still
listed with their GPU requests, holding none) are known; a pod with fewer GPU series
than GPUs requested, or whose GPU data is stale beside a fresh sibling, is not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from reclaimer.cli import main
from reclaimer.model import ServiceRef, Signals, SignalState
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import OpenMetrics
from tests.signals.render import ISVC_LABEL
from tests.signals.scenarios import AT, WINDOW

pytestmark = pytest.mark.integration
NS = "ml"
EVERY = timedelta(seconds=30)
START = AT - timedelta(hours=2)


@dataclass(frozen=True)
class Pod:
    name: str
    busy: bool = False
    scraped_until: datetime = AT
    listed_from: datetime = START
    gpus: int = 1
    gpu_series: int = 1
    gpu_percent: float | None = None  # default: 90 when busy, else 0
    counter_until: datetime | None = None  # default: scraped_until
    phase: str | None = None  # kube_pod_status_phase now, if exported


ISVCS: dict[str, tuple[Pod, ...]] = {
    "two-pods": (Pod("two-pods-predictor-a"),
                 Pod("two-pods-predictor-b", busy=True,
                     scraped_until=AT - timedelta(minutes=35))),
    "healthy": (Pod("healthy-predictor-a"), Pod("healthy-predictor-b")),
    "scaled-up": (Pod("scaled-up-predictor-a"),
                  Pod("scaled-up-predictor-b", listed_from=AT - timedelta(minutes=10))),
    "one-of-two-gpus": (Pod("one-of-two-gpus-predictor-a", gpus=2, gpu_series=1),),
    "stale-pod": (Pod("stale-pod-predictor-a"),
                  Pod("stale-pod-predictor-b", scraped_until=AT - timedelta(minutes=3))),
    "evicted-and-pending": (
        Pod("evicted-and-pending-predictor-a"),
        Pod("evicted-and-pending-predictor-b", phase="Failed",
            scraped_until=AT - timedelta(minutes=20)),
        Pod("evicted-and-pending-predictor-c", phase="Pending", gpu_series=0,
            listed_from=AT - timedelta(minutes=15))),
    "counter-stopped": (Pod("counter-stopped-predictor-a"),
                        Pod("counter-stopped-predictor-b", busy=True, gpu_percent=3.0,
                            counter_until=AT - timedelta(minutes=35))),
}


def _scrape(om: OpenMetrics, isvc: str, pod: Pod, at: datetime, step: int) -> None:
    target = {"namespace": NS, "pod": pod.name}
    om.add("kube_pod_labels", {**target, ISVC_LABEL: isvc}, 1, at)
    om.add("kube_pod_container_resource_requests",
           {**target, "container": "kserve-container", "resource": "nvidia_com_gpu",
            "unit": "integer"}, pod.gpus, at)
    for phase in ("Pending", "Running", "Failed") if pod.phase else ():
        om.add("kube_pod_status_phase", {**target, "phase": phase},
               1 if phase == pod.phase else 0, at)
    if at > pod.scraped_until:
        return
    count = 20 * step if pod.busy else 0
    if at <= (pod.counter_until or pod.scraped_until):
        om.add("request_predict_seconds_count", {**target, "model_name": "m"}, count, at)
        om.add("revision_app_request_count",
               {**target, "namespace_name": NS, "service_name": f"{isvc}-predictor",
                "pod_name": pod.name, "response_code": "200"}, count, at)
    percent = pod.gpu_percent if pod.gpu_percent is not None else 90.0 if pod.busy else 0.0
    for gpu in range(pod.gpu_series):
        om.add("DCGM_FI_DEV_GPU_UTIL", {**target, "gpu": str(gpu), "UUID": f"GPU-{pod.name}-{gpu}",
                                        "container": "kserve-container"}, percent, at)


def _world() -> OpenMetrics:
    om = OpenMetrics()
    for isvc, pods in ISVCS.items():
        for pod in pods:
            at, step = pod.listed_from, 0
            while at <= AT:
                _scrape(om, isvc, pod, at, step)
                at, step = at + EVERY, step + 1
    return om


@pytest.fixture(scope="module")
def url(prometheus_factory: Callable[[OpenMetrics], str]) -> str:
    return prometheus_factory(_world())


def _fetch(url: str, preset: str, name: str) -> Signals:
    settings = PrometheusSettings.from_mapping({"url": url, "signals": {"requests": preset}})
    source = PrometheusSignals(settings)
    try:
        return source.fetch(at=AT, window=WINDOW)[ServiceRef(NS, name)]
    finally:
        source.close()


PRESETS = [pytest.param("knative", id="requests-by-name"),
           pytest.param("kserve-python", id="requests-by-pod")]


@pytest.mark.parametrize("preset", PRESETS)
def test_case1_unscraped_gpu_pod_makes_the_service_unknown(url: str, preset: str) -> None:
    got = _fetch(url, preset, "two-pods")
    assert (got.state, got.requests, got.gpu_utilization_max) == (
        SignalState.UNKNOWN, None, None)


@pytest.mark.parametrize("preset", PRESETS)
def test_case1_reason_names_the_unscraped_pod(url: str, preset: str) -> None:
    reason = _fetch(url, preset, "two-pods").reason or ""
    assert ("pod two-pods-predictor-b: no GPU data" in reason,
            "two-pods-predictor-a" in reason) == (True, False)


def test_case1_fewer_gpu_series_than_gpus_requested_is_unknown(url: str) -> None:
    got = _fetch(url, "knative", "one-of-two-gpus")
    assert (got.state, "pod one-of-two-gpus-predictor-a: no GPU data" in (got.reason or "")) == (
        SignalState.UNKNOWN, True)


def test_case1_gpu_pod_without_request_data_is_unknown_for_pod_joined_counters(url: str,
                                                                            ) -> None:
    got = _fetch(url, "kserve-python", "counter-stopped")
    assert (got.state, "pod counter-stopped-predictor-b: no request data" in (got.reason or "")
            ) == (SignalState.UNKNOWN, True)


def test_case1_a_stale_gpu_pod_beside_a_fresh_one_is_unknown(url: str) -> None:
    got = _fetch(url, "knative", "stale-pod")
    assert (got.state, "pod stale-pod-predictor-b: GPU data is stale" in (got.reason or "")) == (
        SignalState.UNKNOWN, True)


@pytest.mark.parametrize("name", [
    pytest.param("healthy", id="two-covered-pods"),
    pytest.param("scaled-up", id="pod-started-in-window-covered-for-its-lifetime"),
    pytest.param("evicted-and-pending", id="evicted-and-pending-pods-hold-no-gpu"),
])
def test_every_gpu_pod_covered_for_its_lifetime_is_known(url: str, name: str) -> None:
    got = _fetch(url, "knative", name)
    assert (got.state, got.reason, got.requests, got.gpu_utilization_max) == (
        SignalState.KNOWN, None, 0.0, 0.0)


def test_case1_signals_json_says_unknown_and_names_the_pod(
        url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["signals", "--prometheus", url, "--at", AT.isoformat(), "-o", "json"]) == 0
    items = json.loads(capsys.readouterr().out)
    item = next(i for i in items if (i["namespace"], i["name"]) == (NS, "two-pods"))
    assert (item["state"], item["requests"], "pod two-pods-predictor-b" in item["reason"]) == (
        "unknown", None, True)


def test_case1_both_windows_of_a_tick_name_the_pod(url: str) -> None:
    source = PrometheusSignals(PrometheusSettings.from_mapping({"url": url}))
    try:
        found = source.fetch_windows(at=AT, windows=[timedelta(minutes=5), WINDOW])
    finally:
        source.close()
    reasons = [by_ref[ServiceRef(NS, "two-pods")].reason or "" for by_ref in found.values()]
    assert [("pod two-pods-predictor-b: no GPU data" in r) for r in reasons] == [True, True]
