"""`decide()`: the whole of docs/design.md §3 as one pure function of its inputs.

Given ``now`` (read once by the caller), the valid policies, the observed services,
their signals, a read-only ledger view and the safety settings, it returns a `Plan`.
It reads no clock and does no I/O, so the same inputs always give the same plan and
every rule is testable with literal timestamps.

Per governed service (see `matching` for priority and conflicts) at most one
transition is planned: the latest unapplied schedule edge (`edges`, `stopping`) or,
when no edge is in play, an idle stop (`idle_stop`). Holds and dry runs block
actions but not decisions, then the plan-wide limits of `safety` apply.

How the ledger reads a plan:

- ``plan.transitions``: one entry per service at most. An entry with an
  ``edge_key`` claims that edge whether actionable or blocked (held, dry run,
  superseded, already satisfied); a blocked entry without ``edge_key`` (deferred,
  staggered) is retried next tick and must not claim anything (its key is in
  ``evidence["edgeKey"]``).
- ``plan.missed``: older unapplied edges, reason ``Missed``, claimed and never acted.
- ``plan.conflicts``/``plan.alerts``/``plan.breaker_open``: for people and metrics.
- ``plan.next_wake``: see `wake`.

``ledger.last_transitions`` must hold transitions that changed the cluster (applied
or verified), not blocked entries.

A hold or a dry run over an edge consumes the edge: when the hold ends, the service
stays as it is until the next edge, exactly as after a manual change. Idle stops are
not edges, so a held or dry-run idle stop is proposed again every tick while the
service stays idle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial

from reclaimer.model import (
    DecideSettings,
    IdleDuring,
    LedgerView,
    Plan,
    Policy,
    Reason,
    Service,
    ServiceRef,
    ServiceState,
    Signals,
    Transition,
)
from reclaimer.policy import safety
from reclaimer.policy.context import Tick
from reclaimer.policy.edge_cache import cached_edges_between
from reclaimer.policy.edges import DueEdges, decide_edge, missed_transition, split_edges
from reclaimer.policy.faults import Faults
from reclaimer.policy.idle_stop import idle_transition
from reclaimer.policy.matching import Match, duplicate_alerts, governed
from reclaimer.policy.schedule import window_open
from reclaimer.policy.wake import next_wake

# One service's decision: its transition (if any) and the older edges it missed.
Decided = tuple[Transition | None, list[Transition]]


def decide(now: datetime, policies: Sequence[Policy], services: Sequence[Service], *,  # noqa: PLR0913 - matches are optional, from the loop
           signals: Mapping[ServiceRef, Signals], ledger: LedgerView,
           settings: DecideSettings, matches: Sequence[Match] | None = None) -> Plan:
    """``matches``: ``governed(policies, services)`` when the caller already has it (the
    loop matched them to gather signals); computed here when None.

    Each policy's work runs through `Faults`: a policy that raises is left out of the
    plan (``plan.faults``) and every other policy still acts."""
    if matches is None:
        matches = governed(policies, services)
    faults = Faults()
    tick = Tick(now=now, signals=signals, ledger=ledger, settings=settings,
                windows=_windows(matches, now, faults))
    edges = _edges_by_policy(matches, tick, faults)
    transitions: list[Transition] = []
    missed: list[Transition] = []
    nothing: Decided = (None, [])
    for match in matches:
        work = partial(_for_service, match, edges.get(match.policy.key), tick)
        current, late = faults.run(match.policy, work, nothing)
        missed.extend(late)
        if current is not None:
            transitions.append(current)
    wakes = _policy_wakes(matches, tick, faults)
    matches = [m for m in matches if m.policy.key not in faults]
    transitions = [t for t in transitions if t.policy not in faults]
    transitions, breaker_alert = _limits(transitions, matches, tick)
    alerts = [*duplicate_alerts(services), *([breaker_alert] if breaker_alert else [])]
    extra = [*_deadlines(transitions), *_retries(transitions, tick)]
    wake = min([*wakes, *(w for w in extra if w > now)], default=None)
    return Plan(transitions=tuple(transitions),
                missed=tuple(t for t in missed if t.policy not in faults),
                conflicts=tuple(m.conflict for m in matches if m.conflict is not None),
                alerts=tuple(alerts), next_wake=wake, breaker_open=breaker_alert is not None,
                faults=faults.all())


def _edges_by_policy(matches: Sequence[Match], tick: Tick, faults: Faults
                     ) -> dict[str, DueEdges]:
    """Each policy's due edges from the catch-up horizon to the furthest lead, once."""
    start = tick.now - tick.settings.catch_up_horizon
    end = tick.now + tick.settings.start_lead_time
    edges: dict[str, DueEdges] = {}
    for key, policy in {m.policy.key: m.policy for m in matches}.items():
        work = partial(_due_edges, policy, start, end, tick)
        found = faults.run(policy, work, None)
        if found is not None:
            edges[key] = found
    return edges


def _due_edges(policy: Policy, start: datetime, end: datetime, tick: Tick) -> DueEdges:
    return DueEdges.of(cached_edges_between(policy, start, end), tick)


def _windows(matches: Sequence[Match], now: datetime, faults: Faults
             ) -> dict[str, bool | None]:
    """Window state per policy whose idle rule depends on it (``during: offHours``)."""
    policies = {m.policy.key: m.policy for m in matches
                if m.policy.idle is not None and m.policy.idle.during is IdleDuring.OFF_HOURS}
    return {key: faults.run(policy, partial(window_open, policy, now), None)
            for key, policy in policies.items()}


def _policy_wakes(matches: Sequence[Match], tick: Tick, faults: Faults) -> list[datetime]:
    """`next_wake` per policy, so one policy's fault there is its own too."""
    groups: dict[str, list[Match]] = {}
    for match in matches:
        if match.policy.key not in faults:
            groups.setdefault(match.policy.key, []).append(match)
    wakes = [faults.run(group[0].policy, partial(next_wake, group, tick), None)
             for group in groups.values()]
    return [w for w in wakes if w is not None]


def _for_service(match: Match, edges: DueEdges | None, tick: Tick) -> Decided:
    if edges is None:  # the policy's edges failed: it is faulty, nothing to decide
        return None, []
    edge, older = split_edges(match, edges, tick)
    missed = [missed_transition(match, e, latest=edge, tick=tick) for e in older if edge]
    current = decide_edge(match, edge, tick) if edge is not None else None
    if current is None:
        current = idle_transition(match, tick)
    if current is None:
        return None, missed
    return safety.hold_or_dry_run(current, match.policy, ledger=tick.ledger,
                                  now=tick.now), missed


def _limits(transitions: list[Transition], matches: Sequence[Match], tick: Tick
            ) -> tuple[list[Transition], str | None]:
    now, ledger, settings = tick.now, tick.ledger, tick.settings
    running = Counter(m.service.ref.namespace for m in matches
                      if m.service.state is ServiceState.RUNNING)
    limited, alert = safety.breaker(transitions, running=running, now=now,
                                    recent=ledger.recent_idle_stops, settings=settings)
    limited = safety.max_stops(limited, settings)
    return safety.stagger_starts(limited, settings), alert


def _retries(transitions: Sequence[Transition], tick: Tick) -> list[datetime]:
    """Staggered starts come back after ``stagger_retry``, not at the next tick."""
    if any(t.reason is Reason.STAGGERED for t in transitions):
        return [tick.now + tick.settings.stagger_retry]
    return []


def _deadlines(transitions: Sequence[Transition]) -> list[datetime]:
    """When each deferred stop will be forced (``edge.at + maxDefer``, in its evidence)."""
    return [datetime.fromisoformat(str(t.evidence["deferUntil"])) for t in transitions
            if t.reason is Reason.DEFERRED_BUSY and "deferUntil" in t.evidence]
