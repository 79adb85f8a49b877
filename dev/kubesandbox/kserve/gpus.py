"""GPU capacity per node pool (scenario ``gpuCapacity``), as the scheduler sees it.

A pod that asks for more GPUs than its pool has free stays Pending with
``PodScheduled=False`` (Unschedulable) until GPUs are released; Terminating pods still
hold theirs. Pools without a capacity are unlimited; an ISVC's pods go to its
``nodePool`` (default ``default``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kubesandbox.kserve import constants as k
from kubesandbox.kserve import pods as p

Obj = dict[str, Any]
DEFAULT_POOL = "default"


class GpuPools:
    def __init__(self, capacity: Mapping[str, int] | None = None,
                 pools: Mapping[tuple[str, str], str] | None = None) -> None:
        self.capacity = dict(capacity or {})
        self.pools = dict(pools or {})

    def pool_of(self, pod: Obj) -> str:
        meta = pod["metadata"]
        isvc = (meta.get("labels") or {}).get(k.ISVC_LABEL, "")
        return self.pools.get((meta["namespace"], isvc), DEFAULT_POOL)

    def fits(self, pod: Obj, others: Iterable[Obj]) -> bool:
        """Whether ``pod``'s GPUs fit beside every scheduled pod of its pool."""
        want = p.gpus_of(pod)
        pool = self.pool_of(pod)
        limit = self.capacity.get(pool)
        if not want or limit is None:
            return True
        used = sum(p.gpus_of(o) for o in others
                   if o["metadata"]["name"] != pod["metadata"]["name"]
                   and not p.is_unschedulable(o) and self.pool_of(o) == pool)
        return used + want <= limit
