"""Are evaluations coming close to ``prometheus.timeout``? (issue 20 item 4)

An evaluation that runs out of time makes every service unknown: nothing is reclaimed,
safely but uselessly. The adapter keeps the wall time of its last evaluations
(`PrometheusSignals.durations`, measured with the injected clock); when the slowest of
them took more than half the timeout, the service says so in its log and in /readyz,
before a loaded Prometheus tips the evaluation over. Pure: durations and the timeout
are parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

SLOW_FRACTION = 0.5


def slow_evaluations(durations: Sequence[float], *, timeout: timedelta) -> str | None:
    """A one-line warning when the last evaluations took more than half the timeout."""
    if not durations:
        return None
    slowest = max(durations)
    limit = timeout.total_seconds()
    if slowest <= SLOW_FRACTION * limit:
        return None
    return (f"Prometheus evaluations are slow: the slowest of the last {len(durations)} "
            f"took {slowest:.3g}s, more than half of prometheus.timeout ({limit:g}s); "
            "raise prometheus.timeout or lighten the queries (docs/signals.md, "
            "\"When evaluations are slow\")")


RECOVERED = "Prometheus evaluations are again within half of prometheus.timeout"


@dataclass
class SlowNotice:
    """Says the warning from the first tick on, once per change, not at every tick."""

    said: bool = False

    def update(self, warning: str | None) -> tuple[int, str] | None:
        """The (logging level, message) to log now, if any."""
        was, self.said = self.said, warning is not None
        if warning is not None and not was:
            return logging.WARNING, warning
        if warning is None and was:
            return logging.INFO, RECOVERED
        return None
