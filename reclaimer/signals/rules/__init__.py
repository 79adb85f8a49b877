"""Recording rules that precompute, once a minute, what the raw queries' subqueries compute.

At 10,000 ISVCs most of an evaluation is Prometheus re-reading every raw series at every
step of the coverage and last-request subqueries (docs/signals.md, "When evaluations are
slow"). These rules do one step's work per minute instead, reduced per workload (a pod,
or a named service with all its pods), and the ``recorded`` mode (`recorded.py`) reads
one recorded series per workload over the window. The pod map (``isvc_pod``) holds
every pod listed within the last hour, so pods that went away inside the window still
map their data, and leaves out pods that moved between ISVCs (`queries.isvc_pods`);
``isvc_pod_moved`` records those.

Every rule is evaluated at the group's evaluation time ``t`` (interval 1 m, which must
equal ``prometheus.resolution``):

- ``requests_delta``: per series ``v(t) - v(t - 1m)``, or ``v(t)`` when the series is new
  or was reset (the new-series trap and resets counted like ``increase``, never lost);
- ``requests_changed``: ``t`` if a counter changed since ``t - 1m`` (or an in-flight
  gauge is above 0), as the raw last-request subquery asks at each step;
- ``requests_present``: series with a sample in the last **4** minutes (not the 5 of an
  instant lookup): a step of the raw grid sits between two evaluations at most a minute
  apart, so a gap the raw coverage sees is never hidden by the phase of the rules;
- ``gpu_device_present``: the same per GPU device (index, UUID, MIG instance);
- ``pod_gpus_held``: the GPUs each pod held at ``t`` (requested, not pending or terminal);
- ``gpu_util_max``/``gpu_util_avg``: the last minute's peak and mean per workload;
- ``pod_gpus_short``/``pod_requests_short``: per pod, the GPUs held at ``t`` beyond its
  devices present, and 1 when it holds GPUs with no pod-joined request series (only
  pods short, so coverage reads a handful of series, not one per pod);
- ``isvc_pod_moved``: pods with two ISVCs within the hour, once per ISVC;
  ``isvc_gpus``: each ISVC's GPUs requested now (the raw ``gpus`` query, evaluated);
- ``rules_started``: written first, 1 at every evaluation, so the heartbeat can tell
  that the group's queries read its own writes;
- ``rules_expected``: before each preset's rules (and the common ones), how many
  rules follow; each of them also writes a marker series (`MARKER_LABEL`) at every
  evaluation it completes, whatever it found;
- ``rules_evaluated``: written last, 1 at every evaluation whose earlier writes its
  own queries read back and where every rule completed (as many markers as expected,
  `heartbeat.heartbeat_expr`), labelled with the rules' version (`RULES_VERSION`): the recorded mode
  counts it over the horizon and uses the rules only when no evaluation of this
  version is missing, so a rule that failed (Prometheus logs it and goes on with the
  group) makes the raw queries answer until that evaluation leaves the horizon.

`rule_groups` covers every built-in preset, so one file serves any configuration; a
preset's rules whose series do not exist record nothing and cost one index lookup.
``python -m reclaimer.signals.rules`` prints the file the chart and
``deploy/prometheus/reclaimer-rules.yaml`` ship (a test keeps them identical).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any, TypeVar

import yaml

from reclaimer.errors import ArgumentInvalid
from reclaimer.signals import pods as pods_module
from reclaimer.signals.presets import (
    GPU_PRESETS,
    REQUEST_PRESETS,
    GpuPreset,
    NameMap,
    PodJoin,
    RequestPreset,
    Source,
)
from reclaimer.signals.promql import copy_label, extract_label, set_label
from reclaimer.signals.queries import gpus, isvc_pods, moved_pods
from reclaimer.signals.rules.heartbeat import (
    MARKED_RECORDS,
    heartbeat,
    heartbeat_expr,
    marked,
    with_marker,
    writers,
)
from reclaimer.signals.rules.names import (
    ACCEPTED_VERSIONS,
    DEFAULT_ISVC_LABEL,
    DEFAULT_POD_LABELS,
    EVERY_PRESET,
    FRESH_SECONDS,
    GPU_DEVICE_PRESENT,
    GPU_LABEL,
    GPU_UTIL_AVG,
    GPU_UTIL_MAX,
    GROUP,
    INTERVAL,
    ISVC_GPUS,
    ISVC_POD,
    ISVC_POD_DATA,
    ISVC_POD_MOVED,
    MARK,
    MARKER_LABEL,
    POD_GPUS_HELD,
    POD_GPUS_SHORT,
    POD_MAP_FRESH_SECONDS,
    POD_MAP_SPAN,
    POD_REQUESTS_SHORT,
    PODS_GROUP,
    PREFIX,
    PRESET_LABEL,
    REQUESTS_CHANGED,
    REQUESTS_DELTA,
    REQUESTS_IN_FLIGHT,
    REQUESTS_LABEL,
    REQUESTS_PRESENT,
    RULES_EVALUATED,
    RULES_EXPECTED,
    RULES_STARTED,
    RULES_VERSION,
    SOURCE_LABEL,
    VERSION_LABEL,
    data,
    marker,
)
from reclaimer.signals.rules.names import (
    rule as _rule,
)

# Names the other modules read through this package (`rules.X`).
__all__ = [
    "ACCEPTED_VERSIONS", "DEFAULT_ISVC_LABEL", "DEFAULT_POD_LABELS", "EVERY_PRESET",
    "FRESH_SECONDS", "GPU_DEVICE_PRESENT", "GPU_LABEL", "GPU_UTIL_AVG", "GPU_UTIL_MAX",
    "GROUP", "INTERVAL", "ISVC_GPUS", "ISVC_POD", "ISVC_POD_DATA", "ISVC_POD_MOVED", "MARK",
    "MARKED_RECORDS", "MARKER_LABEL", "PODS_GROUP", "POD_GPUS_HELD", "POD_GPUS_SHORT",
    "POD_MAP_FRESH_SECONDS", "POD_MAP_SPAN", "POD_REQUESTS_SHORT", "PREFIX", "PRESET_LABEL",
    "REQUESTS_CHANGED", "REQUESTS_DELTA", "REQUESTS_IN_FLIGHT", "REQUESTS_LABEL",
    "REQUESTS_PRESENT", "RULES_EVALUATED", "RULES_EXPECTED", "RULES_STARTED", "RULES_VERSION",
    "SOURCE_LABEL", "VERSION_LABEL", "data", "heartbeat", "heartbeat_expr", "marked",
    "marker", "with_marker", "writers",
]


def workload_labels(mapping: PodJoin | NameMap) -> tuple[str, ...]:
    """The labels naming one workload: a pod (and its aliases), or a named service."""
    if isinstance(mapping, NameMap):
        return (mapping.namespace_label, mapping.name_label)
    pairs = [(mapping.namespace_label, mapping.pod_label), *mapping.aliases]
    return tuple(label for pair in pairs for label in pair)


def isvc_keys(mapping: PodJoin | NameMap, *extra: str) -> tuple[str, ...]:
    """The labels of a recorded series: the ISVC and its workload (a pod or a service)."""
    workload = mapping.name_label if isinstance(mapping, NameMap) else "pod"
    return ("namespace", "isvc", workload, *extra)


def by(labels: tuple[str, ...]) -> str:
    return "by (" + ", ".join(labels) + ")"


def mapping_groups(sources: tuple[Source, ...]) -> list[tuple[PodJoin | NameMap, list[Source]]]:
    """Sources grouped by their mapping, in order (as `queries._presence` groups them)."""
    groups: dict[PodJoin | NameMap, list[Source]] = {}
    for source in sources:
        groups.setdefault(source.mapping, []).append(source)
    return list(groups.items())


def to_isvc(expr: str, mapping: PodJoin | NameMap, *, pods: str = ISVC_POD_DATA) -> str:
    """``expr`` (reduced per workload) with ``namespace`` and ``isvc``: by name, or joined
    to the recorded pod map (`ISVC_POD`), which holds one ISVC per pod."""
    if isinstance(mapping, NameMap):
        named = extract_label(expr, target="isvc", source=mapping.name_label,
                              pattern=mapping.pattern)
        return copy_label(named, target="namespace", source=mapping.namespace_label)
    return f"({pods_module.to_pod(expr, mapping)}) * on (namespace, pod) group_left (isvc) {pods}"


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


def rule_groups(*, requests: str | None = None, gpu: str | None = None) -> dict[str, Any]:
    """The rules file: the pod map, then the presets (``None``: every built-in one) with
    the heartbeat last.

    A preset's rules cost Prometheus CPU even where its series do not exist (the pod-
    joined ones read the whole pod map: 6-9 of 29-30 CPU s an evaluation at 50,000
    ISVCs), so the chart renders only the configured presets' rules, as
    ``requests``/``gpu`` do here.
    The pod map is its own group, which the other reads at its newest value.
    """
    rules = [_rule(RULES_STARTED, "vector(1)"), *marked([*common_rules(), *isvc_rules()])]
    rules += [r for p in _chosen(REQUEST_PRESETS, requests, "--requests")
              for r in marked(request_rules(p), **{PRESET_LABEL: p.name})]
    rules += [r for p in _chosen(GPU_PRESETS, gpu, "--gpu")
              for r in marked(gpu_rules(p), **{PRESET_LABEL: p.name})]
    rules.append(_rule(RULES_EVALUATED, heartbeat_expr(), **{
        VERSION_LABEL: RULES_VERSION, REQUESTS_LABEL: requests or EVERY_PRESET,
        GPU_LABEL: gpu or EVERY_PRESET}))
    for rule in [*rules, *(pods := [with_marker(r) for r in pod_map_rules()])]:
        if not rule["labels"]:
            del rule["labels"]
    return {"groups": [{"name": PODS_GROUP, "interval": INTERVAL, "rules": pods},
                       {"name": GROUP, "interval": INTERVAL, "rules": rules}]}


def _chosen(presets: Mapping[str, P], name: str | None, flag: str) -> list[P]:
    if name is not None and name not in presets:
        raise ArgumentInvalid(f"{flag}: {name!r} is not a built-in preset "
                              f"({', '.join(presets)})")
    return [p for key, p in presets.items() if name in (None, key)]


P = TypeVar("P", RequestPreset, GpuPreset)


HEADER = ("# Generated by `python -m reclaimer.signals.rules` (make rules); do not edit.\n"
          "# Recording rules for prometheus.signals.mode: recorded (docs/signals.md).\n")


def render_file(*, requests: str | None = None, gpu: str | None = None) -> str:
    return HEADER + yaml.safe_dump(rule_groups(requests=requests, gpu=gpu), sort_keys=False,
                                   width=10_000)


def main(argv: list[str]) -> int:
    """``python -m reclaimer.signals.rules [--requests P] [--gpu P]``: the file for one
    configuration (a Prometheus without the operator), every preset by default."""
    parser = argparse.ArgumentParser(prog="python -m reclaimer.signals.rules")
    parser.add_argument("--requests", help="the request preset (default: every one)")
    parser.add_argument("--gpu", help="the GPU preset (default: every one)")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(render_file(requests=args.requests, gpu=args.gpu))
    except ArgumentInvalid as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0
