"""Each rule's expression: per request preset, per GPU preset, the pod map, the common ones.

`rule_groups` (the package) puts them in order, with the heartbeat's markers; a rule
that reads an earlier one reads its samples at this evaluation's time (`_recorded`).
"""

from __future__ import annotations

from typing import Any

from reclaimer.signals import pods as pods_module
from reclaimer.signals.presets import GpuPreset, NameMap, PodJoin, RequestPreset, Source
from reclaimer.signals.promql import set_label
from reclaimer.signals.queries import gpus, isvc_pods, moved_pods
from reclaimer.signals.rules.names import (
    DEFAULT_ISVC_LABEL,
    DEFAULT_POD_LABELS,
    FRESH_SECONDS,
    GPU_DEVICE_PRESENT,
    GPU_UTIL_AVG,
    GPU_UTIL_MAX,
    ISVC_GPUS,
    ISVC_POD,
    ISVC_POD_DATA,
    ISVC_POD_MOVED,
    POD_GPUS_HELD,
    POD_GPUS_SHORT,
    POD_MAP_SPAN,
    POD_REQUESTS_SHORT,
    PRESET_LABEL,
    REQUESTS_CHANGED,
    REQUESTS_DELTA,
    REQUESTS_IN_FLIGHT,
    REQUESTS_PRESENT,
    SOURCE_LABEL,
    data,
)
from reclaimer.signals.rules.names import (
    rule as _rule,
)
from reclaimer.signals.rules.workload import by, isvc_keys, mapping_groups, to_isvc, workload_labels


def _fresh(selector: str) -> str:
    return f"(timestamp({selector}) >= time() - {FRESH_SECONDS})"


def _union(parts: list[str]) -> str:
    return " or ".join(f"({p})" for p in parts)


def _per_isvc(reduce: str, expr: str, mapping: PodJoin | NameMap, *extra: str) -> str:
    """Reduce per workload, map to the ISVC once, keep the workload (and ``extra``)."""
    workload = by((*workload_labels(mapping), *extra))
    return f"{reduce} {by(isvc_keys(mapping, *extra))} " \
           f"({to_isvc(f'{reduce} {workload} ({expr})', mapping)})"


def request_rules(preset: RequestPreset) -> list[dict[str, Any]]:
    out = []
    for i, s in enumerate(preset.counters):
        sel = s.selector
        tag = {PRESET_LABEL: preset.name, SOURCE_LABEL: f"counter-{i}"}
        delta = f"({sel} - {sel} offset 1m) >= 0 or {sel}"
        changed = f"timestamp(({sel} - ({sel} offset 1m or {sel} * 0)) != 0)"
        out.append(_rule(REQUESTS_DELTA, _per_isvc("sum", delta, s.mapping), **tag))
        out.append(_rule(REQUESTS_CHANGED, _per_isvc("max", changed, s.mapping), **tag))
    for i, s in enumerate(preset.in_flight):
        tag = {PRESET_LABEL: preset.name, SOURCE_LABEL: f"in-flight-{i}"}
        out.append(_rule(REQUESTS_IN_FLIGHT,
                         _per_isvc("max", f"max_over_time({s.selector}[1m])", s.mapping), **tag))
        out.append(_rule(REQUESTS_CHANGED,
                         _per_isvc("max", f"timestamp({s.selector} > 0)", s.mapping), **tag))
    out += _presence_rules(preset)
    return out


def _presence_rules(preset: RequestPreset) -> list[dict[str, Any]]:
    """Presence per group of counters sharing a mapping, then the pods short of any."""
    out = []
    joined, selectors = [], []
    for i, (mapping, group) in enumerate(mapping_groups(preset.counters)):
        present = _per_isvc("count", _union([_fresh(s.selector) for s in group]), mapping)
        out.append(_rule(REQUESTS_PRESENT, present,
                         **{PRESET_LABEL: preset.name, SOURCE_LABEL: str(i)}))
        if isinstance(mapping, PodJoin):
            joined.append(str(i))
            selectors += [s.selector for s in group]
    if joined:
        out.append(_rule(POD_REQUESTS_SHORT, _requests_short(preset.name, joined, selectors),
                         **{PRESET_LABEL: preset.name}))
    return out


def _recorded(record: str, preset: str, sources: list[str] | None = None) -> str:
    """A series an earlier rule of this group wrote at this evaluation's time: a group
    evaluates its rules in order, each one's samples stored before the next runs."""
    matchers = f'{PRESET_LABEL}="{preset}"'
    if sources is not None:
        matchers += f', {SOURCE_LABEL}=~"{"|".join(sources)}"'
    return data(record, matchers)


def _requests_short(preset: str, sources: list[str], selectors: list[str]) -> str:
    """1 for each pod holding GPUs at ``t`` with no (pod-joined) request series present.

    Summed over a window it is the steps the pod held GPUs without data: never fewer
    than the raw ``held - seen`` (a step with data but no GPU held counts for nothing).
    Nothing while the preset has no series anywhere (a preset the cluster does not run
    would otherwise write a series per GPU pod each minute: 30,000 at 10,000 ISVCs for
    the three pod-joined presets): then no service has its presence either, so each
    one's own coverage already shows the step missing. GPUs held and presence are read
    from this group's earlier rules, not computed again.
    """
    present = _recorded(REQUESTS_PRESENT, preset, sources)
    return (f"({data(POD_GPUS_HELD)} > bool 0 unless on (namespace, isvc, pod) {present}) "
            f"and on () group({_union(selectors)})")


def _scaled(source: Source, expr: str) -> str:
    return f"{source.scale:g} * {expr}" if source.scale != 1 else expr


def gpu_rules(preset: GpuPreset) -> list[dict[str, Any]]:
    mapping = pods_module.gpu_mapping(preset)
    tag = {PRESET_LABEL: preset.name}
    present = _union([_fresh(s.selector) for s in preset.sources])
    peak = _union([_scaled(s, f"max_over_time({s.selector}[1m])") for s in preset.sources])
    mean = _union([_scaled(s, f"avg_over_time({s.selector}[1m])") for s in preset.sources])
    devices = _per_isvc("group", present, mapping, *pods_module.DEVICE_LABELS)
    return [_rule(GPU_DEVICE_PRESENT, devices, **tag),
            _rule(POD_GPUS_SHORT, _gpus_short(preset.name), **tag),
            _rule(GPU_UTIL_MAX, _per_isvc("max", peak, mapping), **tag),
            _rule(GPU_UTIL_AVG, _per_isvc("avg", mean, mapping), **tag)]


def _gpus_short(preset: str) -> str:
    """GPUs a pod held at ``t`` beyond its GPU devices present (only pods short).

    Each part read once, tagged apart, one ``sum`` (as `pods.shortfall`); a pod with no
    device at all keeps all it held. Summed over a window: never less than the raw
    ``held - seen`` (a step with a spare device makes up for no other step). Both parts
    are this group's earlier rules at this evaluation's time.
    """
    had = f"-count by (namespace, isvc, pod) ({_recorded(GPU_DEVICE_PRESENT, preset)})"
    both = _union([set_label(data(POD_GPUS_HELD), target="reclaimer_part", value="needed"),
                   set_label(had, target="reclaimer_part", value="had")])
    return f"sum by (namespace, isvc, pod) ({both}) > 0"


def _held() -> str:
    """GPUs each pod holds at ``t`` (requested, not pending or terminal), with its ISVC."""
    held = ("sum by (namespace, pod) (max by (namespace, pod, container, resource) "
            f"({pods_module.HOLDING}))")
    return f"sum by (namespace, isvc, pod) (({held}) * on (namespace, pod) group_left (isvc) " \
           f"{ISVC_POD_DATA})"


def common_rules() -> list[dict[str, Any]]:
    return [_rule(POD_GPUS_HELD, _held())]


def pod_map_rules(pod_labels: str = DEFAULT_POD_LABELS,
                  isvc_label: str = DEFAULT_ISVC_LABEL) -> list[dict[str, Any]]:
    """Each pod's ISVC among the pods listed within the last hour, moved pods left out."""
    return [_rule(ISVC_POD, isvc_pods(pod_labels, isvc_label, over=POD_MAP_SPAN))]


def isvc_rules(pod_labels: str = DEFAULT_POD_LABELS,
               isvc_label: str = DEFAULT_ISVC_LABEL) -> list[dict[str, Any]]:
    """The pods moved between ISVCs within the hour (once per ISVC), each ISVC's GPUs
    requested now; in the heartbeat's group, so a missed evaluation shows."""
    now = isvc_pods(pod_labels, isvc_label)
    return [_rule(ISVC_POD_MOVED, moved_pods(pod_labels, isvc_label, over=POD_MAP_SPAN)),
            _rule(ISVC_GPUS, gpus(keys="by (namespace, isvc)").replace("{{isvc_pods}}", now))]
