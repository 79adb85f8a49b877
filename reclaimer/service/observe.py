"""Gathering signals for one tick, fail-safe.

The source is asked once per distinct idle window among the policies that govern some
service (usually one window, so one evaluation per tick). A failed evaluation makes
every service it would have covered unknown — never idle — and is counted, so
`reclaimer_signals_unknown` rises while schedule edges keep being applied.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from reclaimer.errors import MetricsUnavailable
from reclaimer.model import ServiceRef, Signals, SignalState
from reclaimer.policy.matching import Match

log = logging.getLogger("reclaimer.signals")


class SignalSource(Protocol):
    def fetch(self, *, at: datetime, window: timedelta) -> Mapping[ServiceRef, Signals]: ...


@dataclass(frozen=True)
class GatheredSignals:
    by_service: Mapping[ServiceRef, Signals]
    unknown: int
    evaluations: int
    failures: tuple[str, ...] = ()


def _windows(matches: Sequence[Match]) -> dict[timedelta, list[ServiceRef]]:
    windows: dict[timedelta, list[ServiceRef]] = {}
    for match in matches:
        if match.policy.idle is not None:
            windows.setdefault(match.policy.idle.after, []).append(match.service.ref)
    return windows


def _evaluate(source: SignalSource, refs: Sequence[ServiceRef], *, now: datetime,
              window: timedelta) -> tuple[dict[ServiceRef, Signals], str | None]:
    try:
        known = source.fetch(at=now, window=window)
    except MetricsUnavailable as exc:
        log.warning("signals unavailable: %s", exc)
        reason = f"metrics unavailable: {exc}"
        return {r: Signals.unknown(r, at=now, window=window, reason=reason) for r in refs}, reason
    missing = "no series for this service"
    return {r: known.get(r) or Signals.unknown(r, at=now, window=window, reason=missing)
            for r in refs}, None


def gather_signals(source: SignalSource, matches: Sequence[Match], *,
                   now: datetime) -> GatheredSignals:
    by_service: dict[ServiceRef, Signals] = {}
    failures: list[str] = []
    windows = _windows(matches)
    for window, refs in sorted(windows.items()):
        evaluated, failure = _evaluate(source, refs, now=now, window=window)
        by_service.update(evaluated)
        if failure:
            failures.append(failure)
    unknown = sum(1 for s in by_service.values() if s.state is SignalState.UNKNOWN)
    return GatheredSignals(by_service=by_service, unknown=unknown, evaluations=len(windows),
                           failures=tuple(failures))
