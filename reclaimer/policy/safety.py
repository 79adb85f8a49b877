"""Per-tick limits (docs/design.md §3.5, §3.6), applied to the whole plan, not per service.

Order matters and is fixed:

1. holds and dry runs block a service's action (claimed: the decision is recorded);
2. the mass-idle breaker: when the idle stops proposed this tick (blocked or not)
   exceed ``massIdleFraction`` of the running governed services and number at least
   ``massIdleMinimum``, none is made. A broken metrics pipeline looks exactly like a
   mass idle, so the breaker counts proposals, not permissions;
3. ``maxStopsPerTick`` caps the idle stops left, longest idle first (then by name),
   so the cap is deterministic and favours the most clearly unused services;
4. ``maxConcurrentStarts`` staggers starts, earliest due first (then by name); the
   rest are not claimed and go out next tick.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from reclaimer.model import (
    Action,
    DecideSettings,
    LedgerView,
    Policy,
    PolicyMode,
    Reason,
    Transition,
    Trigger,
)
from reclaimer.policy.blocking import block


def hold_or_dry_run(transition: Transition, policy: Policy, *, ledger: LedgerView,
                    now: datetime) -> Transition:
    if not transition.actionable:
        return transition
    hold = ledger.active_hold(transition.ref, now)
    if hold is not None:
        why = f"held until {hold.until.isoformat()} by {hold.who}: {hold.reason}"
        return block(transition, Reason.HELD, why, claim=True)
    if policy.mode is PolicyMode.DRY_RUN:
        return block(transition, Reason.DRY_RUN, f"dry run: policy {policy.key}", claim=True)
    return transition


def _is_idle_stop(t: Transition) -> bool:
    return t.trigger is Trigger.IDLE and t.action is Action.STOP


def breaker(transitions: Sequence[Transition], *, running: int, settings: DecideSettings
            ) -> tuple[list[Transition], str | None]:
    """Block every idle stop when too many services look idle at once."""
    proposed = sum(1 for t in transitions if _is_idle_stop(t))
    if proposed < settings.mass_idle_minimum or proposed <= settings.mass_idle_fraction * running:
        return list(transitions), None
    alert = (f"mass-idle breaker open: {proposed} of {running} running governed services look "
             f"idle (limit {settings.mass_idle_fraction:.0%}, minimum "
             f"{settings.mass_idle_minimum}); no idle stop made: check the metrics pipeline")
    why = f"mass-idle breaker: {proposed} of {running} services look idle"
    return [block(t, Reason.MASS_IDLE_BREAKER, why, claim=True)
            if _is_idle_stop(t) and t.actionable else t for t in transitions], alert


def _idle_seconds(t: Transition) -> float:
    since = t.evidence.get("secondsSinceLastRequest")
    return math.inf if since is None else float(since)


def _cap(transitions: Sequence[Transition], picked: list[Transition], limit: int,
         blocked: tuple[Reason, str, bool]) -> list[Transition]:
    reason, why, claim = blocked
    over = {id(t) for t in picked[limit:]}
    return [block(t, reason, why, claim=claim) if id(t) in over else t for t in transitions]


def max_stops(transitions: Sequence[Transition], settings: DecideSettings) -> list[Transition]:
    stops = sorted((t for t in transitions if _is_idle_stop(t) and t.actionable),
                   key=lambda t: (-_idle_seconds(t), t.ref))
    limit = settings.max_stops_per_tick
    why = f"maxStopsPerTick: more than {limit} idle stops this tick"
    return _cap(transitions, stops, limit, (Reason.MAX_STOPS_PER_TICK, why, True))


def stagger_starts(transitions: Sequence[Transition], settings: DecideSettings
                   ) -> list[Transition]:
    starts = sorted((t for t in transitions if t.action is Action.START and t.actionable),
                    key=lambda t: (str(t.evidence.get("dueAt", "")), t.ref))
    limit = settings.max_concurrent_starts
    why = f"staggered: at most {limit} more starts now, retried shortly"
    return _cap(transitions, starts, limit, (Reason.STAGGERED, why, False))
