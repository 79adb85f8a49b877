"""The seven PromQL queries of one evaluation, built from presets, for all ISVCs at once.

Every query groups by ``(namespace, isvc)`` (coverage and freshness also by ``signal``),
so the answer has one row per service (and window) whatever the number of samples, and
the number of queries per evaluation is fixed; several windows share the seven queries
(`windows.py`). Per-service values are never part of a query. Series are reduced per
workload (pod or named service) before labels are rewritten or pods joined, and no
rewrite or join runs inside a subquery: at 10,000 ISVCs those dominate the cost.

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
  and "last request" treats a series absent a step earlier as going up from 0 (on the
  coarse grid beyond the recent span too);
- single sample: ``increase`` of one sample is nothing; such a series is either new
  (counted as above) or has a gap, which coverage reports;
- counter resets: ``increase`` handles them; in "last request" any change, up or down,
  is activity, so a reset can only make a service look busier;
- staleness and gaps > 5 min: the coverage query counts, per step, whether a series of
  each workload was present (an instant lookup sees 5 min back, so only a gap > 5 min
  is missed), and the freshness query returns the newest sample's timestamp.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from enum import StrEnum

from reclaimer.signals import pods as pods_module
from reclaimer.signals.pod_map import isvc_pods, moved_pods
from reclaimer.signals.presets import GpuPreset, NameMap, PodJoin, RequestPreset, Source
from reclaimer.signals.promql import copy_label, duration, extract_label, set_label
from reclaimer.signals.spans import Spans, render
from reclaimer.signals.windows import WINDOW_LABEL, window_value

# Moved to `pod_map` and `spans`; still read from here (`queries.X`).
__all__ = ["Spans", "isvc_pods", "moved_pods", "render"]


class Query(StrEnum):
    REQUESTS = "requests"
    LAST_REQUEST = "lastRequest"
    COVERAGE = "coverage"
    FRESHNESS = "freshness"
    GPU_MAX = "gpuMax"
    GPU_MEAN = "gpuMean"
    GPUS = "gpus"


TEMPLATE_KEYS = tuple(q.value for q in Query)
TOKENS = ("window", "step", "horizon", "recent", "recent_seconds", "coarse_step", "coarse_range",
          "isvc_pods", "isvc_pods_window", "isvc_pods_horizon", "isvc_pods_moved")
GPU_RESOURCES = pods_module.GPU_RESOURCES
BY_ISVC = f"by (namespace, isvc, {WINDOW_LABEL})"
Windows = Sequence[timedelta] | None


def to_isvc(expr: str, mapping: PodJoin | NameMap, *, pods: str) -> str:
    """Give each series ``namespace`` and ``isvc`` labels (the pod join or the name)."""
    if isinstance(mapping, NameMap):
        named = extract_label(expr, target="isvc", source=mapping.name_label,
                              pattern=mapping.pattern)
        return copy_label(named, target="namespace", source=mapping.namespace_label)
    return f"({pods_module.to_pod(expr, mapping)}) * on (namespace, pod) group_left (isvc) {pods}"


def _union(parts: list[str]) -> str:
    return " or ".join(f"({p})" for p in parts)


def _by(mapping: PodJoin | NameMap) -> str:
    """The labels that name one workload: a pod, or a named service (all its pods)."""
    if isinstance(mapping, NameMap):
        labels = [mapping.namespace_label, mapping.name_label]
    else:
        pairs = [(mapping.namespace_label, mapping.pod_label), *mapping.aliases]
        labels = [label for pair in pairs for label in pair]
    return "by (" + ", ".join([*labels, WINDOW_LABEL]) + ")"


def _per_window(expr: str, windows: Windows) -> str:
    """``expr`` once per window, each tagged with it; the bare template when None.

    Folding windows inside a query, below the label rewrites and the pod join, does
    those (the fixed cost of a query) once for all windows.
    """
    if windows is None:
        return expr
    return _union([set_label(expr.replace("{{window}}", duration(w)), target=WINDOW_LABEL,
                             value=window_value(w)) for w in windows])


def _each(sources: tuple[Source, ...], build: str, *, kind: str, pods: str, reduce: str,
          windows: Windows = None) -> str:
    """``build`` (with ``SEL``) per source, tagged so ``or`` keeps every source.

    ``reduce`` (an aggregation) first folds the source's series per workload, so the
    label rewrites and the pod join run over one series per pod or service, not per
    raw series (response codes, revisions, GPUs). Reduced that far, a counter and an
    in-flight gauge of one pod have the same labels, so the tag carries ``kind`` too:
    without it ``or`` would drop vLLM's running-requests gauge wherever the pod also
    has a counter, and a long generation would look like no traffic.
    """
    parts = []
    for i, s in enumerate(sources):
        reduced = _per_window(f"{reduce} {_by(s.mapping)} ({build.replace('SEL', s.selector)})",
                              windows)
        tagged = set_label(reduced, target="reclaimer_source", value=f"{kind}-{i}")
        parts.append(to_isvc(tagged, s.mapping, pods=pods))
    return _union(parts)


# Per series, the increase plus, for a series absent at the window's start, its first
# value (the new-series trap); tagged apart so one ``sum`` adds both, each part read once.
_COUNTED = ('label_replace(increase(SEL[{{window}}]), "reclaimer_part", "increase", "", "") or '
            'label_replace(min_over_time(SEL[{{window}}]) unless SEL offset {{window}}, '
            '"reclaimer_part", "first", "", "")')


def requests(preset: RequestPreset, windows: Windows = None) -> str:
    parts = [_each(preset.counters, _COUNTED, kind="counter", pods="{{isvc_pods_window}}",
                   reduce="sum", windows=windows)]
    if preset.in_flight:
        parts.append(_each(preset.in_flight, "max_over_time(SEL[{{window}}])",
                           kind="in-flight", pods="{{isvc_pods_window}}", reduce="max",
                           windows=windows))
    return f"sum {BY_ISVC} ({_union(parts)})"


# Within the recent span (the shortest window asked for): the step at which the value
# differs from the step before, a series absent then counting as 0 (so its first
# sample is activity). Beyond it, only on the coarse grid, and never later than the
# recent span's start: what the judgement of recent traffic reads is exact, the rest
# is evidence, rounded towards "more recent".
_CHANGED = ("max_over_time(timestamp((SEL - (SEL offset {{step}} or SEL * 0)) != 0)"
            "[{{recent}}:{{step}}])")
_CHANGED_EARLIER = ("clamp_max(max_over_time(timestamp(changes(SEL[{{coarse_range}}]) > 0 or "
                    "(SEL != 0 unless SEL offset {{coarse_step}}))[{{horizon}}:{{coarse_step}}]),"
                    " time() - {{recent_seconds}})")
_BUSY = "max_over_time(timestamp(SEL > 0)[{{recent}}:{{step}}])"
# The subqueries' steps are multiples of the step, so at a tick between two of them the
# samples after the last step are in no step: up to a step of the newest traffic. An
# instant lookup at the tick itself closes that gap; it reports the newest sample's
# time (never earlier than the change), tagged apart so ``or`` keeps both.
CHANGED_NOW = ('label_replace(timestamp(SEL) and ((SEL - (SEL offset {{step}} or SEL * 0)) != 0),'
                ' "reclaimer_part", "now", "", "")')
BUSY_NOW = 'label_replace(timestamp(SEL) and (SEL > 0), "reclaimer_part", "now", "", "")'
_BUSY_EARLIER = ("clamp_max(max_over_time(timestamp(max_over_time(SEL[{{coarse_range}}]) > 0)"
                 "[{{horizon}}:{{coarse_step}}]), time() - {{recent_seconds}})")


def last_request(preset: RequestPreset) -> str:
    changed = f"{CHANGED_NOW} or {_CHANGED} or {_CHANGED_EARLIER}"
    parts = [_each(preset.counters, changed, kind="counter", pods="{{isvc_pods_horizon}}",
                   reduce="max")]
    if preset.in_flight:
        busy = f"{BUSY_NOW} or {_BUSY} or {_BUSY_EARLIER}"
        parts.append(_each(preset.in_flight, busy, kind="in-flight",
                                pods="{{isvc_pods_horizon}}", reduce="max"))
    return f"max {BY_ISVC} ({_union(parts)})"


def _gpu_series(preset: GpuPreset, build: str) -> str:
    parts = [f"{s.scale:g} * {build.replace('SEL', s.selector)}" if s.scale != 1
             else build.replace("SEL", s.selector) for s in preset.sources]
    return _union(parts)


def _by_mapping(sources: tuple[Source, ...]) -> list[tuple[PodJoin | NameMap, list[Source]]]:
    groups: dict[PodJoin | NameMap, list[Source]] = {}
    for source in sources:
        groups.setdefault(source.mapping, []).append(source)
    return list(groups.items())


def _presence(sources: tuple[Source, ...], signal: str, windows: Windows) -> str:
    """Steps of the window at which some series of a workload was present.

    Counted per workload (a pod, or a named service with all its pods), then mapped to
    the ISVC once, and the best-covered workload counts: mapping inside the subquery
    repeats label rewrites and the pod join at every step and costs several times
    more. A service whose pods were all replaced inside the window is therefore
    unknown until one of them has covered the whole window (never idle sooner). This
    is the service-level check only: every pod holding a GPU is also held to its own
    lifetime (`pods.py`), so the best workload never speaks for the others.
    """
    parts = []
    for i, (mapping, group) in enumerate(_by_mapping(sources)):
        present = _union([f"count {_by(mapping)} ({s.selector})" for s in group])
        steps = _per_window(f"count_over_time(({present})[{{{{window}}}}:{{{{step}}}}])",
                            windows)
        tagged = set_label(steps, target="reclaimer_source", value=str(i))
        parts.append(to_isvc(tagged, mapping, pods="{{isvc_pods_window}}"))
    return set_label(f"max {BY_ISVC} ({_union(parts)})", target="signal", value=signal)


def coverage(requests_preset: RequestPreset, gpu: GpuPreset, windows: Windows = None) -> str:
    """Steps covered per signal and service, plus every GPU pod short of its life (`pods`)."""
    def per_window(expr: str) -> str:
        return _per_window(expr, windows)

    pods = "{{isvc_pods_window}}"
    best = to_isvc(pods_module.best_device(gpu, per_window), pods_module.gpu_mapping(gpu),
                   pods=pods)
    per_pod = [pods_module.missing(gpu, per_window, pods=pods),
               pods_module.requests_missing(requests_preset.counters, per_window, pods=pods)]
    return _union([_presence(requests_preset.counters, "requests", windows),
                   set_label(f"max {BY_ISVC} ({best})", target="signal", value="gpu"),
                   *(part for part in per_pod if part is not None), moved_pods_row()])


def moved_pods_row() -> str:
    """Pods relabelled between ISVCs within the horizon, as coverage rows (each unknown)."""
    return set_label("max by (namespace, isvc, pod) ({{isvc_pods_moved}})", target="signal",
                     value=pods_module.POD_MOVED)


def freshness(requests_preset: RequestPreset, gpu: GpuPreset) -> str:
    """The newest sample of each signal; an instant lookup, so current pods map it.

    GPU rows are per pod (the oldest of its GPUs' newest samples): the service's
    freshness is the newest of them, and a stale pod is seen beside a fresh one; a pod
    holding GPUs with none of them in the lookback comes back as ``gpu-pod-silent``.
    """
    newest = _each(requests_preset.counters, "timestamp(SEL)", kind="counter",
                   pods="{{isvc_pods}}", reduce="max")
    mapping = pods_module.gpu_mapping(gpu)
    gpu_newest = to_isvc(pods_module.oldest_newest(gpu), mapping, pods="{{isvc_pods}}")
    return _union([set_label(f"max {BY_ISVC} ({newest})", target="signal", value="requests"),
                   set_label(f"min by (namespace, isvc, pod) ({gpu_newest})", target="signal",
                             value="gpu"),
                   pods_module.silent(gpu, pods="{{isvc_pods}}")])


def gpu_stat(preset: GpuPreset, stat: str, windows: Windows = None) -> str:
    """``stat`` is ``max`` or ``avg``: per GPU over the window, then across the ISVC."""
    series = _per_window(_gpu_series(preset, f"{stat}_over_time(SEL[{{{{window}}}}])"), windows)
    joined = to_isvc(series, preset.sources[0].mapping, pods="{{isvc_pods_window}}")
    return f"{stat} {BY_ISVC} ({joined})"


def gpus(*, keys: str = BY_ISVC) -> str:
    """GPUs requested by the ISVC's current pods; 0 for ISVCs whose pods request none."""
    per_container = f"max by (namespace, pod, container, resource) ({GPU_RESOURCES})"
    joined = f"{per_container} * on (namespace, pod) group_left (isvc) {{{{isvc_pods}}}}"
    return f"sum {keys} ({joined}) or 0 * count {keys} ({{{{isvc_pods}}}})"


def build(requests_preset: RequestPreset, gpu: GpuPreset, windows: Windows = None, *,
          gpu_max_windows: Windows = None) -> dict[Query, str]:
    """The query templates of one evaluation, before `render`.

    Without ``windows`` the window is the ``{{window}}`` token (the form an operator's
    template takes); with them, each query covers every window, tagged.
    ``gpu_max_windows`` (default ``windows``) adds the recent span to the GPU peak, which
    busy-at-stop reads even when no policy asks for that window itself.
    """
    return {
        Query.REQUESTS: requests(requests_preset, windows),
        Query.LAST_REQUEST: last_request(requests_preset),
        Query.COVERAGE: coverage(requests_preset, gpu, windows),
        Query.FRESHNESS: freshness(requests_preset, gpu),
        Query.GPU_MAX: gpu_stat(gpu, "max", gpu_max_windows or windows),
        Query.GPU_MEAN: gpu_stat(gpu, "avg", windows),
        Query.GPUS: gpus(),
    }
