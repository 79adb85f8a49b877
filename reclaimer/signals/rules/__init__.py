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
from reclaimer.signals.presets import GPU_PRESETS, REQUEST_PRESETS, GpuPreset, RequestPreset
from reclaimer.signals.rules.definitions import (
    common_rules,
    gpu_rules,
    isvc_rules,
    pod_map_rules,
    request_rules,
)
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
from reclaimer.signals.rules.workload import (
    by,
    isvc_keys,
    mapping_groups,
    to_isvc,
    workload_labels,
)

# Names the other modules read through this package (`rules.X`), from `names`,
# `heartbeat`, `workload` and `definitions`.
__all__ = [
    "ACCEPTED_VERSIONS", "DEFAULT_ISVC_LABEL", "DEFAULT_POD_LABELS", "EVERY_PRESET",
    "FRESH_SECONDS", "GPU_DEVICE_PRESENT", "GPU_LABEL", "GPU_UTIL_AVG", "GPU_UTIL_MAX",
    "GROUP", "INTERVAL", "ISVC_GPUS", "ISVC_POD", "ISVC_POD_DATA", "ISVC_POD_MOVED", "MARK",
    "MARKED_RECORDS", "MARKER_LABEL", "PODS_GROUP", "POD_GPUS_HELD", "POD_GPUS_SHORT",
    "POD_MAP_FRESH_SECONDS", "POD_MAP_SPAN", "POD_REQUESTS_SHORT", "PREFIX", "PRESET_LABEL",
    "REQUESTS_CHANGED", "REQUESTS_DELTA", "REQUESTS_IN_FLIGHT", "REQUESTS_LABEL",
    "REQUESTS_PRESENT", "RULES_EVALUATED", "RULES_EXPECTED", "RULES_STARTED", "RULES_VERSION",
    "SOURCE_LABEL", "VERSION_LABEL", "by", "common_rules", "data", "gpu_rules", "heartbeat",
    "heartbeat_expr", "isvc_keys", "isvc_rules", "mapping_groups", "marked", "marker",
    "pod_map_rules", "request_rules", "to_isvc", "with_marker", "workload_labels", "writers",
]


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
