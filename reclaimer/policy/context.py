"""What every rule shares: the inputs of one decision, what a rule proposes, how it blocks.

`Tick` bundles the read-only inputs so every rule sees the same ``now``.

`Proposal` is what one rule hands the next: the `Transition` that goes into the plan
(and, through it, into the ledger row), plus the facts later rules act on, as typed
fields. A transition's ``evidence`` is only the record of what was seen, written for
people and kept as JSON; no rule reads it back.

`block` turns a transition into a blocked one, the same way for every rule: it keeps its
action and trigger (what would have happened) and gets the blocking rule as its
``reason``; the rule that produced it is recorded in ``evidence["rule"]``. ``claim``
decides what the ledger does with the schedule edge (docs/design.md §3.2):

- claimed (``edge_key`` kept): the edge is consumed now. Holds, dry runs, superseded
  edges and edges already satisfied are claimed; the decision was made and is recorded
  once.
- not claimed (``edge_key`` None, the key recorded in ``evidence["edgeKey"]``, where the
  ledger finds when a stop was first deferred): the edge is retried next tick. Deferred
  stops and staggered starts are not claimed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from reclaimer.model import (
    EMPTY,
    DecideSettings,
    IdleRule,
    LedgerView,
    Policy,
    Reason,
    ServiceRef,
    ServiceState,
    Signals,
    Transition,
)
from reclaimer.policy.auto_idle import AutoChoice, applied
from reclaimer.policy.matching import Match


@dataclass(frozen=True)
class Tick:
    """``windows``: each policy's window state at ``now`` (`schedule.window_open`),
    computed once per policy, not once per service, because it scans the schedule."""

    now: datetime
    signals: Mapping[ServiceRef, Signals]
    ledger: LedgerView
    settings: DecideSettings
    windows: Mapping[str, bool | None] = field(default=EMPTY)
    states: Mapping[ServiceRef, ServiceState] = field(default=EMPTY)
    """Every observed service's state, for rules that look at other services (a graph
    follows its members, `graphs.py`)."""
    auto: Mapping[ServiceRef, AutoChoice] = field(default=EMPTY)
    """``idle.after: auto``: each service's learned timeout (`auto_idle.chosen`: a
    service missing here waits ``autoMax``)."""

    def idle_rule(self, match: Match) -> IdleRule | None:
        """The service's idle rule with the ``after`` it applies now."""
        rule = match.policy.idle
        return None if rule is None else applied(rule, self.auto.get(match.service.ref))


@dataclass(frozen=True)
class Proposal:
    """A transition one service's rules arrived at, with what the plan-wide rules need.

    - ``due_at``: when its schedule edge became due (a start ``startLeadTime`` early);
      starts over ``maxConcurrentStarts`` are staggered earliest due first.
    - ``defer_until``: when a deferred stop will be forced; `decide` wakes then.
    - ``quiet_for``: an idle stop's time since the last request, None when none was
      seen within the source's horizon (longer than any known); ``maxStopsPerTick``
      keeps the longest quiet.
    """

    transition: Transition
    due_at: datetime | None = None
    defer_until: datetime | None = None
    quiet_for: timedelta | None = None

    def blocked(self, reason: Reason, why: str, *, claim: bool) -> Proposal:
        return replace(self, transition=block(self.transition, reason, why, claim=claim))


def local_time(at: datetime, policy: Policy) -> str:
    """An instant in a reason people read: RFC 3339 to the second, in the policy's zone
    (its schedule's own clock), UTC for a policy without one."""
    zone = ZoneInfo(policy.time_zone) if policy.time_zone else UTC
    return at.astimezone(zone).isoformat(timespec="seconds")


def zone_seen(policy: Policy) -> dict[str, str]:
    """``{"timeZone": ...}`` for a policy with a zone: recorded with each transition it
    decides, so `reclaimer history` shows the row in the zone its team reads."""
    return {"timeZone": policy.time_zone} if policy.time_zone else {}


def block(transition: Transition, reason: Reason, why: str, *, claim: bool) -> Transition:
    evidence = {**transition.evidence, "rule": transition.reason.value}
    if transition.edge_key is not None:
        evidence["edgeKey"] = transition.edge_key
    return replace(transition, reason=reason, blocked=why, evidence=evidence,
                   edge_key=transition.edge_key if claim else None)
