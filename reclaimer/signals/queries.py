"""The seven PromQL queries of one evaluation, built from presets, for all ISVCs at once.

Every query groups by ``(namespace, isvc)`` (coverage and freshness also by ``signal``),
so the answer has one row per service whatever the number of samples, and the number of
queries per evaluation is fixed. Per-service values are never part of a query.

Templates hold ``{{tokens}}`` (`TOKENS`) so an operator can replace any query in config
and still get the window, step and pod join of the evaluation:

- ``{{isvc_pods}}``: kube_pod_labels deduplicated with ``max by`` (HA kube-state-metrics
  and restarts duplicate it; an undeduplicated ``group_left`` fails with 422
  "many-to-many", metrics.md §2.3), mapped to ``(namespace, pod, isvc)``;
- ``{{isvc_pods_window}}``/``{{isvc_pods_horizon}}``: the same over the whole range, so
  pods that went away inside the window still count (metrics.md §3.5).

How the edge cases of metrics.md §3.5 are met:

- new-series trap: ``increase`` misses a counter's first value, so a series that was
  absent at the window start adds its first value (``min_over_time unless offset``),
  and "last request" treats a series absent a step earlier as going up from 0;
- single sample: ``increase`` of one sample is nothing; such a series is either new
  (counted as above) or has a gap, which coverage reports;
- counter resets: ``increase`` handles them; in "last request" any change, up or down,
  is activity, so a reset can only make a service look busier;
- staleness and gaps > 5 min: the coverage query counts, per step, whether any series
  was present (an instant lookup sees 5 min back, so only a gap > 5 min is missed),
  and the freshness query returns the newest sample's timestamp.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from reclaimer.signals.presets import GpuPreset, NameMap, PodJoin, RequestPreset, Source
from reclaimer.signals.promql import copy_label, duration, extract_label, quote, set_label


class Query(StrEnum):
    REQUESTS = "requests"
    LAST_REQUEST = "lastRequest"
    COVERAGE = "coverage"
    FRESHNESS = "freshness"
    GPU_MAX = "gpuMax"
    GPU_MEAN = "gpuMean"
    GPUS = "gpus"


TEMPLATE_KEYS = tuple(q.value for q in Query)
TOKENS = ("window", "step", "horizon", "isvc_pods", "isvc_pods_window", "isvc_pods_horizon")
GPU_RESOURCES = 'kube_pod_container_resource_requests{resource=~"nvidia_com_gpu|nvidia_com_mig_.+"}'
BY_ISVC = "by (namespace, isvc)"


def to_isvc(expr: str, mapping: PodJoin | NameMap, *, pods: str) -> str:
    """Give each series ``namespace`` and ``isvc`` labels (the pod join or the name)."""
    if isinstance(mapping, NameMap):
        named = extract_label(expr, target="isvc", source=mapping.name_label,
                              pattern=mapping.pattern)
        return copy_label(named, target="namespace", source=mapping.namespace_label)
    pairs = [(mapping.namespace_label, mapping.pod_label), *mapping.aliases]
    for namespace_label, pod_label in pairs:
        if (namespace_label, pod_label) != ("namespace", "pod"):
            expr = copy_label(expr, target="pod", source=pod_label)
            expr = copy_label(expr, target="namespace", source=namespace_label)
    return f"({expr}) * on (namespace, pod) group_left (isvc) {pods}"


def _union(parts: list[str]) -> str:
    return " or ".join(f"({p})" for p in parts)


def _each(sources: tuple[Source, ...], build: str, *, pods: str) -> str:
    """``build`` (with ``SEL``) per source, tagged so ``or`` keeps every source."""
    parts = [to_isvc(set_label(build.replace("SEL", s.selector), target="reclaimer_source",
                               value=str(i)), s.mapping, pods=pods)
             for i, s in enumerate(sources)]
    return _union(parts)


def requests(preset: RequestPreset) -> str:
    counted = ("(increase(SEL[{{window}}]) + (min_over_time(SEL[{{window}}]) unless SEL offset "
               "{{window}})) or increase(SEL[{{window}}]) or (min_over_time(SEL[{{window}}]) "
               "unless SEL offset {{window}})")
    parts = [_each(preset.counters, counted, pods="{{isvc_pods_window}}")]
    if preset.in_flight:
        parts.append(_each(preset.in_flight, "max_over_time(SEL[{{window}}])",
                           pods="{{isvc_pods_window}}"))
    return f"sum {BY_ISVC} ({_union(parts)})"


def last_request(preset: RequestPreset) -> str:
    changed = ("max_over_time(timestamp((SEL - (SEL offset {{step}} or SEL * 0)) != 0)"
               "[{{horizon}}:{{step}}])")
    parts = [_each(preset.counters, changed, pods="{{isvc_pods_horizon}}")]
    if preset.in_flight:
        busy = "max_over_time(timestamp(SEL > 0)[{{horizon}}:{{step}}])"
        parts.append(_each(preset.in_flight, busy, pods="{{isvc_pods_horizon}}"))
    return f"max {BY_ISVC} ({_union(parts)})"


def _gpu_series(preset: GpuPreset, build: str) -> str:
    parts = [f"{s.scale:g} * {build.replace('SEL', s.selector)}" if s.scale != 1
             else build.replace("SEL", s.selector) for s in preset.sources]
    return _union(parts)


def _presence(mapped: str, signal: str) -> str:
    counted = f"count_over_time((count {BY_ISVC} ({mapped}))[{{{{window}}}}:{{{{step}}}}])"
    return set_label(counted, target="signal", value=signal)


def coverage(requests_preset: RequestPreset, gpu: GpuPreset) -> str:
    served = _each(requests_preset.counters, "SEL", pods="{{isvc_pods}}")
    gpu_series = to_isvc(_union([s.selector for s in gpu.sources]), gpu.sources[0].mapping,
                         pods="{{isvc_pods}}")
    return _union([_presence(served, "requests"), _presence(gpu_series, "gpu")])


def freshness(requests_preset: RequestPreset, gpu: GpuPreset) -> str:
    newest = _each(requests_preset.counters, "timestamp(SEL)", pods="{{isvc_pods_window}}")
    gpu_newest = to_isvc(_union([f"timestamp({s.selector})" for s in gpu.sources]),
                         gpu.sources[0].mapping, pods="{{isvc_pods_window}}")
    return _union([set_label(f"max {BY_ISVC} ({newest})", target="signal", value="requests"),
                   set_label(f"max {BY_ISVC} ({gpu_newest})", target="signal", value="gpu")])


def gpu_stat(preset: GpuPreset, stat: str) -> str:
    """``stat`` is ``max`` or ``avg``: per GPU over the window, then across the ISVC."""
    series = _gpu_series(preset, f"{stat}_over_time(SEL[{{{{window}}}}])")
    joined = to_isvc(series, preset.sources[0].mapping, pods="{{isvc_pods_window}}")
    return f"{stat} {BY_ISVC} ({joined})"


def gpus() -> str:
    """GPUs requested by the ISVC's current pods; 0 for ISVCs whose pods request none."""
    per_container = f"max by (namespace, pod, container, resource) ({GPU_RESOURCES})"
    joined = f"{per_container} * on (namespace, pod) group_left (isvc) {{{{isvc_pods}}}}"
    return f"sum {BY_ISVC} ({joined}) or 0 * count {BY_ISVC} ({{{{isvc_pods}}}})"


def build(requests_preset: RequestPreset, gpu: GpuPreset) -> dict[Query, str]:
    """The query templates of one evaluation, before `render`."""
    return {
        Query.REQUESTS: requests(requests_preset),
        Query.LAST_REQUEST: last_request(requests_preset),
        Query.COVERAGE: coverage(requests_preset, gpu),
        Query.FRESHNESS: freshness(requests_preset, gpu),
        Query.GPU_MAX: gpu_stat(gpu, "max"),
        Query.GPU_MEAN: gpu_stat(gpu, "avg"),
        Query.GPUS: gpus(),
    }


def isvc_pods(pod_labels: str, isvc_label: str, *, over: str | None = None) -> str:
    series = f"max_over_time({pod_labels}[{over}])" if over else pod_labels
    mapped = f"label_replace({series}, \"isvc\", \"$1\", {quote(isvc_label)}, \"(.+)\")"
    return f"max by (namespace, pod, isvc) ({mapped})"


def render(template: str, *, window: timedelta, step: timedelta, horizon: timedelta,
           pod_labels: str, isvc_label: str) -> str:
    """Fill the tokens; the pod tokens first, since they hold range tokens themselves."""
    values = {
        "isvc_pods_window": isvc_pods(pod_labels, isvc_label, over="{{window}}"),
        "isvc_pods_horizon": isvc_pods(pod_labels, isvc_label, over="{{horizon}}"),
        "isvc_pods": isvc_pods(pod_labels, isvc_label),
        "window": duration(window),
        "step": duration(step),
        "horizon": duration(horizon),
    }
    text = template
    for token, value in values.items():
        text = text.replace("{{" + token + "}}", value)
    return text
