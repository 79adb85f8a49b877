"""The backtest's own evaluation of its queries' PromQL gives what Prometheus gives.

`read_history` asks Prometheus for raw series and evaluates the PromQL of each range
query here (`ranges.evaluate`): the relabelling, the reductions per workload, pod and
ISVC, ``or``, ``unless`` and ``> 0``. Read the other way, Prometheus evaluates the
query texts of `ranges.promql` itself. Both histories must be equal, array by array
and step by step, for every request preset (series named by service, series joined by
pod, in-flight gauges), dcgm-exporter's ``exported_*`` labels and MIG devices (scaled),
a pod labelled with two ISVCs (left out), a counter reset, a new series, scrape gaps
and series that end; with each pod's request shortfall (``held``) too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from reclaimer.model import ServiceRef
from reclaimer.signals.ranges.fetch import RangeReader, read_history
from reclaimer.signals.ranges.history import Grid, History
from reclaimer.signals.scripted import Script, Steady
from reclaimer.signals.settings import PrometheusSettings
from tests.fixtures.prometheus import OpenMetrics
from tests.signals.render import ISVC_LABEL, Style, pod_of, render

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

START = datetime(2026, 11, 2, 8, 0, 7, tzinfo=UTC)
END = START + timedelta(hours=3)
BUSY = (Steady(START + timedelta(minutes=40), START + timedelta(minutes=70),
               timedelta(seconds=20)),)
GAP = ((START + timedelta(minutes=80), START + timedelta(minutes=95)),)
PRESETS = ("knative", "istio", "kserve-python", "vllm")


def _scripts() -> dict[str, tuple[Script, Style]]:
    return {
        "served": (Script(data_from=START, steady=BUSY, gpu_levels=(
            (START + timedelta(minutes=45), 60.0), (START + timedelta(minutes=75), 0.0))),
                   Style()),
        "exported": (Script(data_from=START, steady=BUSY, gpus=2, gaps=GAP),
                     Style(honor_labels=False)),
        "mig": (Script(data_from=START, gpu_levels=((START + timedelta(minutes=90), 35.0),)),
                Style(mig=True)),
        "moved": (Script(data_from=START, steady=BUSY), Style(duplicate_pod_labels=True)),
        "reset": (Script(data_from=START, steady=BUSY, new_series=(
            START + timedelta(minutes=100),)), Style(reset_at=START + timedelta(minutes=55))),
        "ends": (Script(data_from=START, data_to=START + timedelta(minutes=120), steady=BUSY),
                 Style()),
    }


def _between(first: int, last: int) -> list[datetime]:
    return [START + timedelta(seconds=30 * i) for i in range(first * 2, last * 2)]


def _pod(om: OpenMetrics, namespace: str, isvc: str, at: datetime, **what: float) -> None:
    """A pod of ``isvc`` (named after it) as kube-state-metrics and dcgm-exporter show
    it: labels, and a GPU request or a device series when given."""
    pod = {"namespace": namespace, "pod": f"{isvc}-extra"}
    om.add("kube_pod_labels", {**pod, ISVC_LABEL: isvc, "instance": "ksm-0"}, 1, at)
    if "gpus" in what:
        om.add("kube_pod_container_resource_requests",
               {**pod, "container": "c", "resource": "nvidia_com_gpu", "unit": "integer"},
               what["gpus"], at)
    if "util" in what:
        om.add("DCGM_FI_DEV_GPU_UTIL", {**pod, "gpu": "0", "GPU_I_PROFILE": ""},
               what["util"], at)


def _odd_pods(om: OpenMetrics, namespace: str) -> None:
    """What the rendered ISVCs never show: a pod relabelled to a second ISVC for half
    an hour, pods in a terminal or pending phase, a pod holding a GPU with no GPU
    series and one with a GPU series and no request, requests in flight."""
    moved = {"namespace": namespace, "pod": pod_of(ServiceRef(namespace, "moved")),
             "instance": "ksm-0"}
    phase = "kube_pod_status_phase"
    for at in _between(0, 180):
        minute = (at - START).total_seconds() / 60
        if 60 <= minute < 90:
            om.add("kube_pod_labels", {**moved, ISVC_LABEL: "other"}, 1, at)
        served = {"namespace": namespace, "pod": pod_of(ServiceRef(namespace, "served"))}
        om.add(phase, {**served, "phase": "Running"}, float(minute < 100), at)
        om.add(phase, {**served, "phase": "Failed"}, float(minute >= 100), at)
        mig = {"namespace": namespace, "pod": pod_of(ServiceRef(namespace, "mig"))}
        om.add(phase, {**mig, "phase": "Pending"}, float(minute < 30), at)
        om.add(phase, {**mig, "phase": "Running"}, float(30 <= minute < 150), at)
        _pod(om, namespace, "blind", at, gpus=2, util=10.0) if minute < 50 else _pod(
            om, namespace, "blind", at, gpus=2)
        _pod(om, namespace, "unrequested", at, util=20.0)
        if 40 <= minute < 50:
            om.add("vllm:num_requests_running", {"model_name": "m", "namespace": namespace,
                                                 "pod": pod_of(ServiceRef(namespace,
                                                                          "served"))}, 3, at)


@pytest.fixture(scope="module")
def url(prometheus_factory: Callable[[OpenMetrics], str]) -> str:
    om = OpenMetrics()
    for preset in PRESETS:
        for name, (script, style) in _scripts().items():
            render(om, ServiceRef(f"ns-{preset}", name), script,
                   Style(**{**vars(style), "preset": preset}), start=START, end=END)
        _odd_pods(om, f"ns-{preset}")
    return prometheus_factory(om)


def _arrays(history: History) -> dict[tuple[ServiceRef, str], np.ndarray]:
    return {(ref, name): getattr(one, name) for ref, one in history.services.items()
            for name in ("requests_newest", "gpu_newest", "increments", "counted",
                         "in_flight", "gpu_max", "gpus", "gpu_missing", "requests_missing")}


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("per_pod", [False, True], ids=["service", "per-pod-requests"])
def test_evaluated_here_equals_asked_of_prometheus(url: str, preset: str, per_pod: bool) -> None:
    settings = PrometheusSettings.from_mapping({"url": url, "signals": {"requests": preset}})
    grid = Grid.covering(START, END, timedelta(minutes=1))
    here, there = RangeReader(settings), RangeReader(settings)
    ours = _arrays(read_history(settings, grid, chunk_steps=70, reader=here,
                                per_pod_requests=per_pod))
    theirs = _arrays(read_history(settings, grid, chunk_steps=70, reader=there,
                                  per_pod_requests=per_pod, here=False))
    assert {ref for ref, _ in ours} >= {ServiceRef(f"ns-{preset}", n) for n in _scripts()
                                        if n != "moved"}
    assert ours.keys() == theirs.keys()
    unequal = [key for key, values in ours.items()
               if not np.array_equal(values, theirs[key], equal_nan=True)]
    assert unequal == []
    # Only raw series and count_over_time of them were asked: nothing relabelled or
    # reduced at each step in Prometheus.
    assert not [t for t in here.asked if "label_replace" in t or " by (" in t]
