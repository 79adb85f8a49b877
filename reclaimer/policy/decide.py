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

from collections.abc import Mapping, Sequence
from datetime import datetime

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
from reclaimer.policy.idle_stop import idle_transition
from reclaimer.policy.matching import Match, duplicate_alerts, governed
from reclaimer.policy.schedule import window_open
from reclaimer.policy.wake import next_wake


def decide(now: datetime, policies: Sequence[Policy], services: Sequence[Service], *,  # noqa: PLR0913 - matches are optional, from the loop
           signals: Mapping[ServiceRef, Signals], ledger: LedgerView,
           settings: DecideSettings, matches: Sequence[Match] | None = None) -> Plan:
    """``matches``: ``governed(policies, services)`` when the caller already has it (the
    loop matched them to gather signals); computed here when None."""
    if matches is None:
        matches = governed(policies, services)
    conflicts = [m.conflict for m in matches if m.conflict is not None]
    alerts = duplicate_alerts(services)
    tick = Tick(now=now, signals=signals, ledger=ledger, settings=settings,
                windows=_windows(matches, now))
    edges = _edges_by_policy(matches, tick)
    transitions: list[Transition] = []
    missed: list[Transition] = []
    for match in matches:
        current, late = _for_service(match, edges[match.policy.key], tick)
        missed.extend(late)
        if current is not None:
            transitions.append(current)
    transitions, breaker_alert = _limits(transitions, matches, settings)
    if breaker_alert is not None:
        alerts.append(breaker_alert)
    wake = next_wake(matches, tick, extra=[*_deadlines(transitions), *_retries(transitions, tick)])
    return Plan(transitions=tuple(transitions), missed=tuple(missed), conflicts=tuple(conflicts),
                alerts=tuple(alerts), next_wake=wake, breaker_open=breaker_alert is not None)


def _edges_by_policy(matches: Sequence[Match], tick: Tick) -> dict[str, DueEdges]:
    """Each policy's due edges from the catch-up horizon to the furthest lead, once."""
    start = tick.now - tick.settings.catch_up_horizon
    end = tick.now + tick.settings.start_lead_time
    policies = {m.policy.key: m.policy for m in matches}
    return {key: DueEdges.of(cached_edges_between(policy, start, end), tick)
            for key, policy in policies.items()}


def _windows(matches: Sequence[Match], now: datetime) -> dict[str, bool | None]:
    """Window state per policy whose idle rule depends on it (``during: offHours``)."""
    policies = {m.policy.key: m.policy for m in matches
                if m.policy.idle is not None and m.policy.idle.during is IdleDuring.OFF_HOURS}
    return {key: window_open(policy, now) for key, policy in policies.items()}


def _for_service(match: Match, edges: DueEdges, tick: Tick
                 ) -> tuple[Transition | None, list[Transition]]:
    edge, older = split_edges(match, edges, tick)
    missed = [missed_transition(match, e, latest=edge, tick=tick) for e in older if edge]
    current = decide_edge(match, edge, tick) if edge is not None else None
    if current is None:
        current = idle_transition(match, tick)
    if current is None:
        return None, missed
    return safety.hold_or_dry_run(current, match.policy, ledger=tick.ledger,
                                  now=tick.now), missed


def _limits(transitions: list[Transition], matches: Sequence[Match], settings: DecideSettings
            ) -> tuple[list[Transition], str | None]:
    running = sum(1 for m in matches if m.service.state is ServiceState.RUNNING)
    limited, alert = safety.breaker(transitions, running=running, settings=settings)
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
