"""An InferenceGraph under an idle rule follows its members (issue 15 item 2). Pure.

A graph's router serves no model and exports no request metric (`signals.kinds`), so
no signal says it is idle; but a graph whose member InferenceServices are all stopped
routes to nothing. The rule, for a graph governed by a policy with an ``idle`` rule
(its ``selector.kinds`` names InferenceGraph):

- **stop with the members**: the graph is running, the idle rule allows a stop now
  (``during``, ``minUptime`` and ``after`` as for any service, `idle.idle_allowed_now`),
  its members are known (every step names a ``serviceName``; a ``serviceUrl`` step leaves
  them unknown) and every one of them is observed stopped, by anyone: the graph is
  stopped, trigger ``idle``, reason ``MembersStopped``. It follows a tick after its last
  member, never before.
- **start before the members**: a graph reclaimer stopped this way (its last transition
  a stop with trigger ``idle``: no other rule idle-stops a graph) is started, reason
  ``MemberStarting``, in the tick in which the first member has a start planned or is
  seen running again (a person's start), and the start is placed first in the plan. A
  graph stopped by a person or a schedule is left to them.

Holds and dry runs apply as for any transition; neither rule ever touches a member.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reclaimer.model import (
    Action,
    Reason,
    ServiceKind,
    ServiceRef,
    ServiceState,
    Transition,
    Trigger,
)
from reclaimer.policy.context import Proposal, Tick, zone_seen
from reclaimer.policy.idle import idle_allowed_now
from reclaimer.policy.matching import Match


def _members(match: Match) -> list[ServiceRef]:
    service = match.service
    if service.kind is not ServiceKind.INFERENCE_GRAPH or not service.members:
        return []
    return [ServiceRef(service.ref.namespace, name) for name in service.members]


def _transition(match: Match, tick: Tick, action: Action, reason: Reason,
                evidence: Mapping[str, object]) -> Transition:
    service = match.service
    return Transition(ref=service.ref, uid=service.uid, action=action, trigger=Trigger.IDLE,
                      reason=reason, policy=match.policy.key, at=tick.now,
                      evidence={**evidence, **zone_seen(match.policy)}, gpus=service.gpus)


def graph_stop(match: Match, tick: Tick, states: Mapping[ServiceRef, ServiceState]
               ) -> Proposal | None:
    """The graph's stop when every member is stopped (see the module docstring)."""
    members = _members(match)
    if not members or not idle_allowed_now(match, tick):
        return None
    if any(states.get(ref) is not ServiceState.STOPPED for ref in members):
        return None
    names = ",".join(ref.name for ref in members)
    return Proposal(_transition(match, tick, Action.STOP, Reason.MEMBERS_STOPPED,
                                {"members": names}))


@dataclass(frozen=True)
class Planned:
    """The refs a tick's proposals name, built once per tick: asked per graph, they
    were rebuilt per service, quadratic in the fleet (11 s of `decide()` at 10,000)."""

    starting: frozenset[ServiceRef]
    proposed: frozenset[ServiceRef]

    @classmethod
    def of(cls, proposals: Sequence[Proposal]) -> Planned:
        return cls(starting=frozenset(p.transition.ref for p in proposals
                                      if p.transition.action is Action.START
                                      and p.transition.actionable),
                   proposed=frozenset(p.transition.ref for p in proposals))


def is_graph(match: Match) -> bool:
    return bool(_members(match))


def graph_starts(matches: Sequence[Match], planned: Planned, tick: Tick,
                 states: Mapping[ServiceRef, ServiceState]) -> list[Proposal]:
    """Starts of graphs stopped with their members whose first member starts now."""
    found = []
    for match in matches:
        members = _members(match)
        if (not members or match.policy.idle is None or match.service.ref in planned.proposed
                or match.service.state is not ServiceState.STOPPED
                or not _stopped_with_members(match, tick)):
            continue
        woken = [r.name for r in members
                 if r in planned.starting or states.get(r) is ServiceState.RUNNING]
        if woken:
            found.append(Proposal(_transition(
                match, tick, Action.START, Reason.MEMBER_STARTING,
                {"members": ",".join(r.name for r in members), "starting": ",".join(woken)}),
                due_at=tick.now))
    return found


def _stopped_with_members(match: Match, tick: Tick) -> bool:
    last = tick.ledger.last_transitions.get(match.service.ref)
    return (last is not None and last.action is Action.STOP and last.trigger is Trigger.IDLE
            and last.uid in ("", match.service.uid))
