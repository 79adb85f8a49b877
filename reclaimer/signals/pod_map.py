"""Each pod's ISVC, in PromQL: the pod map every query joins, and the pods that moved.

``kube_pod_labels`` gives each pod its ISVC label; a pod relabelled from one ISVC to
another within the span has two, and as the "one" side of a ``group_left`` join it would
fail the whole query with 422 "many-to-many" (metrics.md §2.3). `isvc_pods` leaves such
pods out and `moved_pods` names them, so each is unknown rather than every service. The
recording rules (`rules`) record the same map.
"""

from __future__ import annotations

import re

from reclaimer.signals.promql import copy_label, quote

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _pod_isvc(pod_labels: str, isvc_label: str, over: str | None) -> str:
    series = f"max_over_time({pod_labels}[{over}])" if over else pod_labels
    mapped = f"label_replace({series}, \"isvc\", \"$1\", {quote(isvc_label)}, \"(.+)\")"
    return f"max by (namespace, pod, isvc) ({mapped})"


def isvc_pods(pod_labels: str, isvc_label: str, *, over: str | None = None) -> str:
    """Each pod's ISVC; a pod relabelled from one ISVC to another within ``over`` is left
    out (`moved_pods` names it): as the "one" side of every join it would fail each
    query with 422 "many-to-many", and every service would be unknown for hours."""
    mapped = _pod_isvc(pod_labels, isvc_label, over)
    return f"({mapped} unless on (namespace, pod) (count by (namespace, pod) ({mapped}) > 1))"


def moved_pods(pod_labels: str, isvc_label: str, *, over: str) -> str:
    """Pods with more than one ISVC within ``over``, once per ISVC: each is unknown."""
    mapped = _pod_isvc(pod_labels, isvc_label, over)
    return f"({mapped} and on (namespace, pod) (count by (namespace, pod) ({mapped}) > 1))"


def moved_lately(pod_labels: str, isvc_label: str, *, over: str) -> str:
    """`moved_pods`, relabelled after the count: the pod labels are read twice (no
    shared subexpressions in PromQL), but only the moved pods get an ``isvc`` label,
    not every pod twice. A row also carries ``isvc_label``; the recorded rule keeps
    `moved_pods`' labels (its series must not change). A label that is not a plain
    name (it goes into ``by``) keeps `moved_pods`."""
    if not _LABEL_NAME.fullmatch(isvc_label):
        return moved_pods(pod_labels, isvc_label, over=over)
    pods = (f"max by (namespace, pod, {isvc_label}) "
            f"(max_over_time({pod_labels}[{over}]))")
    moved = f"{pods} and on (namespace, pod) (count by (namespace, pod) ({pods}) > 1)"
    return copy_label(moved, target="isvc", source=isvc_label)

