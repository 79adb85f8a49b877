"""Render `Script`s as the series real exporters would have produced (metrics.md §1-2).

One ISVC gets: kube-state-metrics ``kube_pod_labels`` (twice when ``duplicate_pod_labels``,
as HA kube-state-metrics does) and ``kube_pod_container_resource_requests``; the request
counter of the chosen preset with its real label names; dcgm-exporter GPU series (MIG:
GPU_UTIL reports 0 and GR_ENGINE_ACTIVE carries the load; honorLabels=false: the
workload's labels as ``exported_*``).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from reclaimer.model import ServiceRef
from reclaimer.signals.scripted import Script
from tests.fixtures.prometheus import OpenMetrics

EVERY = timedelta(seconds=30)
ISVC_LABEL = "label_serving_kserve_io_inferenceservice"


@dataclass(frozen=True)
class Style:
    """How the exporters of one ISVC look; not part of what happened."""

    preset: str = "knative"
    mig: bool = False
    honor_labels: bool = True
    duplicate_pod_labels: bool = False
    reset_at: datetime | None = None


def pod_of(ref: ServiceRef) -> str:
    return f"{ref.name}-predictor-00001-deployment-7d9f8-abcde"


def _counter(style: Style, ref: ServiceRef, pod: str, extra: dict[str, str],
             ) -> tuple[str, dict[str, str]]:
    service = f"{ref.name}-predictor"
    target = {"namespace": ref.namespace, "pod": pod}
    name, labels = {
        "knative": ("revision_app_request_count",
                    {"namespace_name": ref.namespace, "service_name": service,
                     "revision_name": f"{service}-00001", "pod_name": pod,
                     "response_code": "200", **target}),
        "knative-otel": ("kn_serving_invocation_duration_seconds_count",
                         {"k8s_namespace_name": ref.namespace, "kn_service_name": service,
                          "http_response_status_code": "200"}),
        "istio": ("istio_requests_total",
                  {"reporter": "destination", "destination_service_namespace": ref.namespace,
                   "destination_service_name": service, "response_code": "200", **target}),
        "kserve-python": ("request_predict_seconds_count", {"model_name": "m", **target}),
        "vllm": ("vllm:request_success_total",
                 {"model_name": "m", "finished_reason": "stop", **target}),
        "triton": ("nv_inference_request_success", {"model": "m", "version": "1", **target}),
    }[style.preset]
    return name, {**labels, **extra}


def _count(script: Script, style: Style, at: datetime) -> float:
    total = script.requests_until(at) - sum(1 for t in script.new_series if t <= at)
    if style.reset_at is not None and at >= style.reset_at:
        total -= script.requests_until(style.reset_at) - sum(
            1 for t in script.new_series if t <= style.reset_at)
    return float(total)


def _gpu(om: OpenMetrics, ref: ServiceRef, script: Script, style: Style, at: datetime) -> None:
    workload = {"namespace": ref.namespace, "pod": pod_of(ref), "container": "kserve-container"}
    if not style.honor_labels:
        workload = {"exported_" + k: v for k, v in workload.items()}
        workload |= {"namespace": "gpu-operator", "pod": "nvidia-dcgm-exporter-x2x"}
    device = {"gpu": "0", "UUID": f"GPU-{zlib.crc32(str(ref).encode()):08x}", "Hostname": "node-1",
              "modelName": "NVIDIA H100 80GB HBM3", **workload}
    value = script.gpu_at(at)
    if style.mig:
        device |= {"GPU_I_PROFILE": "1g.10gb", "GPU_I_ID": "7"}
        om.add("DCGM_FI_DEV_GPU_UTIL", device, 0.0, at)
        om.add("DCGM_FI_PROF_GR_ENGINE_ACTIVE", device, value / 100, at)
    else:
        om.add("DCGM_FI_DEV_GPU_UTIL", device, value, at)
        om.add("DCGM_FI_PROF_GR_ENGINE_ACTIVE", device, value / 100, at)


def _kube(om: OpenMetrics, ref: ServiceRef, script: Script, style: Style, at: datetime) -> None:
    pod = pod_of(ref)
    labels = {"namespace": ref.namespace, "pod": pod, "uid": "u-1", ISVC_LABEL: ref.name,
              "label_component": "predictor"}
    om.add("kube_pod_labels", labels | {"instance": "ksm-0"}, 1, at)
    if style.duplicate_pod_labels:
        om.add("kube_pod_labels", labels | {"instance": "ksm-1"}, 1, at)
    if script.gpus:
        resource = "nvidia_com_mig_1g_10gb" if style.mig else "nvidia_com_gpu"
        om.add("kube_pod_container_resource_requests",
               {"namespace": ref.namespace, "pod": pod, "container": "kserve-container",
                "resource": resource, "unit": "integer"}, script.gpus, at)


def render(om: OpenMetrics, ref: ServiceRef, script: Script, style: Style, *,
           start: datetime, end: datetime, every: timedelta = EVERY) -> None:
    """Add every series of one ISVC between ``start`` and ``end``."""
    for at in script.scrapes(start, end, every=every):
        _kube(om, ref, script, style, at)
        if script.gpus:
            _gpu(om, ref, script, style, at)
        if script.request_series:
            name, labels = _counter(style, ref, pod_of(ref), {})
            om.add(name, labels, _count(script, style, at), at)
            if style.preset == "vllm":
                for gauge in ("vllm:num_requests_running", "vllm:num_requests_waiting"):
                    om.add(gauge, {"model_name": "m", "namespace": ref.namespace,
                                   "pod": pod_of(ref)}, 0, at)
        for i, born in enumerate(script.new_series):
            if at >= born:
                name, labels = _counter(style, ref, pod_of(ref), {"extra": f"new-{i}"})
                om.add(name, labels, 1, at)


def llm_pods(om: OpenMetrics, ref: ServiceRef, at: datetime, *, util: float) -> str:
    """An LLMInferenceService's workload pod (one GPU) and its router's scheduler pod, as
    kube-state-metrics and dcgm-exporter show them (labels of KServe v0.17.0
    ``singleNodeLabels`` and ``scheduler.go``); the workload pod's name."""
    pod = f"{ref.name}-kserve-7c9d-0"
    for name, component in ((pod, "llminferenceservice-workload"),
                            (f"{ref.name}-kserve-router-scheduler-5f-0",
                             "llminferenceservice-router-scheduler")):
        om.add("kube_pod_labels", {"namespace": ref.namespace, "pod": name,
                                   "label_app_kubernetes_io_name": ref.name,
                                   "label_app_kubernetes_io_part_of": "llminferenceservice",
                                   "label_app_kubernetes_io_component": component}, 1, at)
    target = {"namespace": ref.namespace, "pod": pod, "container": "main"}
    om.add("kube_pod_container_resource_requests",
           {**target, "resource": "nvidia_com_gpu", "unit": "integer"}, 1, at)
    om.add("DCGM_FI_DEV_GPU_UTIL", {**target, "gpu": "0", "UUID": f"GPU-{pod}",
                                    "GPU_I_PROFILE": ""}, util, at)
    return pod


def vllm(om: OpenMetrics, ref: ServiceRef, pod: str, at: datetime, *, done: float,
         running: float) -> None:
    """vLLM's finished-request counter and in-flight gauges (metrics.md §2.3)."""
    target = {"namespace": ref.namespace, "pod": pod, "model_name": "m"}
    om.add("vllm:request_success_total", {**target, "finished_reason": "stop"}, done, at)
    om.add("vllm:num_requests_running", target, running, at)
    om.add("vllm:num_requests_waiting", target, 0, at)
