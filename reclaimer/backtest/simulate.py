"""The loop of a backtest: `decide()` at every step where it could act, states fed back.

At each grid step from ``from`` to ``to`` the loop does what a tick does: services as
they are in the simulation, the signals of their windows (`windows.signals_at`), the
ledger view of what was applied before, `decide()` with the configured safety
limits (`ask`), and the plan applied (stops and starts take effect at once; a started
service serves after the start time). Steps where no decision can change anything
are skipped, exactly (`wake`); the indexes that needs are built up front (`prepared`).

``restart`` ``on-request``: a request reaching a stopped service starts it, as a
person or a waker would (recorded as an external start); ``never``: it stays stopped
until a start edge.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np

from reclaimer.backtest.ask import Asking
from reclaimer.backtest.carry import held_by_breaker
from reclaimer.backtest.deferred import deadline
from reclaimer.backtest.options import RELEARN, Options
from reclaimer.backtest.state import Outcome
from reclaimer.backtest.windows import idle_candidates
from reclaimer.model import (
    Action,
    Plan,
    Policy,
    Reason,
    Service,
    ServiceRef,
    Transition,
    Trigger,
)
from reclaimer.policy.auto_idle import choose_timeout
from reclaimer.policy.idle import busy_gpu_threshold
from reclaimer.signals.ranges.gaps import gaps_of, observed, states_before
from reclaimer.signals.ranges.history import History, steps_in


class Loop(Asking):
    """The steps in order: learn, wake, decide, apply."""

    def _learn(self, index: int) -> None:
        """``auto`` (the option, or a policy's ``idle.after: auto``): each such idle
        service's timeout from its gaps before ``index``."""
        for ref, match in list(self.matches.items()):
            rule = match.policy.idle
            auto = self.options.auto or (rule.auto if rule is not None else None)
            if rule is None or auto is None:
                continue
            states = states_before(self._one(ref), index, learn_from=auto.learn_from,
                                   gpu_busy_at=busy_gpu_threshold(match.policy),
                                   max_age=self.options.max_sample_age.total_seconds())
            choice = self.choices[ref] = choose_timeout(
                gaps_of(states, self._one(ref).grid.step), auto, observed=observed(states))
            learned = replace(rule, after=choice.after, auto=auto)
            self.matches[ref] = replace(match, policy=replace(match.policy, idle=learned))
            self.views.pop((ref, True), None)
            self.views.pop((ref, False), None)
            self.masks[ref] = idle_candidates(self._one(ref), learned,
                                              lookback=self.settings.busy_lookback)
            self.candidates[ref] = np.flatnonzero(self.masks[ref])
            self.carried.discard(ref)
            self.breaks.pop(ref, None)
            if index > self.first:
                self._queue_candidate(ref, index)

    def run(self) -> Outcome:
        self._learn(self.first)
        for ref in self.tracks:
            self._queue_candidate(ref, self.first)
        relearn = steps_in(RELEARN, self.grid)
        for index in range(self.first, self.grid.size):
            if self.learning and index > self.first and (index - self.first) % relearn == 0:
                self._learn(index)
            self._step(index)
        return Outcome(self.tracks, {r: m.policy for r, m in self.matches.items()},
                       first=self.first, end=self.grid.size, decisions=self.decisions,
                       asked=self.asked)

    def _step(self, index: int) -> None:
        for ref in self._due(self.requests, index):
            if not self.tracks[ref].running:
                self._start(ref, index, trigger=Trigger.EXTERNAL)
        self._release(index)
        # Carried services are due again, as the loop would have queued them.
        idle = self.carried | {ref for ref in self._due(self.wake, index)
                               if self.tracks[ref].running and self._off_hours(ref, index)}
        keys = set(self.by_policy) if index == self.first else self.edges.get(index, set())
        chosen = ((idle - self.carried) | self.open | self._due_deferred(index)
                  | {ref for key in keys for ref in self.by_policy.get(key, [])})
        carried = self.carried - chosen
        plan = self._decide(index, chosen, carried) if chosen else None
        if carried and not self._held(carried, plan, index):
            chosen, carried = chosen | carried, set()
            plan = self._decide(index, chosen, carried)
        if plan is None:
            return
        self._apply(plan, index, chosen)
        # Not one the ledger has as a recent idle stop: the breaker counts it twice.
        held = {ref for ref in held_by_breaker(plan) & idle if ref not in self.ledger.idle_stops}
        for ref in idle - held - carried:
            self._queue_candidate(ref, index + 1)
        for ref in held:
            heapq.heappush(self.release, (self._carry_ends(ref, index), ref))
        self.carried = carried | held

    def _apply(self, plan: Plan, index: int, asked: set[ServiceRef]) -> None:
        now = self.grid.at(index)
        self.open = set()
        self.deferred = {ref: until for ref, until in self.deferred.items() if ref not in asked}
        for missed in plan.missed:
            if missed.edge_key:
                self.ledger.applied.add(missed.edge_key)
        for transition in plan.transitions:
            self._one_transition(transition, index, now)

    def _one_transition(self, transition: Transition, index: int, now: datetime) -> None:
        if transition.edge_key:
            self.ledger.applied.add(transition.edge_key)
        if transition.reason in (Reason.DEFERRED_BUSY, Reason.STAGGERED):
            edge_key = str(transition.evidence.get("edgeKey", ""))
            if transition.reason is Reason.DEFERRED_BUSY and edge_key:
                self.ledger.deferred_since.setdefault(edge_key, now)
            if transition.reason is Reason.DEFERRED_BUSY:
                self.deferred[transition.ref] = deadline(transition, self.grid)
            else:
                self.open.add(transition.ref)
        if not transition.actionable:
            return
        if transition.action is Action.STOP:
            self._stop(transition.ref, index, trigger=transition.trigger)
        else:
            self._start(transition.ref, index, trigger=transition.trigger)

    def _stop(self, ref: ServiceRef, index: int, *, trigger: Trigger) -> None:
        track = self.tracks[ref]
        if not track.running:
            return
        one = self._one(ref)
        if one.increments[index] > 0 or one.in_flight[index] > 0:
            track.during_traffic += 1
        track.stop(index)
        self.running[ref.namespace] -= 1
        self.ledger.record(ref, track.uid, Action.STOP, trigger, self.grid.at(index))
        self._queue_request(ref, index)

    def _start(self, ref: ServiceRef, index: int, *, trigger: Trigger) -> None:
        track = self.tracks[ref]
        if track.running:
            return
        track.start(index, start_steps=self.start_steps)
        self.running[ref.namespace] += 1
        self.ledger.record(ref, track.uid, Action.START, trigger, self.grid.at(index))
        self._queue_candidate(ref, index + 1)


def simulate(policies: Sequence[Policy], services: Sequence[Service], history: History, *,
             first: int, options: Options) -> Outcome:
    return Loop(policies, services, history, first=first, options=options).run()
