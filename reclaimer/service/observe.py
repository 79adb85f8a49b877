"""Gathering signals for one tick, fail-safe.

The source is asked once per tick, for every distinct window among the policies that
govern some service: an idle rule's ``after``, or the recent-traffic lookback for a
schedule that defers busy stops. One evaluation covers them all (one query per signal,
whatever the number of windows), and the lookback is where the time of the last request
must be exact. A failed evaluation makes every service unknown — never idle — and is
counted, so `reclaimer_signals_unknown` rises while schedule edges keep being applied.
The source is asked about the kinds of the services that need signals; a kind no
source can measure (an InferenceGraph) is unknown with the reason why
(`signals.kinds.NO_SIGNALS`), so ``plan`` and the decision log say it is schedule only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from reclaimer.errors import MetricsUnavailable
from reclaimer.model import EMPTY, BusyAtStop, Policy, ServiceRef, Signals, SignalState
from reclaimer.policy.auto_idle import AutoChoice, applied
from reclaimer.policy.matching import Match
from reclaimer.signals.kinds import NO_SIGNALS
from reclaimer.signals.port import SignalSource

log = logging.getLogger("reclaimer.signals")


@dataclass(frozen=True)
class GatheredSignals:
    by_service: Mapping[ServiceRef, Signals]
    unknown: int
    evaluations: int
    failures: tuple[str, ...] = ()


def _window(policy: Policy, traffic_window: timedelta, choice: AutoChoice | None = None
            ) -> timedelta | None:
    """The idle rule's window (``auto``: the learned ``after``); a schedule that defers
    busy stops needs recent traffic."""
    if policy.idle is not None:
        return max(applied(policy.idle, choice).after, traffic_window)
    if policy.schedule and policy.busy_at_stop is BusyAtStop.DEFER:
        return traffic_window
    return None


def _windows(matches: Sequence[Match], traffic_window: timedelta,
             auto: Mapping[ServiceRef, AutoChoice]) -> dict[timedelta, list[ServiceRef]]:
    windows: dict[timedelta, list[ServiceRef]] = {}
    for match in matches:
        window = _window(match.policy, traffic_window, auto.get(match.service.ref))
        if window is not None:
            windows.setdefault(window, []).append(match.service.ref)
    return windows


def _evaluate(source: SignalSource, windows: Mapping[timedelta, list[ServiceRef]], *,
              now: datetime, recent: timedelta) -> tuple[dict[ServiceRef, Signals], str | None]:
    kinds = {r.kind for refs in windows.values() for r in refs}
    try:
        known = source.fetch_windows(at=now, windows=sorted(windows), recent=recent,
                                     kinds=kinds)
    except MetricsUnavailable as exc:
        log.warning("signals unavailable: %s", exc)
        reason = f"metrics unavailable: {exc}"
        return {r: Signals.unknown(r, at=now, window=w, reason=reason)
                for w, refs in windows.items() for r in refs}, reason
    return {r: known.get(w, {}).get(r) or Signals.unknown(r, at=now, window=w, reason=_missing(r))
            for w, refs in windows.items() for r in refs}, None


def _missing(ref: ServiceRef) -> str:
    return NO_SIGNALS.get(ref.kind, "no series for this service")


def gather_signals(source: SignalSource, matches: Sequence[Match], *, now: datetime,
                   traffic_window: timedelta = timedelta(minutes=5),
                   auto: Mapping[ServiceRef, AutoChoice] = EMPTY) -> GatheredSignals:
    """``auto``: the learned timeouts of ``idle.after: auto`` services (their windows)."""
    windows = _windows(matches, traffic_window, auto)
    by_service: dict[ServiceRef, Signals] = {}
    failure = None
    if windows:
        by_service, failure = _evaluate(source, windows, now=now,
                                        recent=min(traffic_window, *windows))
    unknown = sum(1 for s in by_service.values() if s.state is SignalState.UNKNOWN)
    return GatheredSignals(by_service=by_service, unknown=unknown, evaluations=int(bool(windows)),
                           failures=(failure,) if failure else ())
