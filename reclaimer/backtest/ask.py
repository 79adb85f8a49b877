"""What the loop passes `decide()`: the services it asks about, as simulated, and the rest.

`decide()` is asked for the services with something to decide (`wake`); the mass-idle
breaker compares proposals with the running services in scope, so the other running
services are passed as ``bystanders``, counted per namespace: the answer is the one
deciding every service would give (the others propose nothing), at the cost of the few.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from reclaimer.backtest.carry import still_held, with_carried
from reclaimer.backtest.options import Options
from reclaimer.backtest.wake import Waking
from reclaimer.backtest.windows import signals_at
from reclaimer.model import (
    RECENT_IDLE,
    BusyAtStop,
    IdleDuring,
    LedgerView,
    Plan,
    Policy,
    Service,
    ServiceRef,
    ServiceState,
    Signals,
)
from reclaimer.policy.auto_idle import AutoChoice
from reclaimer.policy.decide import decide
from reclaimer.policy.matching import Match
from reclaimer.signals.ranges.history import History


class Asking(Waking):
    """`decide()`'s inputs: signals, ledger view, windows, bystanders, matches as simulated."""

    def __init__(self, policies: Sequence[Policy], services: Sequence[Service],
                 history: History, *, first: int, options: Options) -> None:
        super().__init__(policies, services, history, first=first, options=options)
        self.decisions = 0
        self.asked = 0  # services asked about, over all decisions
        self.choices: dict[ServiceRef, AutoChoice] = {}
        self.views: dict[tuple[ServiceRef, bool], Match] = {}

    def _held(self, carried: set[ServiceRef], plan: Plan | None, index: int) -> bool:
        now = self.grid.at(index)
        keep = min(self.settings.mass_idle_span, RECENT_IDLE).total_seconds()
        recent = {ref: at for ref, at in self.ledger.idle_stops.items()
                  if (now - at).total_seconds() <= keep}  # as `Ledger.view` keeps them
        return still_held(carried, plan, running=self.running, recent=recent, now=now,
                          settings=self.settings)

    def _ledger(self, now: datetime) -> LedgerView:
        return self.ledger.view(now, keep=min(self.settings.mass_idle_span,
                                              RECENT_IDLE).total_seconds())

    def _decide(self, index: int, chosen: set[ServiceRef], carried: set[ServiceRef]) -> Plan:
        now = self.grid.at(index)
        ledger = with_carried(self._ledger(now), carried, now)
        signals = {ref: self._signals(ref, index) for ref in chosen}
        live = {ref: s for ref, s in signals.items() if s is not None}
        self.decisions += 1
        self.asked += len(chosen)
        matches = self._matches(chosen)
        return decide(now, self.policies, [m.service for m in matches], signals=live,
                      ledger=ledger, settings=self.settings, matches=matches,
                      windows=self._windows(matches, index),
                      bystanders=self._bystanders(chosen | carried), auto=self.choices)

    def _bystanders(self, chosen: set[ServiceRef]) -> Counter[str]:
        """Running services with nothing to decide, per namespace: the mass-idle
        breaker's denominator counts them, as deciding every service would."""
        found = Counter(self.running)
        found.subtract(ref.namespace for ref in chosen if self.tracks[ref].running)
        return +found

    def _windows(self, matches: Sequence[Match], index: int) -> dict[str, bool | None]:
        """``during: offHours`` policies' windows, from the cache kept between edges."""
        return {m.policy.key: self._window(m.policy, index)[0] for m in matches
                if m.policy.idle is not None and m.policy.idle.during is IdleDuring.OFF_HOURS}

    def _matches(self, refs: Iterable[ServiceRef]) -> list[Match]:
        found = [self._view(ref) for ref in refs]
        return sorted(found, key=lambda m: (m.service.ref.namespace, m.service.ref.name,
                                            m.service.uid))

    def _view(self, ref: ServiceRef) -> Match:
        """The service as the simulation has it (running or stopped), with its match; kept
        per state, since building them anew at every decision cost a tenth of a replay."""
        running = self.tracks[ref].running
        found = self.views.get((ref, running))
        if found is None:
            match = self.matches[ref]
            state = ServiceState.RUNNING if running else ServiceState.STOPPED
            service = replace(match.service, state=state, gpus=self.tracks[ref].gpus)
            found = self.views[(ref, running)] = replace(match, service=service)
        return found

    def _signals(self, ref: ServiceRef, index: int) -> Signals | None:
        policy = self.matches[ref].policy
        lookback = self.settings.busy_lookback
        if policy.idle is not None:
            window = max(policy.idle.after, lookback)
        elif policy.schedule and policy.busy_at_stop is BusyAtStop.DEFER:
            window = lookback
        else:
            return None
        return signals_at(ref, self._one(ref), index, window=window, recent=lookback,
                          since=self.tracks[ref].since, max_sample_age=self.options.max_sample_age)
