"""The loop of a backtest: `decide()` at every step where it could act, states fed back.

At each grid step from ``from`` to ``to`` the loop does what a tick does: services as
they are in the simulation, the signals of their windows (`windows.signals_at`), the
ledger view of what was applied before, `decide()` with the configured safety
limits, and the plan applied (stops and starts take effect at once; a started
service serves after the start time). Steps where no decision can change anything
are skipped, which is exact, not an approximation:

- a schedule edge can act only from its due step until it is claimed (the loop
  decides every service of the policy at the due step, and after it only the
  services whose edge is still unclaimed: deferred while busy, or staggered; the
  others' latest edge is in the ledger, so `decide()` has no edge for them);
- an idle stop needs `windows.idle_candidates` to hold (a necessary condition), the
  service up for ``max(minUptime, after)`` and, for ``during: offHours``, no
  schedule window open.

`decide()` is asked for the services with something to decide; the mass-idle breaker
compares proposals with the running services in scope, so the other running services
are passed as ``bystanders``, counted per namespace: the answer is the one deciding
every service would give (the others propose nothing), at the cost of the few.

``restart`` ``on-request``: a request reaching a stopped service starts it, as a
person or a waker would (recorded as an external start); ``never``: it stays stopped
until a start edge.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np

from reclaimer.backtest.carry import held_by_breaker, steady_steps, still_held, with_carried
from reclaimer.backtest.deferred import deadline, quiet_steps
from reclaimer.backtest.deferred import due as deferral_due
from reclaimer.backtest.state import Ledger, Track
from reclaimer.backtest.windows import idle_candidates, signals_at
from reclaimer.model import (
    RECENT_IDLE,
    Action,
    AutoIdle,
    BusyAtStop,
    DecideSettings,
    IdleDuring,
    LedgerView,
    Plan,
    Policy,
    PolicyMode,
    Reason,
    Service,
    ServiceRef,
    ServiceState,
    Signals,
    Transition,
    Trigger,
)
from reclaimer.policy.auto_idle import AutoChoice, choose_timeout
from reclaimer.policy.decide import decide
from reclaimer.policy.idle import busy_gpu_threshold
from reclaimer.policy.matching import Match, governed
from reclaimer.policy.schedule import cached_edges_between, window_open
from reclaimer.signals.ranges.gaps import gaps_of, observed, states_before
from reclaimer.signals.ranges.history import History, ServiceHistory, steps_in


class Restart(StrEnum):
    ON_REQUEST = "on-request"
    NEVER = "never"


@dataclass(frozen=True)
class Options:
    start_time: timedelta = timedelta(minutes=5)
    restart: Restart = Restart.ON_REQUEST
    settings: DecideSettings = field(default_factory=DecideSettings)
    max_sample_age: timedelta = timedelta(minutes=2)
    # ``idle.after: auto``: each idle rule's ``after`` chosen per service by
    # `policy.auto_idle.choose_timeout`, learned again every `RELEARN`.
    auto: AutoIdle | None = None


RELEARN = timedelta(days=1)


@dataclass
class Outcome:
    """What the loop did, per service, and how often it asked `decide()`."""

    tracks: dict[ServiceRef, Track]
    policies: dict[ServiceRef, Policy]
    first: int
    end: int
    decisions: int = 0
    asked: int = 0  # services asked about, summed over the decisions


def enforced(policies: Sequence[Policy]) -> list[Policy]:
    """A backtest asks what a policy *would* do: dry-run policies are replayed as enforced."""
    return [replace(p, mode=PolicyMode.ENFORCE) for p in policies]


class Loop:
    def __init__(self, policies: Sequence[Policy], services: Sequence[Service],
                 history: History, *, first: int, options: Options) -> None:
        self.policies = enforced(policies)
        self.history = history
        self.grid = history.grid
        self.first, self.options = first, options
        self.settings = options.settings
        self.matches = {m.service.ref: m for m in governed(self.policies, services)}
        self.by_policy: dict[str, list[ServiceRef]] = {}
        for ref, match in self.matches.items():
            self.by_policy.setdefault(match.policy.key, []).append(ref)
        self.tracks = {ref: Track(ref, m.service.uid, gpus=_gpus(m.service, self._one(ref)),
                                  since=0) for ref, m in self.matches.items()}
        self.ledger = Ledger()
        # Running services per namespace, kept as they stop and start (the breaker's).
        self.running = Counter(ref.namespace for ref in self.tracks)
        self.start_steps = -(-round(options.start_time.total_seconds()) // round(self.grid.step))
        self.changes: dict[str, set[int]] = {}  # per policy, where its windows change
        self.edges = self._edge_steps()
        self.candidates = self._candidates()
        self.wake: list[tuple[int, ServiceRef]] = []
        self.requests: list[tuple[int, ServiceRef]] = []
        self.open: set[ServiceRef] = set()  # a start edge unclaimed: staggered
        self.deferred: dict[ServiceRef, int] = {}  # a stop deferred, to its deadline step
        self.quiet: dict[ServiceRef, np.ndarray] = {}  # `deferred.quiet_steps`, per service
        self.carried: set[ServiceRef] = set()  # idle stops the breaker holds (`carry`)
        self.release: list[tuple[int, ServiceRef]] = []  # where each carry must end
        self.breaks: dict[ServiceRef, np.ndarray] = {}  # steps a carry cannot go through
        self.decisions = 0
        self.asked = 0  # services asked about, over all decisions
        self.choices: dict[ServiceRef, AutoChoice] = {}
        self.window_cache: dict[str, tuple[int, bool | None, int | None]] = {}
        self.views: dict[tuple[ServiceRef, bool], Match] = {}
        self.learning = options.auto is not None or any(
            p.idle is not None and p.idle.auto is not None for p in self.policies)

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

    def _one(self, ref: ServiceRef) -> ServiceHistory:
        return self.history.of(ref)

    def _edge_steps(self) -> dict[int, set[str]]:
        """Grid index at which each policy's edges fall due (starts ``startLeadTime`` early)."""
        lead = self.settings.start_lead_time
        begin = self.grid.at(self.first) - self.settings.catch_up_horizon
        end = self.grid.at(self.grid.size) + lead
        steps: dict[int, set[str]] = {}
        for key, policy in {m.policy.key: m.policy for m in self.matches.values()}.items():
            for edge in cached_edges_between(policy, begin, end):
                due = edge.at - (lead if edge.action is Action.START else timedelta(0))
                index = max(self.first, self.grid.index(due.timestamp()))
                steps.setdefault(index, set()).add(key)
                self.changes.setdefault(key, set()).add(self.grid.index(edge.at.timestamp()))
        return steps

    def _candidates(self) -> dict[ServiceRef, np.ndarray]:
        lookback = self.settings.busy_lookback
        self.masks: dict[ServiceRef, np.ndarray] = {}
        found = {}
        for ref, match in self.matches.items():
            rule = match.policy.idle
            if rule is not None:
                mask = self.masks[ref] = idle_candidates(self._one(ref), rule,
                                                         lookback=lookback)
                found[ref] = np.flatnonzero(mask)
        return found

    def _uptime_steps(self, match: Match) -> int:
        rule = match.policy.idle
        assert rule is not None
        return steps_in(max(rule.min_uptime, rule.after), self.grid)

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

    def _due(self, queue: list[tuple[int, ServiceRef]], index: int) -> set[ServiceRef]:
        due = set()
        while queue and queue[0][0] <= index:
            due.add(heapq.heappop(queue)[1])
        return due

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


def _gpus(service: Service, one: ServiceHistory) -> int:
    """The inventory's count, else the most the history saw the service request."""
    if service.gpus is not None:
        return service.gpus
    seen = one.gpus[~np.isnan(one.gpus)]
    return int(seen.max()) if seen.size else 0


def simulate(policies: Sequence[Policy], services: Sequence[Service], history: History, *,
             first: int, options: Options) -> Outcome:
    return Loop(policies, services, history, first=first, options=options).run()


def overrides(policies: Sequence[Policy], after: timedelta) -> list[Policy]:
    """The same policies with every idle rule's ``after`` replaced (``--compare``)."""
    return [replace(p, idle=replace(p.idle, after=after, auto=None)) if p.idle is not None
            else p
            for p in policies]


ByRef = Mapping[ServiceRef, Track]
