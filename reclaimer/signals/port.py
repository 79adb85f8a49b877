"""The port the service loop and the demo depend on; adapters live beside it."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from reclaimer.model import ServiceKind, ServiceRef, Signals


class SignalSource(Protocol):
    """One evaluation of what the metrics say about every ISVC they know.

    ``fetch`` returns a `Signals` for every ISVC seen in any series, keyed by
    (namespace, ISVC); an ISVC absent from the mapping has no series and the caller
    treats it as unknown. Any failure of the source raises ``MetricsUnavailable``
    (every service is unknown for this evaluation). Values are measured over
    ``window`` ending at ``at``; ``at`` is a parameter, the source never reads a clock.

    ``seconds_since_last_request`` is None when no request was seen within the
    source's horizon (1 h by default); ``gpu_utilization_*`` are None for a service
    with ``gpus == 0``. Both are None whenever ``state`` is unknown.
    """

    def fetch(self, *, at: datetime, window: timedelta) -> Mapping[ServiceRef, Signals]: ...

    def fetch_windows(self, *, at: datetime, windows: Sequence[timedelta],
                      recent: timedelta | None = None,
                      kinds: Collection[ServiceKind] = (ServiceKind.INFERENCE_SERVICE,),
                      ) -> Mapping[timedelta, Mapping[ServiceRef, Signals]]:
        """``fetch`` for every window at once, as one evaluation (one failure for all).

        ``recent`` (default: the shortest window) is the span within which
        ``seconds_since_last_request`` is resolved to the source's full step; further
        back it may be coarser, but never larger than the truth. ``kinds`` are the KServe
        kinds asked about (InferenceServices only by default); services of other kinds
        are absent from the answer, as are those of a kind the source cannot measure.
        """
        ...
