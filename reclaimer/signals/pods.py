"""Per-pod GPU completeness: every pod that held a GPU was seen while it held it.

Taking the best-covered pod of a service hides a pod whose exporter stopped (target
down, ``sample_limit``, a node partition): one flat pod covers the window, the busy
one is not there, and the service looks idle (issue 13, case 1). So GPU data is also
judged per pod, against kube-state-metrics:

- ``held``: per pod, the GPU-steps it held: at each step of the window, the GPUs its
  containers request (``kube_pod_container_resource_requests``) at each step the pod
  was neither pending nor terminal (``kube_pod_status_phase``, step by step);
- ``seen``: per pod, the GPU-steps with data: at each step, the number of its GPU
  devices with a series present (an instant lookup, so a gap over 5 minutes shows). A
  device read from two sources (``DCGM_FI_DEV_GPU_UTIL`` and ``..._GR_ENGINE_ACTIVE``)
  counts once: the per-device counts are joined with ``or`` on the device's labels;
  a device scraped by two jobs counts once too (`by_device`);
- a pod with ``held > seen`` comes back as a coverage row with a ``pod`` label and the
  GPU-steps missing: its scrapes stopped or started late, or it has fewer GPU series
  than GPUs requested;
- request series joined by pod (the model servers' counters) are held to the same
  rule: a pod must have had one for every step it held a GPU. Series named by service
  (Knative, Istio) cannot be told apart per pod; there the GPU series are the witness.

Only offending pods come back, so the common answer stays one row per service. The
difference is one ``sum`` over both parts tagged apart (each part read once, as
``queries._COUNTED`` does), and the pod join runs once, on the offenders, outside
every subquery. GPU freshness is returned per pod (the oldest of its GPUs' newest
samples): one stale pod shows even when a sibling is fresh.
"""

from __future__ import annotations

from collections.abc import Callable

from reclaimer.signals.presets import GpuPreset, NameMap, PodJoin, Source
from reclaimer.signals.promql import copy_label, set_label

GPU_POD_MISSING = "gpu-pod-missing"
REQUESTS_POD_MISSING = "requests-pod-missing"
GPU_POD_SILENT = "gpu-pod-silent"
POD_MOVED = "pod-moved"  # a pod whose ISVC label changed within the horizon
# Whole GPUs, MIG slices, and GPUs shared by time-slicing or MPS: NVIDIA's device plugin
# advertises those as ``nvidia.com/gpu.shared`` with ``renameByDefault`` (kube-state-
# metrics: ``nvidia_com_gpu_shared``). A pod holding any of them is held to its data.
GPU_RESOURCES = ('kube_pod_container_resource_requests'
                 '{resource=~"nvidia_com_gpu|nvidia_com_gpu_shared|nvidia_com_mig_.+"}')
WINDOW = "reclaimer_window"
# A pod holds no GPU while pending (not yet running) or terminal (evicted, failed,
# succeeded), though kube-state-metrics keeps its resource requests until the pod object
# is deleted, and an evicted pod can linger for days. Judged at each step, never by the
# phase now: a pod evicted a minute ago held its GPU, busy and perhaps unscraped, for the
# rest of the window. Without the phase metric nothing is excluded (unknown, safe), and
# with several kube-state-metrics replicas a pod is excused only when none says it runs:
# one replica stuck at an old phase never speaks for the others.
NOT_HOLDING = ('(kube_pod_status_phase{phase=~"Pending|Succeeded|Failed"} == 1) unless on '
               '(namespace, pod) (kube_pod_status_phase{phase=~"Running|Unknown"} == 1)')
HOLDING = f"({GPU_RESOURCES} unless on (namespace, pod) ({NOT_HOLDING}))"
# dcgm-exporter's device identity: index, UUID (``uuid`` with --use-old-namespace), MIG
# instance (metrics.md §1.2, §1.4).
DEVICE_LABELS = ("gpu", "UUID", "uuid", "GPU_I_ID")
_POD_KEYS = f"by (namespace, pod, {WINDOW})"


def gpu_mapping(gpu: GpuPreset) -> PodJoin:
    """GPU series name their workload's pod (dcgm-exporter's Kubernetes mapping)."""
    mapping = gpu.sources[0].mapping
    if isinstance(mapping, NameMap) or any(s.mapping != mapping for s in gpu.sources):
        raise ValueError("GPU sources must all be joined by pod, with one mapping")
    return mapping


def to_pod(expr: str, mapping: PodJoin) -> str:
    """Give each series the ``namespace`` and ``pod`` labels of its workload."""
    for namespace_label, pod_label in [(mapping.namespace_label, mapping.pod_label),
                                       *mapping.aliases]:
        if (namespace_label, pod_label) != ("namespace", "pod"):
            expr = copy_label(expr, target="pod", source=pod_label)
            expr = copy_label(expr, target="namespace", source=namespace_label)
    return expr


def by_workload(mapping: PodJoin, *extra: str) -> str:
    pairs = [(mapping.namespace_label, mapping.pod_label), *mapping.aliases]
    labels = [*(label for pair in pairs for label in pair), *extra, WINDOW]
    return "by (" + ", ".join(labels) + ")"


def _union(parts: list[str]) -> str:
    return " or ".join(f"({p})" for p in parts)


def held(per_window: Callable[[str], str]) -> str:
    """GPU-steps each pod held (`HOLDING`); HA kube-state-metrics deduplicated per container."""
    steps = ("max by (namespace, pod, container, resource) "
             f"(sum_over_time({HOLDING}[{{{{window}}}}:{{{{step}}}}]))")
    return f"sum {_POD_KEYS} ({per_window(steps)})"


def _device_steps(gpu: GpuPreset) -> str:
    """Per GPU series, the steps of the window at which it was present.

    A plain selector in the subquery, no aggregation at each step: the counts are
    folded per workload afterwards, once.
    """
    return _union([_steps_of(s.selector) for s in gpu.sources])


def by_device(mapping: PodJoin) -> str:
    """One device of a workload: a GPU (index, UUID) or a MIG instance of it.

    Two scrape jobs reading the same exporter (a ServiceMonitor beside annotation
    scraping) give each device two series; counted as two, they would stand in for a
    second GPU that has none. Series without these labels (a custom gauge) count as one
    device per pod: a pod with more GPUs is then unknown, never idle.
    """
    return by_workload(mapping, *DEVICE_LABELS)


def seen(gpu: GpuPreset, per_window: Callable[[str], str]) -> str:
    """GPU-steps with a series per pod, reduced per workload before the labels move."""
    mapping = gpu_mapping(gpu)
    devices = f"max {by_device(mapping)} ({per_window(_device_steps(gpu))})"
    per_workload = f"sum {by_workload(mapping)} ({devices})"
    return f"sum {_POD_KEYS} ({to_pod(per_workload, mapping)})"


def best_device(gpu: GpuPreset, per_window: Callable[[str], str]) -> str:
    """Per workload, the steps of its best-covered GPU series (before the pod join).

    The service-level GPU coverage: as in `queries._presence`, the best workload of
    the ISVC must cover the window; here its best device, which costs a third of an
    aggregation at every step.
    """
    return f"max {by_workload(gpu_mapping(gpu))} ({per_window(_device_steps(gpu))})"


def shortfall(needed: str, had: str, *, signal: str, pods: str) -> str:
    """Pods where ``needed - had > 0``, mapped to their ISVC, tagged ``signal``.

    One ``sum`` over both parts tagged apart: each is read once, and a pod with no
    data at all (absent from ``had``) keeps its whole ``needed``. ``needed`` counts
    only the steps a pod held its GPUs (`HOLDING`).
    """
    both = _union([set_label(needed, target="reclaimer_part", value="needed"),
                   set_label(f"-({had})", target="reclaimer_part", value="had")])
    short = f"sum {_POD_KEYS} ({both}) > 0"
    joined = f"max by (namespace, isvc, pod, {WINDOW}) (({short}) * on (namespace, pod) " \
             f"group_left (isvc) {pods})"
    return set_label(joined, target="signal", value=signal)


def missing(gpu: GpuPreset, per_window: Callable[[str], str], *, pods: str) -> str:
    """Pods whose GPU data falls short of what they held, as coverage rows."""
    return shortfall(held(per_window), seen(gpu, per_window), signal=GPU_POD_MISSING,
                      pods=pods)


def requests_missing(counters: tuple[Source, ...], per_window: Callable[[str], str], *,
                     pods: str) -> str | None:
    """GPU pods whose request series (pod-joined sources only) fall short of their life.

    A series named by service (Knative, Istio) cannot be told apart per pod; those
    presets rely on the GPU check alone. None when no source is joined by pod.
    """
    groups: dict[PodJoin, list[Source]] = {}
    for source in counters:
        if isinstance(source.mapping, PodJoin):
            groups.setdefault(source.mapping, []).append(source)
    if not groups:
        return None
    life = f"max {_POD_KEYS} ({per_window(_steps_of(HOLDING))})"
    parts = []
    for i, (mapping, group) in enumerate(groups.items()):
        steps = _union([_steps_of(s.selector) for s in group])
        best = f"max {by_workload(mapping)} ({per_window(steps)})"
        parts.append(set_label(to_pod(best, mapping), target="reclaimer_source", value=str(i)))
    return shortfall(life, f"max {_POD_KEYS} ({_union(parts)})", signal=REQUESTS_POD_MISSING,
                      pods=pods)


def _steps_of(selector: str) -> str:
    return f"count_over_time({selector}[{{{{window}}}}:{{{{step}}}}])"


def oldest_newest(gpu: GpuPreset) -> str:
    """Per workload, the oldest of its GPUs' newest samples (before the pod join)."""
    mapping = gpu_mapping(gpu)
    newest = _union([f"timestamp({s.selector})" for s in gpu.sources])
    return f"min {by_workload(mapping)} ({newest})"


def silent(gpu: GpuPreset, *, pods: str) -> str:
    """Pods holding GPUs now with fewer GPU devices in the instant lookback than GPUs.

    The coverage steps are multiples of the step, so at a tick between two of them the
    last step can still see a sample that the tick's own lookback no longer does: a pod
    whose scrapes stopped 5 m 20 s ago is covered at every step and has no freshness
    row. Asked at the tick itself, it is short of every GPU it holds.
    """
    mapping = gpu_mapping(gpu)
    present = _union([f"group {by_device(mapping)} ({s.selector})" for s in gpu.sources])
    devices = f"sum {by_workload(mapping)} ({present})"
    had = f"sum {_POD_KEYS} ({to_pod(devices, mapping)})"
    needed = f"sum {_POD_KEYS} (max by (namespace, pod, container, resource) ({HOLDING}))"
    return shortfall(needed, had, signal=GPU_POD_SILENT, pods=pods)
