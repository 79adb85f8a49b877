"""Rule expressions reduced per workload, then mapped to the ISVC once.

A workload is a pod (and its aliases) or a named service with all its pods. A rule
reduces its series per workload first, so the label rewrites and the join to the
recorded pod map (`names.ISVC_POD`) run over one series per workload, not per raw
series; the recorded mode's queries (`recorded.py`) read the same labels back.
"""

from __future__ import annotations

from reclaimer.signals import pods as pods_module
from reclaimer.signals.presets import NameMap, PodJoin, Source
from reclaimer.signals.promql import copy_label, extract_label
from reclaimer.signals.rules.names import ISVC_POD_DATA


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
