"""Per-pod request coverage over history, as the service's live check counts it.

docs/signals.md ("Every GPU pod counts on its own"): where requests are read per pod
(`kserve-python`, `vllm`, `triton`, `{query: ...}`), a pod that held a GPU must have had
a request series at every step it held it; one that did not makes its service unknown,
whatever its siblings show. The range history keeps requests per service, so the
shortfall is counted here, chunk by chunk, from the rows the `Collector` sees anyway
(``counters`` per pod, ``pods`` for each pod's ISVC) and one more, ``held`` (the GPUs
each pod holds: requested, neither pending nor terminal, `signals.pods.HOLDING`, as the
live check counts them): ``requests_missing`` is, per service and step, the pods that
held a GPU with no request series. Series named
by service (Knative, Istio) cannot be told apart per pod; there it is not counted (the
GPU series are the per-pod witness, `gpu_missing`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from reclaimer.signals.ranges.history import Array, History
from reclaimer.signals.ranges.join import PodKey, PodMap


@dataclass
class PodRequests:
    """One chunk's pods: which had a request series, and the GPUs each held."""

    size: int
    counted: dict[PodKey, npt.NDArray[np.bool_]] = field(default_factory=dict)
    gpus: dict[PodKey, Array] = field(default_factory=dict)

    def counter(self, labels: dict[str, str], values: Array) -> None:
        key = _pod(labels)
        if key is not None:
            here = ~np.isnan(values)
            self.counted[key] = self.counted[key] | here if key in self.counted else here

    def requested(self, labels: dict[str, str], values: Array) -> None:
        key = _pod(labels)
        if key is not None:
            self.gpus[key] = np.fmax(self.gpus[key], values) if key in self.gpus else values

    def close(self, pod_map: PodMap, history: History, first: int) -> None:
        """Add this chunk's shortfall (steps at ``first`` on) to each service's
        ``requests_missing``."""
        for key, mapped in pod_map.pods.items():
            held = np.nan_to_num(self.gpus.get(key, np.zeros(self.size))) > 0
            counted = self.counted.get(key, np.zeros(self.size, dtype=np.bool_))
            for ref, side in mapped:
                short = held & ~np.isnan(side) & ~counted
                if short.any():
                    target = history.of(ref).requests_missing[first:first + self.size]
                    target += short


def _pod(labels: dict[str, str]) -> PodKey | None:
    namespace, pod = labels.get("namespace", ""), labels.get("pod", "")
    return (namespace, pod) if namespace and pod and not labels.get("isvc") else None
