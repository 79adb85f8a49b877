"""The PromQL around the raw series of a backtest, evaluated here, once per series.

The queries of `promql.build` make Prometheus relabel and aggregate every series at
every step of a range query: per day of 100 ISVCs, 4.2 CPU s for the six, against
0.45 for the raw series they read (measured in benchmarks/RESULTS.md, issue 18). So
Prometheus is asked for the raw series only (`raw_texts`: plain selectors, and
``count_over_time`` of them for freshness, which no step value can tell) and their
PromQL is evaluated here: a label rewrite (``label_replace``) once per series, the
reductions (``max``, ``sum``, ``group``, ``count`` by labels), ``or``, ``unless on``
and ``> 0`` per step with NumPy. Each function returns the rows its query in
`promql` returns (labels, and a value per step of the chunk, NaN where absent), so
`collect.Collector` reads them as it read the answers; `tests/backtest/test_local.py`
checks, array by array, that a history read either way is the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np

from reclaimer.signals import pods
from reclaimer.signals.presets import NameMap, PodJoin, Source
from reclaimer.signals.ranges.history import Array
from reclaimer.signals.ranges.join import fold

Labels = dict[str, str]
Row = tuple[Labels, Array]
Raw = Callable[[str], list[Row]]  # the rows of one raw text, for the chunk at hand
NAME = "__name__"
ROW = ("namespace", "isvc", "pod")
POD = ("namespace", "pod")
CONTAINER = ("namespace", "pod", "container", "resource")


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(f"^(?:{pattern})$")  # anchored, as Prometheus anchors it


def _expand(replacement: str, match: re.Match[str]) -> str:
    """Go's ``Regexp.Expand``: ``$1``, ``${1}``, ``$name``; ``$$`` is ``$``."""
    def one(found: re.Match[str]) -> str:
        name = found.group(2) or found.group(3)
        if name is None:
            return "$"
        try:
            return match.group(int(name) if name.isdigit() else name) or ""
        except IndexError:  # no such group: Go expands it to ""
            return ""
    return re.sub(r"\$(?:(\$)|\{(\w+)\}|(\w+))", one, replacement)


def replace_label(labels: Labels, *, target: str, replacement: str, source: str,
                  pattern: str) -> Labels:
    """``label_replace``: unchanged unless ``pattern`` matches the whole ``source``
    value (absent is ""); an empty result removes ``target``."""
    match = _regex(pattern).match(labels.get(source, ""))
    if match is None:
        return labels
    value = _expand(replacement, match)
    out = {k: v for k, v in labels.items() if k != target}
    if value:
        out[target] = value
    return out


def copy_label(labels: Labels, *, target: str, source: str) -> Labels:
    return replace_label(labels, target=target, replacement="$1", source=source, pattern="(.+)")


def tagged(rows: list[Row], **tags: str) -> list[Row]:
    """``set_label``: a constant label on every row."""
    return [({**labels, **tags}, values) for labels, values in rows]


def to_pod(rows: list[Row], mapping: PodJoin) -> list[Row]:
    """`signals.pods.to_pod`: ``namespace`` and ``pod`` from the workload's labels."""
    pairs = [pair for pair in [(mapping.namespace_label, mapping.pod_label), *mapping.aliases]
             if pair != ("namespace", "pod")]
    out = []
    for labels, values in rows:
        moved = labels
        for namespace_label, pod_label in pairs:
            moved = copy_label(moved, target="pod", source=pod_label)
            moved = copy_label(moved, target="namespace", source=namespace_label)
        out.append((moved, values))
    return out


def to_row(rows: list[Row], mapping: PodJoin | NameMap) -> list[Row]:
    """`promql.to_row`: the ISVC by name (extracted, as the service does) or the pod."""
    if isinstance(mapping, PodJoin):
        return to_pod(rows, mapping)
    out = []
    for labels, values in rows:
        named = replace_label(labels, target="isvc", replacement="$1",
                              source=mapping.name_label, pattern=mapping.pattern)
        out.append((copy_label(named, target="namespace", source=mapping.namespace_label),
                    values))
    return out


def aggregate(rows: list[Row], by: Sequence[str], how: str) -> list[Row]:
    """``how by (labels)``: ``max``, ``sum``, ``group`` (1) or ``count`` per step;
    absent where no row of the group is present."""
    groups: dict[tuple[str, ...], Array] = {}
    ones = how in ("group", "count")
    for labels, values in rows:
        row = np.where(np.isnan(values), np.nan, 1.0) if ones else values
        key = tuple(labels.get(label, "") for label in by)
        found = groups.get(key)
        if found is None:
            groups[key] = row.copy()
        else:
            fold(found, row, how="max" if how in ("max", "group") else "sum")
    return [({label: v for label, v in zip(by, key, strict=True) if v}, values)
            for key, values in groups.items()]


def union(*parts: list[Row]) -> list[Row]:
    """``or``: a row whose label set the left side has at a step is dropped there."""
    found: dict[frozenset[tuple[str, str]], Row] = {}
    for part in parts:
        for labels, values in part:
            key = frozenset(labels.items())
            if key not in found:
                found[key] = (labels, values)
                continue
            kept = found[key][1].copy()
            gap = np.isnan(kept)
            kept[gap] = values[gap]
            found[key] = (labels, kept)
    return list(found.values())


def above(rows: list[Row], floor: float) -> list[Row]:
    """``> floor``: the value where it is above, absent elsewhere."""
    out = []
    for labels, values in rows:
        with np.errstate(invalid="ignore"):
            out.append((labels, np.where(values > floor, values, np.nan)))
    return out


def _workload_by(source: Source) -> list[str]:
    mapping = source.mapping
    if isinstance(mapping, PodJoin):
        return _by_workload(mapping)
    return [mapping.namespace_label, mapping.name_label]


def _by_workload(mapping: PodJoin, *extra: str) -> list[str]:
    """`signals.pods.by_workload` as a label list."""
    pairs = [(mapping.namespace_label, mapping.pod_label), *mapping.aliases]
    return [*(label for pair in pairs for label in pair), *extra, pods.WINDOW]


def stamps_text(source: Source, age: str) -> str:
    return f"count_over_time({source.selector}[{age}])"
