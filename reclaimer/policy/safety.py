"""Per-tick limits (docs/design.md §3.5, §3.6), applied to the whole plan, not per service.

Order matters and is fixed:

1. holds and dry runs block a service's action (claimed: the decision is recorded);
2. the mass-idle breaker: when the idle stops proposed this tick (blocked or not),
   together with those made within ``mass_idle_span``, exceed ``massIdleFraction`` of
   the running governed services and number at least ``massIdleMinimum``, none is made;
   judged for the fleet and for each namespace alike. A broken metrics pipeline looks
   exactly like a mass idle, so the breaker counts proposals, not permissions;
3. ``maxStopsPerTick`` caps the idle stops left, longest idle first (then by name),
   so the cap is deterministic and favours the most clearly unused services;
4. ``maxConcurrentStarts`` staggers starts, earliest due first (then by name); the
   rest are not claimed and go out next tick.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from reclaimer.model import (
    Action,
    DecideSettings,
    LedgerView,
    Policy,
    PolicyMode,
    Reason,
    ServiceRef,
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


def breaker(transitions: Sequence[Transition], *, running: Mapping[str, int],
            recent: Mapping[ServiceRef, datetime], now: datetime, settings: DecideSettings
            ) -> tuple[list[Transition], str | None]:
    """Block idle stops where too many services look idle at once (DESIGN §3.5).

    ``running``: running governed services per namespace. ``recent``: services that
    reclaimer idle-stopped lately (ledger), by instant; those within
    ``settings.mass_idle_span`` count with this tick's proposals, so a fault that makes
    services look idle a few at a time is caught as well. The fleet and every namespace
    are judged with the same fraction and minimum (issue 13 case 10): a fault in one
    namespace's metrics or one node's exporter is not diluted by the rest of the fleet.
    """
    lately = {ref for ref, at in recent.items() if at >= now - settings.mass_idle_span}
    verdicts = {t.ref for t in transitions if _is_idle_stop(t)} | lately
    tripped = _tripped(verdicts, running, lately, settings)
    if not tripped:
        return list(transitions), None
    fleet = "" in tripped

    def blocked(t: Transition) -> bool:
        return _is_idle_stop(t) and t.actionable and (fleet or t.ref.namespace in tripped)

    why = f"mass-idle breaker: {tripped[0] or 'the fleet'}: {tripped_summary(tripped)}"
    alert = (f"mass-idle breaker open for {tripped_summary(tripped)}: more than "
             f"{settings.mass_idle_fraction:.0%} of running governed services look idle "
             f"(minimum {settings.mass_idle_minimum}, counted over "
             f"{settings.mass_idle_span}); no idle stop made there: check the metrics "
             "pipeline")
    return [block(t, Reason.MASS_IDLE_BREAKER, why, claim=True) if blocked(t) else t
            for t in transitions], alert


def _tripped(verdicts: set[ServiceRef], running: Mapping[str, int], lately: set[ServiceRef],
             settings: DecideSettings) -> list[str]:
    """The scopes over the limit: "" for the fleet, else namespace names, sorted."""
    def over(count: int, base: int) -> bool:
        return count >= settings.mass_idle_minimum and count > settings.mass_idle_fraction * base

    tripped = []
    if over(len(verdicts), sum(running.values()) + len(lately)):
        tripped.append("")
    for namespace in sorted({ref.namespace for ref in verdicts}):
        count = sum(1 for ref in verdicts if ref.namespace == namespace)
        base = running.get(namespace, 0) + sum(1 for r in lately if r.namespace == namespace)
        if over(count, base):
            tripped.append(namespace)
    return tripped


def tripped_summary(scopes: Sequence[str]) -> str:
    return ", ".join(f"namespace {s}" if s else "the fleet" for s in scopes)


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
