"""The seven answers' rows folded into one `Observations` for `assemble`.

Kept apart from the adapter (`prometheus.py`), which asks and times the queries: what a
row means (a service's value, one pod's, a tail to add, a peak to keep) is decided here
alone, whichever mode (raw or recorded) produced the rows.
"""

from __future__ import annotations

from collections.abc import Mapping

from reclaimer.model import EMPTY, ServiceRef
from reclaimer.signals.answer import Row
from reclaimer.signals.assemble import GPU, Observations
from reclaimer.signals.pods import (
    GPU_POD_MISSING,
    GPU_POD_SILENT,
    POD_MOVED,
    REQUESTS_POD_MISSING,
)
from reclaimer.signals.queries import Query


def _keyed(rows: list[Row]) -> dict[ServiceRef, float]:
    return {row.ref: row.value for row in rows}


def _summed(rows: list[Row]) -> dict[ServiceRef, float]:
    """Rows of one service added: the recorded mode's raw tail comes without a window."""
    out: dict[ServiceRef, float] = {}
    for row in rows:
        out[row.ref] = out.get(row.ref, 0.0) + row.value
    return out


def largest(rows: list[Row]) -> dict[ServiceRef, float]:
    """The largest row of each service (the recorded GPU peak and its raw tail)."""
    out: dict[ServiceRef, float] = {}
    for row in rows:
        out[row.ref] = max(row.value, out.get(row.ref, row.value))
    return out


def _by_signal(rows: list[Row]) -> dict[tuple[ServiceRef, str], float]:
    """Service-level rows; of per-pod rows of a signal, the newest (largest) value."""
    out: dict[tuple[ServiceRef, str], float] = {}
    for row in rows:
        if row.signal in (GPU_POD_MISSING, REQUESTS_POD_MISSING, GPU_POD_SILENT, POD_MOVED):
            continue
        key = (row.ref, row.signal)
        out[key] = max(row.value, out.get(key, row.value))
    return out


def _per_pod(rows: list[Row], signal: str) -> dict[ServiceRef, dict[str, float]]:
    out: dict[ServiceRef, dict[str, float]] = {}
    for row in rows:
        if row.signal == signal and row.pod is not None:
            out.setdefault(row.ref, {})[row.pod] = row.value
    return out


def observations(rows: Mapping[Query, list[Row]], *,
                 recent_gpu_max: Mapping[ServiceRef, float] | None = None) -> Observations:
    return Observations(
        requests=_summed(rows[Query.REQUESTS]),
        last_request=_keyed(rows[Query.LAST_REQUEST]),
        coverage=_by_signal(rows[Query.COVERAGE]),
        freshness=_by_signal(rows[Query.FRESHNESS]),
        gpu_max=largest(rows[Query.GPU_MAX]),
        gpu_mean=_keyed(rows[Query.GPU_MEAN]),
        gpus=_keyed(rows[Query.GPUS]),
        gpu_pod_missing=_per_pod(rows[Query.COVERAGE], GPU_POD_MISSING),
        request_pod_missing=_per_pod(rows[Query.COVERAGE], REQUESTS_POD_MISSING),
        gpu_pod_silent=_per_pod(rows[Query.FRESHNESS], GPU_POD_SILENT),
        pod_moved=_per_pod(rows[Query.COVERAGE], POD_MOVED),
        gpu_pod_newest=_per_pod(rows[Query.FRESHNESS], GPU),
        recent_gpu_max=recent_gpu_max if recent_gpu_max is not None else EMPTY,
    )
