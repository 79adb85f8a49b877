"""The range queries of a backtest: one per signal, each for every ISVC at once.

Each is the instant form of what a service tick asks (`signals.queries`,
`signals.pods`), evaluated by ``/api/v1/query_range`` at every step, so the windows
can be summed locally instead of asking Prometheus once per step and window:

- ``fresh``: per signal (``requests``, ``gpu``) whether a sample is at most
  ``maxSampleAge`` old at the step (``count_over_time`` over that span: the service
  asks ``timestamp()``, which costs about eight times as much in a range query);
  presence (an instant lookup sees 5 minutes back) is read from the value queries;
- ``counters``: each request counter, reduced per workload and mapped to its ISVC,
  kept per workload so resets and new series are counted locally as the service
  counts them (`history.increments`);
- ``inFlight``: in-flight gauges above 0 (vLLM), requests at that step;
- ``gpuMax``: the GPU utilisation peak across the ISVC's GPUs, in percent;
- ``gpus``: GPUs requested by the ISVC's pods (the service's ``gpus`` query);
- ``gpuMissing``: per ISVC, the GPUs its pods hold (`signals.pods.HOLDING`) with no
  GPU series, summed over pods: one pod's series never stand in for a sibling's.

Service names never enter a query; pods are joined through kube_pod_labels exactly
as the service joins them (`signals.queries.isvc_pods`).
"""

from __future__ import annotations

from enum import StrEnum

from reclaimer.signals import pods
from reclaimer.signals.presets import GpuPreset, PodJoin, RequestPreset, Source
from reclaimer.signals.promql import duration, set_label
from reclaimer.signals.queries import isvc_pods, to_isvc
from reclaimer.signals.settings import PrometheusSettings

BY_ISVC = "by (namespace, isvc)"


class RangeQuery(StrEnum):
    FRESH = "fresh"
    COUNTERS = "counters"
    IN_FLIGHT = "inFlight"
    GPU_MAX = "gpuMax"
    GPUS = "gpus"
    GPU_MISSING = "gpuMissing"


def _union(parts: list[str]) -> str:
    return " or ".join(f"({p})" for p in parts)


def _workload_by(source: Source) -> str:
    if isinstance(source.mapping, PodJoin):
        return pods.by_workload(source.mapping)
    return f"by ({source.mapping.namespace_label}, {source.mapping.name_label})"


def _mapped(sources: tuple[Source, ...], build: str, *, reduce: str, kind: str,
            joined: str) -> list[str]:
    parts = []
    for i, source in enumerate(sources):
        reduced = f"{reduce} {_workload_by(source)} ({build.replace('SEL', source.selector)})"
        tagged = set_label(reduced, target="reclaimer_source", value=f"{kind}-{i}")
        parts.append(to_isvc(tagged, source.mapping, pods=joined))
    return parts


def _gpu_series(gpu: GpuPreset) -> str:
    return _union([f"{s.scale:g} * {s.selector}" if s.scale != 1 else s.selector
                   for s in gpu.sources])


def fresh(requests: RequestPreset, gpu: GpuPreset, *, joined: str, age: str) -> str:
    req = _mapped(requests.counters, f"count_over_time(SEL[{age}])", reduce="max",
                  kind="counter", joined=joined)
    mapping = pods.gpu_mapping(gpu)
    stamps = _union([f"count_over_time({s.selector}[{age}])" for s in gpu.sources])
    gpu_rows = to_isvc(f"max {pods.by_workload(mapping)} ({stamps})", mapping, pods=joined)
    return _union([set_label(f"max {BY_ISVC} ({_union(req)})", target="signal",
                             value="requests"),
                   set_label(f"max {BY_ISVC} ({gpu_rows})", target="signal", value="gpu")])


def counters(requests: RequestPreset, *, joined: str) -> str:
    """Per workload: the ISVC's labels plus the workload's own, so each is diffed alone."""
    return _union(_mapped(requests.counters, "SEL", reduce="sum", kind="counter",
                          joined=joined))


def in_flight(requests: RequestPreset, *, joined: str) -> str | None:
    if not requests.in_flight:
        return None
    parts = _mapped(requests.in_flight, "SEL", reduce="max", kind="in-flight", joined=joined)
    return f"max {BY_ISVC} ({_union(parts)}) > 0"


def gpu_max(gpu: GpuPreset, *, joined: str) -> str:
    mapping = gpu.sources[0].mapping
    return f"max {BY_ISVC} ({to_isvc(_gpu_series(gpu), mapping, pods=joined)})"


def gpus(*, joined: str) -> str:
    per_container = f"max by (namespace, pod, container, resource) ({pods.GPU_RESOURCES})"
    summed = f"sum {BY_ISVC} ({per_container} * on (namespace, pod) group_left (isvc) {joined})"
    return f"{summed} or 0 * count {BY_ISVC} ({joined})"


def gpu_missing(gpu: GpuPreset, *, joined: str) -> str:
    """GPUs held minus devices seen, per pod, clamped at 0, summed per ISVC, above 0."""
    mapping = pods.gpu_mapping(gpu)
    present = _union([f"group {pods.by_device(mapping)} ({s.selector})" for s in gpu.sources])
    devices = f"sum {pods.by_workload(mapping)} ({present})"
    seen = f"sum by (namespace, pod) ({pods.to_pod(devices, mapping)})"
    held = ("sum by (namespace, pod) (max by (namespace, pod, container, resource) "
            f"({pods.HOLDING}))")
    both = _union([set_label(held, target="reclaimer_part", value="held"),
                   set_label(f"-({seen})", target="reclaimer_part", value="seen")])
    short = f"sum by (namespace, pod) ({both}) > 0"
    return f"sum {BY_ISVC} (({short}) * on (namespace, pod) group_left (isvc) {joined})"


def build(settings: PrometheusSettings) -> dict[RangeQuery, str]:
    """Every range query of a backtest for these presets (no in-flight query without gauges)."""
    joined = isvc_pods(settings.pod_labels, settings.isvc_label)
    texts = {
        RangeQuery.FRESH: fresh(settings.requests, settings.gpu, joined=joined,
                                age=duration(settings.max_sample_age)),
        RangeQuery.COUNTERS: counters(settings.requests, joined=joined),
        RangeQuery.GPU_MAX: gpu_max(settings.gpu, joined=joined),
        RangeQuery.GPUS: gpus(joined=joined),
        RangeQuery.GPU_MISSING: gpu_missing(settings.gpu, joined=joined),
    }
    flight = in_flight(settings.requests, joined=joined)
    if flight is not None:
        texts[RangeQuery.IN_FLIGHT] = flight
    return texts
