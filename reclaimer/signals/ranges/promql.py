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
- ``gpuMax``: the GPU utilisation peak across each pod's GPUs, in percent;
- ``gpus``: GPUs requested by each pod (the service's ``gpus`` query before its join);
- ``gpuMissing``: per pod, the GPUs it holds (`signals.pods.HOLDING`) with no
  GPU series: one pod's series never stand in for a sibling's (summed per ISVC in `join`);
- ``held``: per pod, the GPUs it holds (not pending, not terminal), for the per-pod
  request check of the ``auto`` learner only (`pod_requests`);
- ``pods``: each pod's ISVC at each step (`signals.queries.isvc_pods`, the service's own
  join side, moved pods left out).

No query joins pods to ISVCs: series named by service (Knative, Istio) get their ISVC
by label rewrite, as in the service; series of pods come back per pod, and the join
with ``pods`` is done locally (`join`), step by step: inside Prometheus it is repeated
at every step of every range query and costs several times the rest of the query.
Service names never enter a query.
"""

from __future__ import annotations

from enum import StrEnum

from reclaimer.signals import pods
from reclaimer.signals.presets import GpuPreset, NameMap, PodJoin, RequestPreset, Source
from reclaimer.signals.promql import duration, set_label
from reclaimer.signals.queries import isvc_pods, to_isvc
from reclaimer.signals.settings import PrometheusSettings

# A row is an ISVC (series named by service) or a pod (joined locally with ``pods``).
BY_ROW = "by (namespace, isvc, pod)"
BY_POD = "by (namespace, pod)"


class RangeQuery(StrEnum):
    FRESH = "fresh"
    COUNTERS = "counters"
    IN_FLIGHT = "inFlight"
    GPU_MAX = "gpuMax"
    GPUS = "gpus"
    GPU_MISSING = "gpuMissing"
    PODS = "pods"
    HELD = "held"


def _union(parts: list[str]) -> str:
    return " or ".join(f"({p})" for p in parts)


def _workload_by(source: Source) -> str:
    if isinstance(source.mapping, PodJoin):
        return pods.by_workload(source.mapping)
    return f"by ({source.mapping.namespace_label}, {source.mapping.name_label})"


def to_row(expr: str, mapping: PodJoin | NameMap) -> str:
    """``namespace`` and ``isvc`` for series named by service; ``namespace`` and ``pod``
    for series of pods (joined locally): `signals.queries.to_isvc` without the join."""
    if isinstance(mapping, NameMap):
        return to_isvc(expr, mapping, pods="")
    return pods.to_pod(expr, mapping)


def _mapped(sources: tuple[Source, ...], build: str, *, reduce: str, kind: str) -> list[str]:
    parts = []
    for i, source in enumerate(sources):
        reduced = f"{reduce} {_workload_by(source)} ({build.replace('SEL', source.selector)})"
        tagged = set_label(reduced, target="reclaimer_source", value=f"{kind}-{i}")
        parts.append(to_row(tagged, source.mapping))
    return parts


def _gpu_series(gpu: GpuPreset) -> str:
    return _union([f"{s.scale:g} * {s.selector}" if s.scale != 1 else s.selector
                   for s in gpu.sources])


def fresh(requests: RequestPreset, gpu: GpuPreset, *, age: str) -> str:
    req = _mapped(requests.counters, f"count_over_time(SEL[{age}])", reduce="max",
                  kind="counter")
    mapping = pods.gpu_mapping(gpu)
    stamps = _union([f"count_over_time({s.selector}[{age}])" for s in gpu.sources])
    gpu_rows = pods.to_pod(f"max {pods.by_workload(mapping)} ({stamps})", mapping)
    return _union([set_label(f"max {BY_ROW} ({_union(req)})", target="signal",
                             value="requests"),
                   set_label(f"max {BY_POD} ({gpu_rows})", target="signal", value="gpu")])


def counters(requests: RequestPreset) -> str:
    """Per workload: its ISVC's or pod's labels plus its own, so each is diffed alone."""
    return _union(_mapped(requests.counters, "SEL", reduce="sum", kind="counter"))


def in_flight(requests: RequestPreset) -> str | None:
    if not requests.in_flight:
        return None
    parts = _mapped(requests.in_flight, "SEL", reduce="max", kind="in-flight")
    return f"max {BY_ROW} ({_union(parts)}) > 0"


def gpu_max(gpu: GpuPreset) -> str:
    return f"max {BY_POD} ({pods.to_pod(_gpu_series(gpu), pods.gpu_mapping(gpu))})"


def gpus() -> str:
    """Per pod; an ISVC with pods and no GPU request is 0 (from ``pods``, in `join`)."""
    return f"sum {BY_POD} (max by (namespace, pod, container, resource) ({pods.GPU_RESOURCES}))"


def held() -> str:
    """Per pod, the GPUs it holds (`signals.pods.HOLDING`: requested, neither pending
    nor terminal): where a pod's request series must be (`ranges.pod_requests`). Asked
    only by the learner of ``idle.after: auto``, not by the backtest."""
    return ("sum by (namespace, pod) (max by (namespace, pod, container, resource) "
            f"({pods.HOLDING}))")


def gpu_missing(gpu: GpuPreset) -> str:
    """GPUs held minus devices seen, per pod, clamped at 0 (summed per ISVC in `join`)."""
    mapping = pods.gpu_mapping(gpu)
    present = _union([f"group {pods.by_device(mapping)} ({s.selector})" for s in gpu.sources])
    devices = f"sum {pods.by_workload(mapping)} ({present})"
    seen = f"sum by (namespace, pod) ({pods.to_pod(devices, mapping)})"
    held = ("sum by (namespace, pod) (max by (namespace, pod, container, resource) "
            f"({pods.HOLDING}))")
    both = _union([set_label(held, target="reclaimer_part", value="held"),
                   set_label(f"-({seen})", target="reclaimer_part", value="seen")])
    return f"sum by (namespace, pod) ({both}) > 0"


def build(settings: PrometheusSettings) -> dict[RangeQuery, str]:
    """Every range query of a backtest for these presets (no in-flight query without
    gauges); ``pods`` first, since the others are joined with it as they arrive."""
    texts = {
        RangeQuery.PODS: isvc_pods(settings.pod_labels, settings.isvc_label),
        RangeQuery.FRESH: fresh(settings.requests, settings.gpu,
                                age=duration(settings.max_sample_age)),
        RangeQuery.COUNTERS: counters(settings.requests),
        RangeQuery.GPU_MAX: gpu_max(settings.gpu),
        RangeQuery.GPUS: gpus(),
        RangeQuery.GPU_MISSING: gpu_missing(settings.gpu),
    }
    flight = in_flight(settings.requests)
    if flight is not None:
        texts[RangeQuery.IN_FLIGHT] = flight
    return texts
