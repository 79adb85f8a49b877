"""`decide()`: the whole of docs/design.md §3 as one pure function of its inputs.

Given ``now`` (read once by the caller), the valid policies, the observed services,
their signals, a read-only ledger view and the safety settings, it returns a `Plan`.
It reads no clock and does no I/O, so the same inputs always give the same plan and
every rule is testable with literal timestamps.

Per governed service (see `matching` for priority and conflicts) at most one
transition is planned: the latest unapplied schedule edge (`edges`) or,
when no edge is in play, an idle stop (`idle`). Holds and dry runs block
actions but not decisions, then the plan-wide limits of `safety` apply.

How the ledger reads a plan:

- ``plan.transitions``: one entry per service at most. An entry with an
  ``edge_key`` claims that edge whether actionable or blocked (held, dry run,
  superseded, already satisfied); a blocked entry without ``edge_key`` (deferred,
  staggered) is retried next tick and must not claim anything (its key is in
  ``evidence["edgeKey"]``).
- ``plan.missed``: older unapplied edges, reason ``Missed``, claimed and never acted.
- ``plan.conflicts``/``plan.alerts``/``plan.breaker_open``: for people and metrics.
- ``plan.next_wake``: see below.

``ledger.last_transitions`` must hold transitions that changed the cluster (applied
or verified), not blocked entries.

A hold or a dry run over an edge consumes the edge: when the hold ends, the service
stays as it is until the next edge, exactly as after a manual change. Idle stops are
not edges, so a held or dry-run idle stop is proposed again every tick while the
service stays idle.

**The next wake** (``plan.next_wake``, `next_wake`), so edges fire on time. The service
ticks every ``tick`` anyway; this instant lets the scheduler add a one-shot run exactly
when something is due between ticks: the next schedule edge of every policy in use (a
start ``startLeadTime`` early); the end of a deferral (``edge.at + maxDefer``), when the
stop is forced; the expiry of an active hold; the end of ``minUptime`` for a running
service with an idle rule; the earliest instant a busy service could become idle (last
request + ``after``). Only instants strictly after ``now`` count: it is never in the past.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial

from reclaimer.model import (
    DecideSettings,
    Edge,
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
from reclaimer.policy.auto_idle import AutoChoice
from reclaimer.policy.context import Proposal, Tick
from reclaimer.policy.edges import (
    DueEdges,
    decide_edge,
    due_at,
    missed_transition,
    split_edges,
)
from reclaimer.policy.graphs import Planned, graph_starts, graph_stop, is_graph
from reclaimer.policy.idle import idle_transition, started_at
from reclaimer.policy.matching import Match, duplicate_alerts, governed
from reclaimer.policy.safety import Faults
from reclaimer.policy.schedule import cached_edges_between, next_edge, window_open

# One service's decision: its proposal (if any) and the older edges it missed.
Decided = tuple[Proposal | None, list[Transition]]


def decide(now: datetime, policies: Sequence[Policy], services: Sequence[Service], *,  # noqa: PLR0913 - matches are optional, from the loop
           signals: Mapping[ServiceRef, Signals], ledger: LedgerView,
           settings: DecideSettings, matches: Sequence[Match] | None = None,
           windows: Mapping[str, bool | None] | None = None,
           bystanders: Mapping[str, int] | None = None,
           auto: Mapping[ServiceRef, AutoChoice] | None = None) -> Plan:
    """``matches``: ``governed(policies, services)`` when the caller already has it (the
    loop matched them to gather signals); computed here when None. ``windows``: each
    ``during: offHours`` policy's `window_open` at ``now``, when the caller knows it
    (the backtest keeps it between edges); a policy missing from it is computed here.
    ``bystanders``: running governed services per namespace that are not in
    ``services`` because they have nothing to decide (the backtest asks only about the
    others); the mass-idle breaker counts them as the running services they are.
    ``auto``: each ``idle.after: auto`` service's learned timeout (a service missing
    from it waits ``autoMax``: `auto_idle.chosen`).

    Each policy's work runs through `Faults`: a policy that raises is left out of the
    plan (``plan.faults``) and every other policy still acts."""
    if matches is None:
        matches = governed(policies, services)
    faults = Faults()
    tick = Tick(now=now, signals=signals, ledger=ledger, settings=settings,
                windows=_windows(matches, now, faults, known=windows or {}),
                states={s.ref: s.state for s in services}, auto=auto or {})
    proposals, missed = _per_service(matches, _edges_by_policy(matches, tick, faults), tick,
                                     faults)
    proposals = [*_graph_starts(matches, proposals, tick, faults), *proposals]
    wakes = _policy_wakes(matches, tick, faults)
    matches = [m for m in matches if m.policy.key not in faults]
    proposals = [p for p in proposals if p.transition.policy not in faults]
    proposals, breaker_alert = _limits(proposals, matches, tick, bystanders=bystanders or {})
    alerts = [*duplicate_alerts(services), *([breaker_alert] if breaker_alert else [])]
    extra = [*_deadlines(proposals), *_retries(proposals, tick)]
    wake = min([*wakes, *(w for w in extra if w > now)], default=None)
    return Plan(transitions=tuple(p.transition for p in proposals),
                missed=tuple(t for t in missed if t.policy not in faults),
                conflicts=tuple(m.conflict for m in matches if m.conflict is not None),
                alerts=tuple(alerts), next_wake=wake, breaker_open=breaker_alert is not None,
                faults=faults.all())


def _per_service(matches: Sequence[Match], edges: Mapping[str, DueEdges], tick: Tick,
                 faults: Faults) -> tuple[list[Proposal], list[Transition]]:
    """Each service's proposal (at most one) and the edges it missed, policy by policy."""
    proposals: list[Proposal] = []
    missed: list[Transition] = []
    nothing: Decided = (None, [])
    for match in matches:
        work = partial(_for_service, match, edges.get(match.policy.key), tick)
        current, late = faults.run(match.policy, work, nothing)
        missed.extend(late)
        if current is not None:
            proposals.append(current)
    return proposals, missed


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


def _windows(matches: Sequence[Match], now: datetime, faults: Faults, *,
             known: Mapping[str, bool | None]) -> dict[str, bool | None]:
    """Window state per policy whose idle rule depends on it (``during: offHours``)."""
    policies = {m.policy.key: m.policy for m in matches
                if m.policy.idle is not None and m.policy.idle.during is IdleDuring.OFF_HOURS}
    return {key: known[key] if key in known
            else faults.run(policy, partial(window_open, policy, now), None)
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
        current = idle_transition(match, tick) or graph_stop(match, tick, tick.states)
    if current is None:
        return None, missed
    return safety.hold_or_dry_run(current, match.policy, ledger=tick.ledger,
                                  now=tick.now), missed


def _graph_starts(matches: Sequence[Match], proposals: Sequence[Proposal], tick: Tick,
                  faults: Faults) -> list[Proposal]:
    """Graphs stopped with their members start before them (`graphs.py`), first in the
    plan; each policy's fault stays its own."""
    found: list[Proposal] = []
    none: list[Proposal] = []
    graphs = [m for m in matches if is_graph(m)]
    planned = Planned.of(proposals) if graphs else Planned(frozenset(), frozenset())
    for match in graphs:
        work = partial(graph_starts, [match], planned, tick, tick.states)
        for proposal in faults.run(match.policy, work, none):
            found.append(safety.hold_or_dry_run(proposal, match.policy, ledger=tick.ledger,
                                                now=tick.now))
    return found


def _limits(proposals: list[Proposal], matches: Sequence[Match], tick: Tick, *,
            bystanders: Mapping[str, int]) -> tuple[list[Proposal], str | None]:
    now, ledger, settings = tick.now, tick.ledger, tick.settings
    running = Counter(m.service.ref.namespace for m in matches
                      if m.service.state is ServiceState.RUNNING)
    running.update(bystanders)
    limited, alert = safety.breaker(proposals, running=running, now=now,
                                    recent=ledger.recent_idle_stops, settings=settings)
    limited = safety.max_stops(limited, settings)
    return safety.stagger_starts(limited, settings), alert


def _retries(proposals: Sequence[Proposal], tick: Tick) -> list[datetime]:
    """Staggered starts come back after ``stagger_retry``, not at the next tick."""
    if any(p.transition.reason is Reason.STAGGERED for p in proposals):
        return [tick.now + tick.settings.stagger_retry]
    return []


def _deadlines(proposals: Sequence[Proposal]) -> list[datetime]:
    """When each deferred stop will be forced (``edge.at + maxDefer``)."""
    return [p.defer_until for p in proposals
            if p.transition.reason is Reason.DEFERRED_BUSY and p.defer_until is not None]


# --- the next wake ----------------------------------------------------------------

# A start lead longer than the gap between edges would loop for ever; nothing real
# comes close to this many edges inside one lead time.
_MAX_SKIPPED_EDGES = 1000
# Weekly schedules have an edge within this; it is also the span the memo keeps ahead.
_LOOK_AHEAD = timedelta(days=8)


def next_due_edge(policy: Policy, tick: Tick) -> Edge | None:
    """The first edge of ``policy`` that is due after ``now`` (lead time applied).

    Looked up in the memoised days ahead first (`cached_edges_between`); a schedule with no such
    edge that soon (a monthly cron) is searched edge by edge.
    """
    ahead = cached_edges_between(policy, tick.now, tick.now + tick.settings.start_lead_time
                                 + _LOOK_AHEAD)
    for edge in ahead[:_MAX_SKIPPED_EDGES]:
        if due_at(edge, tick) > tick.now:
            return edge
    if len(ahead) >= _MAX_SKIPPED_EDGES:
        return None
    return _search(policy, tick)


def _search(policy: Policy, tick: Tick) -> Edge | None:
    edge = next_edge(policy, tick.now)
    for _ in range(_MAX_SKIPPED_EDGES):
        if edge is None or due_at(edge, tick) > tick.now:
            return edge
        edge = next_edge(policy, edge.at)
    return None


def _service_wakes(match: Match, tick: Tick) -> Iterable[datetime]:
    service = match.service
    hold = tick.ledger.active_hold(service.ref, tick.now)
    if hold is not None:
        yield hold.until
    rule = tick.idle_rule(match)
    if rule is None or service.state is not ServiceState.RUNNING:
        return
    yield started_at(service, tick) + rule.min_uptime
    signals = tick.signals.get(service.ref)
    if signals is not None and signals.seconds_since_last_request is not None:
        since = timedelta(seconds=signals.seconds_since_last_request)
        yield signals.at - since + rule.after


def next_wake(matches: Sequence[Match], tick: Tick, *, extra: Iterable[datetime] = ()
              ) -> datetime | None:
    """The earliest instant after ``now`` among all of the above and ``extra``."""
    candidates = list(extra)
    policies = {m.policy.key: m.policy for m in matches}
    for key in sorted(policies):
        edge = next_due_edge(policies[key], tick)
        if edge is not None:
            candidates.append(due_at(edge, tick))
    for match in matches:
        candidates.extend(_service_wakes(match, tick))
    return min((c for c in candidates if c > tick.now), default=None)
