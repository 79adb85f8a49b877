"""Where each kind of request and GPU metric lives, and how its series map to an ISVC.

A preset names raw series (selectors, never per-service values) and a mapping from a
series' labels to (namespace, ISVC); `queries.py` turns that into the few PromQL
queries of one evaluation. Facts below are from ``docs/reference/metrics.md``:

- ``knative``: queue-proxy ``revision_app_request_count`` and activator
  ``activator_request_count`` (OpenCensus, Knative <= 1.18, §2.1). The activator's
  series carry the activator's own pod, so both are mapped by name: ``service_name``
  is the Knative Service ``<isvc>-predictor`` and ``namespace_name`` its namespace.
  A request that passes the activator is counted twice; over-counting can only make a
  service look busier, never idler.
- ``knative-otel``: Knative >= 1.19 renamed them (``kn.queueproxy.app.duration``
  1.19-1.20, ``kn.serving.invocation.duration`` from 1.21); the Prometheus names and
  promoted ``kn_service_name``/``k8s_namespace_name`` labels are inferred (§2.1): check
  a live /metrics, and override with ``{query: ...}`` or templates if they differ.
- ``istio``: ``istio_requests_total{reporter="destination"}`` by destination service
  (§2.2); only one reporter, so nothing is counted twice.
- ``kserve-python``, ``triton``, ``vllm``: model-server counters whose labels name the
  model, not the ISVC, so they are joined through kube-state-metrics' pod labels
  (§2.2, §2.3). vLLM success counters move only when a request finishes, so running
  and waiting requests count as activity too.
- ``dcgm``: ``DCGM_FI_DEV_GPU_UTIL`` (percent) except on MIG instances, where it is not
  supported and ``DCGM_FI_PROF_GR_ENGINE_ACTIVE`` (ratio, scaled by 100) is used
  (§1.1, §1.4). With ``honorLabels: false`` the workload's labels arrive as
  ``exported_pod``/``exported_namespace`` (§1.2); both spellings are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

# KServe names its components <isvc>-predictor|transformer|explainer[-default|-canary].
ISVC_PATTERN = "^(.+)-(predictor|transformer|explainer)(-default|-canary)?$"


@dataclass(frozen=True)
class PodJoin:
    """Series carry the workload pod; joined to ISVCs through kube_pod_labels.

    ``aliases`` are (namespace label, pod label) pairs that, when present, name the
    workload instead (e.g. dcgm-exporter scraped with honorLabels=false).
    """

    namespace_label: str = "namespace"
    pod_label: str = "pod"
    aliases: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class NameMap:
    """Series carry the ISVC's component name; the ISVC is extracted by pattern."""

    namespace_label: str
    name_label: str
    pattern: str = ISVC_PATTERN


SeriesMapping = PodJoin | NameMap


@dataclass(frozen=True)
class Source:
    """One family of raw series; ``scale`` turns its values into the signal's unit."""

    selector: str
    mapping: SeriesMapping
    scale: float = 1.0


@dataclass(frozen=True)
class RequestPreset:
    """Counters of served requests, plus gauges of requests in flight (vLLM)."""

    name: str
    counters: tuple[Source, ...]
    in_flight: tuple[Source, ...] = ()


@dataclass(frozen=True)
class GpuPreset:
    """Utilisation gauges in percent; a later source fills only series the first lacks."""

    name: str
    sources: tuple[Source, ...]


POD = PodJoin()
DCGM_POD = PodJoin(aliases=(("exported_namespace", "exported_pod"),))
_KNATIVE_NAMES = NameMap(namespace_label="namespace_name", name_label="service_name")
_OTEL_NAMES = NameMap(namespace_label="k8s_namespace_name", name_label="kn_service_name")

REQUEST_PRESETS: dict[str, RequestPreset] = {
    p.name: p for p in (
        RequestPreset("knative", (
            Source("revision_app_request_count", _KNATIVE_NAMES),
            Source("activator_request_count", _KNATIVE_NAMES),
        )),
        RequestPreset("knative-otel", (
            Source('{__name__=~"kn_serving_invocation_duration_seconds_count'
                   '|kn_queueproxy_app_duration_seconds_count"}', _OTEL_NAMES),
        )),
        RequestPreset("istio", (
            Source('istio_requests_total{reporter="destination"}',
                   NameMap(namespace_label="destination_service_namespace",
                           name_label="destination_service_name")),
        )),
        RequestPreset("kserve-python", (
            Source("request_predict_seconds_count", POD),
            Source("request_explain_seconds_count", POD),
        )),
        RequestPreset("vllm", (
            Source("vllm:request_success_total", POD),
        ), in_flight=(
            Source("vllm:num_requests_running", POD),
            Source("vllm:num_requests_waiting", POD),
        )),
        RequestPreset("triton", (
            Source("nv_inference_request_success", POD),
            Source("nv_inference_request_failure", POD),
        )),
    )
}

GPU_PRESETS: dict[str, GpuPreset] = {
    "dcgm": GpuPreset("dcgm", (
        Source('DCGM_FI_DEV_GPU_UTIL{GPU_I_PROFILE=""}', DCGM_POD),
        Source("DCGM_FI_PROF_GR_ENGINE_ACTIVE", DCGM_POD, scale=100.0),
    )),
}


def custom_requests(selector: str) -> RequestPreset:
    """An operator's own request counter; its series must carry namespace and pod."""
    return RequestPreset("custom", (Source(selector, POD),))


def custom_gpu(selector: str) -> GpuPreset:
    """An operator's own GPU gauge in percent; its series must carry namespace and pod."""
    return GpuPreset("custom", (Source(selector, DCGM_POD),))
