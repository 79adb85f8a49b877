"""When the loop must decide a service: the steps skipped are those where no decision
can change anything, which is exact, not an approximation:

- a schedule edge can act only from its due step until it is claimed (the loop
  decides every service of the policy at the due step, and after it only the
  services whose edge is still unclaimed: deferred while busy, or staggered; the
  others' latest edge is in the ledger, so `decide()` has no edge for them);
- an idle stop needs `windows.idle_candidates` to hold (a necessary condition), the
  service up for ``max(minUptime, after)`` and, for ``during: offHours``, no
  schedule window open.

Each service waits in a queue keyed by the step at which it could next need deciding:
an idle candidate (`_queue_candidate`), a request reaching it while stopped
(`_queue_request`), a carried idle stop's end (`_carry_ends`), a deferred stop's
next chance (`_due_deferred`).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np

from reclaimer.backtest.carry import steady_steps
from reclaimer.backtest.deferred import due as deferral_due
from reclaimer.backtest.deferred import quiet_steps
from reclaimer.backtest.options import Options, Restart
from reclaimer.backtest.prepared import Prepared
from reclaimer.model import IdleDuring, Policy, Service, ServiceRef
from reclaimer.policy.idle import busy_gpu_threshold
from reclaimer.policy.schedule import window_open
from reclaimer.signals.ranges.history import History, steps_in


class Waking(Prepared):
    """The queues of services to wake, and the tests of whether a step can skip them."""

    def __init__(self, policies: Sequence[Policy], services: Sequence[Service],
                 history: History, *, first: int, options: Options) -> None:
        super().__init__(policies, services, history, first=first, options=options)
        self.wake: list[tuple[int, ServiceRef]] = []
        self.requests: list[tuple[int, ServiceRef]] = []
        self.open: set[ServiceRef] = set()  # a start edge unclaimed: staggered
        self.deferred: dict[ServiceRef, int] = {}  # a stop deferred, to its deadline step
        self.quiet: dict[ServiceRef, np.ndarray] = {}  # `deferred.quiet_steps`, per service
        self.carried: set[ServiceRef] = set()  # idle stops the breaker holds (`carry`)
        self.release: list[tuple[int, ServiceRef]] = []  # where each carry must end
        self.breaks: dict[ServiceRef, np.ndarray] = {}  # steps a carry cannot go through
        self.window_cache: dict[str, tuple[int, bool | None, int | None]] = {}

    def _queue_candidate(self, ref: ServiceRef, after: int) -> None:
        found = self.candidates.get(ref)
        if found is None or not self.tracks[ref].running:
            return
        match = self.matches[ref]
        created = self.grid.index(match.service.created_at.timestamp())
        since = self.tracks[ref].since if self.tracks[ref].starts else min(self.first, created)
        earliest = max(after, since + self._uptime_steps(match), created
                       + self._uptime_steps(match))
        position = int(np.searchsorted(found, earliest))
        if position < found.size:
            heapq.heappush(self.wake, (int(found[position]), ref))

    def _queue_request(self, ref: ServiceRef, after: int) -> None:
        if self.options.restart is not Restart.ON_REQUEST:
            return
        active = np.flatnonzero(self._one(ref).activity()[after + 1:])
        if active.size:
            heapq.heappush(self.requests, (after + 1 + int(active[0]), ref))

    def _due(self, queue: list[tuple[int, ServiceRef]], index: int) -> set[ServiceRef]:
        due = set()
        while queue and queue[0][0] <= index:
            due.add(heapq.heappop(queue)[1])
        return due

    def _release(self, index: int) -> None:
        """Carried services whose verdict could change at ``index`` go back to the
        wake queue, which finds them at ``index`` if they are candidates there. (A
        carried service stays running and no recent idle stop, as it was when carried:
        only a decision could stop it, and it is not decided while carried.)"""
        for ref in self._due(self.release, index):
            if ref in self.carried:
                self.carried.discard(ref)
                self._queue_candidate(ref, index)

    def _carry_ends(self, ref: ServiceRef, index: int) -> int:
        """The first step after ``index`` at which ``ref`` is no idle candidate or not
        steady (`carry.steady_steps`), or its ``during: offHours`` window changes."""
        breaks = self.breaks.get(ref)
        if breaks is None:
            breaks = self.breaks[ref] = np.flatnonzero(
                ~(self.masks[ref] & steady_steps(self._one(ref))))
        position = int(np.searchsorted(breaks, index + 1))
        end = int(breaks[position]) if position < breaks.size else self.grid.size
        policy = self.matches[ref].policy
        if policy.idle is not None and policy.idle.during is IdleDuring.OFF_HOURS:
            end = min([end, *(i for i in self.changes.get(policy.key, ()) if i > index)])
        return end

    def _off_hours(self, ref: ServiceRef, index: int) -> bool:
        """False while a ``during: offHours`` rule's window is open: no idle stop can happen."""
        policy = self.matches[ref].policy
        if policy.idle is None or policy.idle.during is not IdleDuring.OFF_HOURS:
            return True
        is_open, until = self._window(policy, index)
        if is_open is True:
            if until is not None:
                self._queue_candidate(ref, until)
            return False
        return True

    def _window(self, policy: Policy, index: int) -> tuple[bool | None, int | None]:
        """`window_open` once per policy between two of its edges: it can change only at
        an edge (the edge's own instant, not its ``startLeadTime``-early due step), and
        it scans the schedule (the dearest call of a replay)."""
        cached = self.window_cache.get(policy.key)
        if cached is not None and cached[0] <= index and (cached[2] is None
                                                          or index < cached[2]):
            return cached[1], cached[2]
        later = [i for i in self.changes.get(policy.key, ()) if i > index]
        until = min(later) if later else None
        is_open = window_open(policy, self.grid.at(index))
        self.window_cache[policy.key] = (index, is_open, until)
        return is_open, until

    def _due_deferred(self, index: int) -> set[ServiceRef]:
        """Deferred stops whose answer could change at ``index`` (`deferred`)."""
        lookback = self.settings.busy_lookback
        found = set()
        for ref, until in self.deferred.items():
            quiet = self.quiet.get(ref)
            if quiet is None:
                quiet = self.quiet[ref] = quiet_steps(
                    self._one(ref), lookback=lookback,
                    gpu_busy_at=busy_gpu_threshold(self.matches[ref].policy))
            if deferral_due(index, deadline_at=until, quiet=quiet,
                            since=self.tracks[ref].since,
                            lookback=steps_in(lookback, self.grid)):
                found.add(ref)
        return found
