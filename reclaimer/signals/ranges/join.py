"""The pod join of a backtest, done locally: each pod's rows go to its ISVC at each step.

The service joins pod series to ISVCs in PromQL (``* on (namespace, pod) group_left
(isvc)`` with `signals.queries.isvc_pods`); a range query would repeat that join at
every step, for every query. Here the ``pods`` range query gives each pod's ISVC per
step (moved pods already left out, as in the service), and a row of a pod is
multiplied by it and folded into its ISVC with the service's aggregation (``max`` or
``sum``) at exactly the steps the pod was mapped: what the instant join would have
returned at each step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reclaimer.model import ServiceRef
from reclaimer.signals.ranges.history import Array

PodKey = tuple[str, str]  # (namespace, pod)


@dataclass
class PodMap:
    """Per chunk: for each pod, the ISVCs it was mapped to and the join's value per step."""

    size: int
    pods: dict[PodKey, list[tuple[ServiceRef, Array]]] = field(default_factory=dict)

    def add(self, namespace: str, pod: str, isvc: str, values: Array) -> None:
        self.pods.setdefault((namespace, pod), []).append((ServiceRef(namespace, isvc), values))

    def rows(self, namespace: str, pod: str, values: Array) -> list[tuple[ServiceRef, Array]]:
        """``values`` times the join side, per ISVC; NaN where the pod was not mapped."""
        return [(ref, values * side) for ref, side in self.pods.get((namespace, pod), [])]

    def services(self) -> list[tuple[ServiceRef, Array]]:
        """Per ISVC, 1 at the steps at which some pod was mapped to it (NaN elsewhere)."""
        found: dict[ServiceRef, Array] = {}
        for mapped in self.pods.values():
            for ref, side in mapped:
                present = np.where(np.isnan(side), np.nan, 1.0)
                found[ref] = np.fmax(found[ref], present) if ref in found else present
        return list(found.items())


def fold(target: Array, values: Array, *, how: str) -> None:
    """``target[i] = how(target[i], values[i])`` where ``values`` is present; NaN is absent."""
    if how == "max":
        np.fmax(target, values, out=target)  # NaN on one side gives the other side
        return
    here = ~np.isnan(values)
    target[here] = np.nan_to_num(target[here]) + values[here]
