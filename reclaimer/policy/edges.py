"""Schedule edges as events (docs/design.md §3.2): which edge applies to a service this tick.

For each governed service the due edges are those of its policy that

- happened at or after the service's creation (an edge applies only to ISVCs that
  existed at it),
- lie within ``settings.catch_up_horizon`` of ``now`` (the caller asks the schedule
  only for that span), and
- are due: a stop at its instant, a start ``settings.start_lead_time`` before it. The
  edge key always names the edge's own instant.

The latest due edge not in the ledger is decided now. Edges between the latest applied
one and it are reported as missed (claimed, never acted on), so a restart catches up
with the one edge that matters. A service with no applied edge within the horizon is
new to reclaimer (first install, new policy, new ISVC): its older edges were never
reclaimer's to miss, so none is reported, and a first tick over a large fleet does not
write a week of history.

The chosen edge then becomes exactly one of:

- nothing yet, when the service's state is unknown, or it is still stopping before a
  start: the edge stays unapplied and is decided again next tick;
- superseded (claimed, not acted): the stop state changed after the edge, by anyone,
  with the opposite action (``ledger.last_transitions``: reclaimer's rows, and others'
  changes dated when reclaimer observed them). Same-action ledger entries do not
  supersede, so a deferred stop recorded last tick never cancels its own edge;
- already satisfied (claimed, not acted, ``blocked="already stopped"``/``"already
  running"``): the ledger still claims the key, so the edge is recorded once;
- an action: a start, or a stop through `stop_for_edge` (busyAtStop, below).

An edge acted on more than ``settings.catch_up_after`` after it was due gets trigger
``catch-up`` and reason ``CaughtUp``, except a stop whose lateness the defer window
explains (a deferred stop that finally goes through is still a schedule stop). A
catch-up start is applied only to a service whose current stop reclaimer made
(``ledger.last_transitions``); one stopped by anyone else is superseded (claimed, not
acted), so a model a person parked is never woken by downtime or new governance.

**A stop while requests may be flowing** (docs/design.md §3.4, ``busyAtStop``): ``force``
stops at the edge regardless. ``defer`` asks `judge_busy_at_stop` each tick: quiet means
stop now; busy or unknown traffic (unknown is never quiet) means a deferred entry, not
claimed, so the same edge is decided again next tick. Once ``maxDefer`` has passed since
the deferral began the stop is forced, with reason ``ForcedAfterMaxDefer`` and the
traffic evidence that would have deferred it. The deferral clock starts at the first
tick that could act on the edge for this service (issue 13 case 3): the first
``DeferredBusy`` row of the edge (``ledger.deferred_since``), or this tick when there is
none yet; never the edge instant itself. So after downtime, a new policy, a widened
selector or an added label, a busy service gets its full ``maxDefer``, not an instant
force-stop.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from reclaimer.model import Action, BusyAtStop, Edge, Reason, ServiceState, Transition, Trigger
from reclaimer.policy.context import Proposal, Tick, block, local_time, zone_seen
from reclaimer.policy.idle import Verdict, judge_busy_at_stop
from reclaimer.policy.matching import Match


def due_at(edge: Edge, tick: Tick) -> datetime:
    """When an edge is acted on: starts may lead to pre-warm, stops never do."""
    if edge.action is Action.START:
        return edge.at - tick.settings.start_lead_time
    return edge.at


@dataclass(frozen=True)
class DueEdges:
    """One policy's edges due at ``now``, in time order, with their keys half-built.

    Everything here is the same for every service of the policy, so it is worked out
    once per policy and tick; a service adds only its creation time and uid.
    """

    edges: tuple[Edge, ...]
    instants: tuple[datetime, ...]
    key_parts: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, edges: Sequence[Edge], tick: Tick) -> DueEdges:
        due = tuple(e for e in edges if due_at(e, tick) <= tick.now)
        return cls(edges=due, instants=tuple(e.at for e in due),
                   key_parts=tuple((f"{e.policy}|", f"|{e.at.isoformat()}|{e.action.value}")
                                   for e in due))

    def key(self, index: int, uid: str) -> str:
        """``edges[index].key_for(uid)``, without formatting the instant again."""
        head, tail = self.key_parts[index]
        return f"{head}{uid}{tail}"


def split_edges(match: Match, due: DueEdges, tick: Tick) -> tuple[Edge | None, list[Edge]]:
    """The edge to decide now, and the missed ones before it (both unapplied).

    Only edges at or after the service's creation count; scanning back from the latest,
    the first applied edge ends the search (edges are in time order).
    """
    first = bisect_left(due.instants, match.service.created_at)
    applied, uid, last = tick.ledger.applied_edge_keys, match.service.uid, len(due.edges) - 1
    if first > last or due.key(last, uid) in applied:
        return None, []
    for index in range(last - 1, first - 1, -1):
        if due.key(index, uid) in applied:
            return due.edges[last], list(due.edges[index + 1:last])
    return due.edges[last], []


def edge_transition(match: Match, edge: Edge, tick: Tick) -> Transition:
    """The plain transition an edge asks for, before any rule blocks or changes it."""
    late = tick.now - due_at(edge, tick)
    if late > tick.settings.catch_up_after and not _defer_explains(match, edge, tick):
        trigger, reason = Trigger.CATCH_UP, Reason.CAUGHT_UP
    elif edge.action is Action.STOP:
        trigger, reason = Trigger.SCHEDULE, Reason.SCHEDULE_STOP
    else:
        trigger, reason = Trigger.SCHEDULE, Reason.SCHEDULE_START
    evidence = {"edgeAt": edge.at.isoformat(), "dueAt": due_at(edge, tick).isoformat(),
                "lateSeconds": late.total_seconds(), **zone_seen(match.policy)}
    service = match.service
    return Transition(ref=service.ref, uid=service.uid, action=edge.action, trigger=trigger,
                      reason=reason, policy=match.policy.key, at=tick.now,
                      edge_key=edge.key_for(service.uid), evidence=evidence, gpus=service.gpus)


def _defer_explains(match: Match, edge: Edge, tick: Tick) -> bool:
    """A stop deferred from its due time is still a schedule stop; one whose deferral
    itself began late (after downtime, new governance) is a catch-up."""
    policy = match.policy
    if edge.action is not Action.STOP or policy.busy_at_stop is not BusyAtStop.DEFER:
        return False
    began = tick.ledger.deferred_since.get(edge.key_for(match.service.uid))
    slack = tick.settings.catch_up_after
    return (began is not None and began - edge.at <= slack
            and tick.now - began <= policy.max_defer + slack)


_OURS = (Trigger.SCHEDULE, Trigger.IDLE, Trigger.CATCH_UP)


def _not_ours(match: Match, plain: Transition, tick: Tick) -> str | None:
    """Why a catch-up start must not wake this service: its stop was not reclaimer's.

    A late start edge (downtime, a new policy, a widened selector) applies only to a
    service whose current stop reclaimer made; one a person parked (by hand, with
    ``reclaimer stop``, or before reclaimer governed it) stays stopped."""
    if plain.action is not Action.START or plain.trigger is not Trigger.CATCH_UP:
        return None
    last = tick.ledger.last_transitions.get(match.service.ref)
    if (last is not None and last.action is Action.STOP and last.trigger in _OURS
            and last.uid in ("", match.service.uid)):
        return None
    who = "no record of who stopped it" if last is None or last.action is not Action.STOP \
        else f"its stop was {last.trigger.value}, at {local_time(last.at, match.policy)}"
    return f"not woken by a catch-up start: reclaimer did not make its current stop ({who})"


def missed_transition(match: Match, edge: Edge, *, latest: Edge, tick: Tick) -> Transition:
    why = f"missed: the later edge at {local_time(latest.at, match.policy)} applies instead"
    return block(edge_transition(match, edge, tick), Reason.MISSED, why, claim=True)


def _superseded_by(match: Match, edge: Edge, tick: Tick) -> str | None:
    """A later change of the stop state, from the ledger only: reclaimer's own rows and
    others' changes dated when reclaimer observed them (never ``managedFields.time``).
    A change observed after an edge that passed while reclaimer was not running has an
    unknown order against it, and so wins (DESIGN §3.2)."""
    service = match.service
    last = tick.ledger.last_transitions.get(service.ref)
    if (last is None or last.at <= edge.at or last.action is edge.action
            or last.uid not in ("", service.uid)):
        return None
    if last.trigger is Trigger.EXTERNAL:
        return (f"superseded: stop state changed by someone else ({last.action.value}), "
                f"observed at {local_time(last.at, match.policy)}")
    return (f"superseded: reclaimer's {last.trigger.value} {last.action.value} "
            f"at {local_time(last.at, match.policy)}")


_SATISFIED = {
    Action.STOP: {ServiceState.STOPPED: "already stopped",
                  ServiceState.STOPPING: "already stopping"},
    Action.START: {ServiceState.RUNNING: "already running"},
}


def decide_edge(match: Match, edge: Edge, tick: Tick) -> Proposal | None:
    """What the chosen edge means for this service now (see the module docstring)."""
    state = match.service.state
    if state is ServiceState.UNKNOWN or (edge.action is Action.START
                                         and state is ServiceState.STOPPING):
        return None
    plain = Proposal(edge_transition(match, edge, tick), due_at=due_at(edge, tick))
    superseded = _superseded_by(match, edge, tick)
    if superseded is not None:
        return plain.blocked(Reason.SUPERSEDED, superseded, claim=True)
    satisfied = _SATISFIED[edge.action].get(state)
    if satisfied is not None:
        return plain.blocked(plain.transition.reason, satisfied, claim=True)
    parked = _not_ours(match, plain.transition, tick)
    if parked is not None:
        return plain.blocked(Reason.SUPERSEDED, parked, claim=True)
    if edge.action is Action.STOP:
        return stop_for_edge(plain, match, edge, tick)
    return plain


# --- busyAtStop: a schedule stop while requests may be flowing ---------------------

def deferral_start(match: Match, edge: Edge, tick: Tick) -> datetime:
    """The first tick that could act on ``edge`` for this service (see above)."""
    first = tick.ledger.deferred_since.get(edge.key_for(match.service.uid), tick.now)
    return max(first, edge.at)


def stop_for_edge(plain: Proposal, match: Match, edge: Edge, tick: Tick) -> Proposal:
    policy = match.policy
    if policy.busy_at_stop is BusyAtStop.FORCE:
        return _seen(plain, busyAtStop="force")
    traffic = judge_busy_at_stop(policy, tick.signals.get(match.service.ref),
                                 service=match.service, lookback=tick.settings.busy_lookback,
                                 now=tick.now, max_age=tick.settings.signals_max_age)
    seen = {"busyAtStop": "defer", "traffic": traffic.verdict.value,
            **{f"traffic.{k}": v for k, v in traffic.evidence.items()}}
    if traffic.verdict is Verdict.IDLE:
        return _seen(plain, **seen)
    deadline = deferral_start(match, edge, tick) + policy.max_defer
    deferred = replace(_seen(plain, **seen, deferUntil=deadline.isoformat()),
                       defer_until=deadline)
    if tick.now >= deadline:
        forced = replace(deferred.transition, reason=Reason.FORCED_AFTER_MAX_DEFER)
        return replace(deferred, transition=forced)
    why = f"deferred: {traffic.reason}; forced at {local_time(deadline, policy)}"
    return deferred.blocked(Reason.DEFERRED_BUSY, why, claim=False)


def _seen(proposal: Proposal, **seen: object) -> Proposal:
    """The proposal with more of what was seen recorded in its transition's evidence."""
    transition = proposal.transition
    return replace(proposal, transition=replace(
        transition, evidence={**transition.evidence, **seen}))
