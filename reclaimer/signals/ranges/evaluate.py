"""Each range query of `promql.build`, evaluated here from the raw series it reads.

`raw_texts` lists what Prometheus is asked (per chunk, each text once, whichever
queries share it); `evaluate` gives one query's answer from those rows, step for step
what Prometheus returns for the query text (`local` has the PromQL operations). The
query texts of `promql` stay the specification: `tests/backtest/test_local.py` reads
a history both ways and finds every array equal.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import numpy as np

from reclaimer.signals import pods
from reclaimer.signals.presets import GpuPreset, RequestPreset
from reclaimer.signals.promql import duration
from reclaimer.signals.ranges.local import (
    CONTAINER,
    NAME,
    POD,
    ROW,
    Raw,
    Row,
    _by_workload,
    _workload_by,
    above,
    aggregate,
    replace_label,
    stamps_text,
    tagged,
    to_pod,
    to_row,
    union,
)
from reclaimer.signals.ranges.promql import RangeQuery
from reclaimer.signals.settings import PrometheusSettings


def _age(settings: PrometheusSettings) -> str:
    return duration(settings.max_sample_age)


def _needs(name: RangeQuery, settings: PrometheusSettings) -> list[str]:
    requests, gpu = settings.requests, settings.gpu
    gpu_series = [s.selector for s in gpu.sources]
    holding = [pods.GPU_RESOURCES, pods.NOT_HOLDING]
    return {
        RangeQuery.PODS: [settings.pod_labels],
        RangeQuery.FRESH: [stamps_text(s, _age(settings))
                           for s in (*requests.counters, *gpu.sources)],
        RangeQuery.COUNTERS: [s.selector for s in requests.counters],
        RangeQuery.IN_FLIGHT: [s.selector for s in requests.in_flight],
        RangeQuery.GPU_MAX: gpu_series,
        RangeQuery.GPUS: [pods.GPU_RESOURCES],
        RangeQuery.GPU_MISSING: [*holding, *gpu_series],
        RangeQuery.HELD: holding,
    }[name]


def raw_texts(settings: PrometheusSettings, names: Collection[RangeQuery]) -> list[str]:
    """What Prometheus is asked for these queries: each raw text once."""
    return list(dict.fromkeys(text for name in names for text in _needs(name, settings)))


def evaluate(name: RangeQuery, settings: PrometheusSettings, raw: Raw) -> list[Row]:
    """The rows the query ``name`` of `promql.build` returns for this chunk (a series
    with no point in it is not returned)."""
    how: dict[RangeQuery, Callable[[PrometheusSettings, Raw], list[Row]]] = {
        RangeQuery.PODS: _pods, RangeQuery.FRESH: _fresh, RangeQuery.COUNTERS: _counters,
        RangeQuery.IN_FLIGHT: _in_flight, RangeQuery.GPU_MAX: _gpu_max,
        RangeQuery.GPUS: _gpus, RangeQuery.GPU_MISSING: _gpu_missing,
        RangeQuery.HELD: _held}
    return [(labels, values) for labels, values in how[name](settings, raw)
            if not np.isnan(values).all()]


def _pods(settings: PrometheusSettings, raw: Raw) -> list[Row]:
    """`signals.queries.isvc_pods`: each pod's ISVC, pods with two left out."""
    mapped = aggregate([(replace_label(labels, target="isvc", replacement="$1",
                                       source=settings.isvc_label, pattern="(.+)"), values)
                        for labels, values in raw(settings.pod_labels)],
                       ("namespace", "pod", "isvc"), "max")
    counts = {tuple(labels.get(k, "") for k in POD): values
              for labels, values in aggregate(mapped, POD, "count")}
    out = []
    for labels, values in mapped:
        with np.errstate(invalid="ignore"):
            moved = counts[tuple(labels.get(k, "") for k in POD)] > 1
        out.append((labels, np.where(moved, np.nan, values)))
    return out


def _fresh(settings: PrometheusSettings, raw: Raw) -> list[Row]:
    age = _age(settings)
    requests: list[Row] = []
    for i, source in enumerate(settings.requests.counters):
        reduced = aggregate(raw(stamps_text(source, age)), _workload_by(source), "max")
        requests += to_row(tagged(reduced, reclaimer_source=f"counter-{i}"), source.mapping)
    gpu = settings.gpu
    mapping = pods.gpu_mapping(gpu)
    stamps = union(*(raw(stamps_text(s, age)) for s in gpu.sources))
    gpu_rows = to_pod(aggregate(stamps, _by_workload(mapping), "max"), mapping)
    return [*tagged(aggregate(requests, ROW, "max"), signal="requests"),
            *tagged(aggregate(gpu_rows, POD, "max"), signal="gpu")]


def _counters(settings: PrometheusSettings, raw: Raw) -> list[Row]:
    """Per workload, so each is diffed alone (`promql.counters`)."""
    return _per_source(settings.requests, raw, how="sum", kind="counter")


def _per_source(requests: RequestPreset, raw: Raw, *, how: str, kind: str) -> list[Row]:
    sources = requests.counters if kind == "counter" else requests.in_flight
    out: list[Row] = []
    for i, source in enumerate(sources):
        reduced = aggregate(raw(source.selector), _workload_by(source), how)
        out += to_row(tagged(reduced, reclaimer_source=f"{kind}-{i}"), source.mapping)
    return out


def _in_flight(settings: PrometheusSettings, raw: Raw) -> list[Row]:
    rows = _per_source(settings.requests, raw, how="max", kind="in-flight")
    return above(aggregate(rows, ROW, "max"), 0.0)


def _scaled(gpu: GpuPreset, raw: Raw) -> list[Row]:
    """`promql._gpu_series`: ``scale * series`` (which drops the name), or ``or``."""
    parts = []
    for source in gpu.sources:
        rows = raw(source.selector)
        if source.scale != 1:
            rows = [({k: v for k, v in labels.items() if k != NAME}, values * source.scale)
                    for labels, values in rows]
        parts.append(rows)
    return union(*parts)


def _gpu_max(settings: PrometheusSettings, raw: Raw) -> list[Row]:
    gpu = settings.gpu
    return aggregate(to_pod(_scaled(gpu, raw), pods.gpu_mapping(gpu)), POD, "max")


def _gpus(settings: PrometheusSettings, raw: Raw) -> list[Row]:
    return aggregate(aggregate(raw(pods.GPU_RESOURCES), CONTAINER, "max"), POD, "sum")


def _held(settings: PrometheusSettings, raw: Raw) -> list[Row]:
    """`signals.pods.HOLDING` per pod: requests ``unless on (namespace, pod)`` the
    pods neither running nor unknown in a pending or terminal phase."""
    gone: dict[tuple[str, ...], np.ndarray] = {}
    for labels, values in raw(pods.NOT_HOLDING):
        key = tuple(labels.get(k, "") for k in POD)
        here = ~np.isnan(values)
        gone[key] = gone[key] | here if key in gone else here
    holding = []
    for labels, values in raw(pods.GPU_RESOURCES):
        key = tuple(labels.get(k, "") for k in POD)
        holding.append((labels, np.where(gone[key], np.nan, values) if key in gone
                        else values))
    return aggregate(aggregate(holding, CONTAINER, "max"), POD, "sum")


def _gpu_missing(settings: PrometheusSettings, raw: Raw) -> list[Row]:
    """`promql.gpu_missing`: GPUs held minus devices seen, per pod, where above 0."""
    gpu = settings.gpu
    mapping = pods.gpu_mapping(gpu)
    devices = union(*(aggregate(raw(s.selector), _by_workload(mapping, *pods.DEVICE_LABELS),
                                "group") for s in gpu.sources))
    per_workload = aggregate(devices, _by_workload(mapping), "sum")
    seen = aggregate(to_pod(per_workload, mapping), POD, "sum")
    both = [*tagged(_held(settings, raw), reclaimer_part="held"),
            *tagged([(labels, -values) for labels, values in seen], reclaimer_part="seen")]
    return above(aggregate(both, POD, "sum"), 0.0)
