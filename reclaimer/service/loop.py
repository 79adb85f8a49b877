"""`reconcile_once(now)`: observe, decide, act, record, and say when to wake (docs/design.md §7).

The loop is the only place where the parts meet. It reads no clock: the scheduler (or
the demo, or a test) passes ``now``, read once per tick, and every part receives that
same instant. What to do comes from the pure `decide()`; doing it is the executor's job;
the loop only wires them and keeps the books (ledger side-entries, metrics, logs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from reclaimer.errors import ClusterError, PolicyInvalid
from reclaimer.executor.executor import Executor
from reclaimer.executor.outcome import ManagedStops, Outcome, OutcomeKind
from reclaimer.kube.kserve_version import KServeVersion
from reclaimer.kube.policies import ReadPolicies
from reclaimer.ledger.protocol import Ledger
from reclaimer.model import (
    DecideSettings,
    LedgerView,
    Plan,
    Policy,
    Service,
    ServiceRef,
    ServiceState,
    Transition,
)
from reclaimer.policy.context import Tick
from reclaimer.policy.decide import decide
from reclaimer.policy.matching import match_services
from reclaimer.policy.notices import PlannedStop, announced_of, planned_stops
from reclaimer.service import bookkeeping, memory, policy_set
from reclaimer.service.auto_timeouts import AutoTimeouts
from reclaimer.service.file_policies import FilePolicies
from reclaimer.service.metrics import ServiceMetrics
from reclaimer.service.observation import Observation
from reclaimer.service.observe import gather_signals
from reclaimer.service.recording import BlockedRecorder, external_changes, record_external
from reclaimer.signals.port import SignalSource

log = logging.getLogger("reclaimer.loop")
# How far back sent notices are read to know what was announced (idle notices repeat
# only once their planned instant moved by notify.before; 366 days bounds that).
NOTICE_MEMORY = timedelta(days=2)


class InventoryPort(Protocol):
    def snapshot(self) -> list[Service]: ...

    @property
    def kserve_version(self) -> KServeVersion | None: ...


class ClusterPolicies(Protocol):
    def read(self) -> ReadPolicies: ...

    def publish(self, read: ReadPolicies, *, matched: dict[str, int],
                next_edges: dict[str, datetime | None], at: datetime) -> int: ...


@dataclass(frozen=True)
class LoopSettings:
    policy_paths: tuple[Path, ...] = ()
    decide: DecideSettings = field(default_factory=DecideSettings)
    actor: str = "reclaimer"
    workers: int = 8


@dataclass(frozen=True)
class LoopParts:
    inventory: InventoryPort
    signals: SignalSource
    ledger: Ledger
    executor: Executor
    cluster_policies: ClusterPolicies | None = None
    announcer: AnnouncePort | None = None
    auto: AutoTimeouts | None = None  # ``idle.after: auto``; None: every one waits autoMax


class AnnouncePort(Protocol):
    def announce(self, stop: PlannedStop, *, at: datetime) -> bool: ...


@dataclass(frozen=True)
class TickResult:
    at: datetime
    plan: Plan
    outcomes: tuple[Outcome, ...]
    observation: Observation
    recorded_blocked: tuple[Transition, ...] = field(default=())

    @property
    def next_wake(self) -> datetime | None:
        return self.plan.next_wake


class Reconciler:
    def __init__(self, parts: LoopParts, *, settings: LoopSettings,
                 metrics: ServiceMetrics | None = None,
                 release_memory: Callable[[], object] = memory.release) -> None:
        """``release_memory`` runs after the evaluation and after the tick
        (`memory.release`: what they freed goes back to the system)."""
        self.parts = parts
        self._release_memory = release_memory
        self.settings = settings
        self.metrics = metrics or ServiceMetrics()
        self._blocked = BlockedRecorder(parts.ledger, actor=settings.actor)
        self._last_tick: datetime | None = None
        self._files = FilePolicies(settings.policy_paths)
        self._pool = ThreadPoolExecutor(max_workers=settings.workers,
                                        thread_name_prefix="reclaimer-act")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self.parts.auto is not None:
            self.parts.auto.close()

    def begin_term(self, at: datetime) -> None:
        """Leadership (re)gained at ``at``: GPU-hours count from here, not from this
        process's last tick as leader (another replica counted the time between)."""
        self._last_tick = at

    def reconcile_once(self, now: datetime) -> TickResult:
        with self.metrics.tick_seconds.time():
            observation = self.observe(now)
            self._release_memory()
            plan = decide(now, observation.policies, observation.services,
                          signals=observation.signals.by_service, ledger=observation.view,
                          settings=self._decide_settings(), matches=observation.matches,
                          auto=observation.auto)
            observation = _without_faults(observation, plan)
            closed = self.parts.executor.settle_retries([*plan.missed, *plan.transitions],
                                                        at=now)
            recorded = self._blocked.record([*plan.missed, *_blocked(plan)], at=now,
                                            may_write=self.parts.executor.guard)
            for entry in recorded:
                self.parts.executor.announce_blocked(entry, at=now)
            outcomes = closed + self.act(plan, now=now)
            self._announce(observation, now=now)
            self._publish(observation, plan, now=now)
            bookkeeping.update_metrics(self.metrics, observation, plan, outcomes,
                                       elapsed=self._elapsed(now))
            bookkeeping.log_decisions(plan, outcomes, recorded)
            self._release_memory()
        self._last_tick = now
        self.metrics.last_tick.set(now.timestamp())
        return TickResult(at=now, plan=plan, outcomes=tuple(outcomes), observation=observation,
                          recorded_blocked=tuple(recorded))

    def _decide_settings(self) -> DecideSettings:
        """``maxConcurrentStarts`` counts starts still waiting to be verified."""
        settings = self.settings.decide
        in_flight = self.parts.executor.starts_in_flight()
        room = max(settings.max_concurrent_starts - in_flight, 0)
        return replace(settings, max_concurrent_starts=room)

    def observe(self, now: datetime) -> Observation:
        parts = self.parts
        stops = parts.executor.observe_managed_stops()
        services = _managed_stops_as_stopped(parts.inventory.snapshot(), stops)
        parts.executor.detected_version = parts.inventory.kserve_version
        policies, invalid, cluster_read = self._policies()
        view, external = self._view_with_external(services, now=now, by_hand=stops.released)
        matches = match_services(policies, services)[0]
        auto = parts.auto.choose(matches, now=now) if parts.auto is not None else {}
        gathered = gather_signals(parts.signals, matches, now=now,
                                  traffic_window=self.settings.decide.busy_lookback, auto=auto)
        return Observation(services=services, policies=policies, invalid=invalid,
                           cluster_read=cluster_read, view=view, signals=gathered,
                           matches=tuple(matches), external=tuple(external), auto=auto)

    def act(self, plan: Plan, *, now: datetime) -> list[Outcome]:
        executor = self.parts.executor
        actionable = plan.actionable
        applied = executor.apply_many(actionable, at=now, pool=self._pool)
        self._blocked.forget(o.ref for o in applied if o.kind is OutcomeKind.APPLIED)
        for transition, outcome in zip(actionable, applied, strict=True):
            bookkeeping.observe_lateness(self.metrics, transition, outcome, now=now)
        if executor.guard() is not None:
            return applied
        return applied + executor.follow_up(at=now)

    def _announce(self, observation: Observation, *, now: datetime) -> None:
        """StopPlanned notices, after acting: a notice is never a reason not to act,
        and one that fails is logged and tried again next tick (its key unclaimed)."""
        announcer = self.parts.announcer
        if announcer is None or self.parts.executor.guard() is not None:
            return  # a notice is a ledger row too: none past the lease or the schema
        try:
            sent = self.parts.ledger.notices(since=now - NOTICE_MEMORY)
            announced = announced_of([(n.ref, n.trigger, n.at) for n in sent])
            tick = Tick(now=now, signals=observation.signals.by_service,
                        ledger=observation.view, settings=self.settings.decide,
                        auto=observation.auto)
            for stop in planned_stops(observation.matches, tick, announced=announced):
                announcer.announce(stop, at=now)
        except Exception:
            log.exception("stop notices not sent this tick")

    def policy_for(self, service: Service) -> Policy | None:
        """The policy governing ``service`` now (the owners' API: maxSnooze, start edges)."""
        policies = self._policies()[0]
        matches = match_services(policies, [service])[0]
        return matches[0].policy if matches else None

    def _policies(self) -> tuple[list[Policy], list[PolicyInvalid], ReadPolicies | None]:
        """Files and CRs, never sharing a key (`policy_set.merge`)."""
        files, invalid = self._files.read()
        cluster_read = None
        if self.parts.cluster_policies is not None:
            cluster_read = self.parts.cluster_policies.read()
            invalid += cluster_read.invalid
        policies, conflicts, cluster_read = policy_set.merge(files, cluster_read)
        return policies, invalid + conflicts, cluster_read

    def _view_with_external(self, services: Sequence[Service], *, now: datetime,
                            by_hand: Mapping[ServiceRef, str] | None = None,
                            ) -> tuple[LedgerView, list[Transition]]:
        ledger, executor = self.parts.ledger, self.parts.executor
        view = ledger.view(now)
        # A pending row another process may still be writing (a killed leader's, left
        # by recovery until its lease expires) is its change, not somebody else's.
        settling = executor.settling() | {record.transition.ref for record in ledger.pending()}
        changes = external_changes(services, view, now=now, settling=settling,
                                   by_hand=by_hand or {})
        if changes:
            record_external(ledger, changes, view=view, may_write=executor.guard)
            view = ledger.view(now)
        retried = executor.retried_edge_keys()
        if retried:
            view = replace(view, applied_edge_keys=view.applied_edge_keys - retried)
        return view, changes

    def _publish(self, observation: Observation, plan: Plan, *, now: datetime) -> None:
        read, crs = observation.cluster_read, self.parts.cluster_policies
        if read is None or crs is None:
            return
        matched, next_edges = bookkeeping.policy_status(observation, now=now)
        try:
            crs.publish(read, matched=matched, next_edges=next_edges, at=now)
        except ClusterError as exc:
            log.warning("policy status not written, retried next tick: %s", exc)

    def _elapsed(self, now: datetime) -> timedelta:
        if self._last_tick is None or now <= self._last_tick:
            return timedelta(0)
        return now - self._last_tick


def _without_faults(observation: Observation, plan: Plan) -> Observation:
    """Policies whose decision raised are reported as invalid and left out of status."""
    if not plan.faults:
        return observation
    errors = policy_set.fault_errors(plan.faults)
    policies, cluster_read = policy_set.without_faulty(observation.policies,
                                                       observation.cluster_read, errors)
    faulty = {f.policy for f in plan.faults}
    return replace(observation, policies=policies, cluster_read=cluster_read,
                   invalid=[*observation.invalid, *errors],
                   matches=tuple(m for m in observation.matches if m.policy.key not in faulty))


def _managed_stops_as_stopped(services: list[Service], stops: ManagedStops) -> list[Service]:
    """A managed stop in force whose own state is on the cluster is stopped, even while
    KServe < 0.16 has dropped its Stopped condition (the follow-up writes it again):
    never an external start, and a start edge really starts it. One released this tick
    (started by hand; its condition just removed, which the snapshot may not show yet)
    is running: the external start is booked now."""
    return [replace(s, state=ServiceState.RUNNING) if s.ref in stops.released
            else replace(s, state=ServiceState.STOPPED)
            if s.ref in stops.in_place and s.state is ServiceState.RUNNING else s
            for s in services]


def _blocked(plan: Plan) -> list[Transition]:
    return [t for t in plan.transitions if not t.actionable]
