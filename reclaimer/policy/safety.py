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

One more rule keeps a fault contained (DESIGN §3.7, `Faults`): validation bounds every
value, so a policy should never raise while it is decided; but a tenant's CR reaches
every tick, and one unforeseen exception (an overflow, a library bug on an odd cron)
must not stop the starts and stops of every other policy. So each piece of per-policy
work in `decide()` runs through `Faults.run`: an exception marks that policy faulty for
this tick, everything it produced is dropped, and the loop reports it like an invalid
policy (``Valid=False``, the invalid-policies metric, a log line naming it).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from reclaimer.model import (
    Action,
    DecideSettings,
    LedgerView,
    Policy,
    PolicyFault,
    PolicyMode,
    Reason,
    ServiceRef,
    Trigger,
)
from reclaimer.policy.context import Proposal, local_time
from reclaimer.policy.durations import format_duration


def hold_or_dry_run(proposal: Proposal, policy: Policy, *, ledger: LedgerView,
                    now: datetime) -> Proposal:
    transition = proposal.transition
    if not transition.actionable:
        return proposal
    hold = ledger.active_hold(transition.ref, now)
    if hold is not None:
        why = f"held until {local_time(hold.until, policy)} by {hold.who}: {hold.reason}"
        return proposal.blocked(Reason.HELD, why, claim=True)
    if policy.mode is PolicyMode.DRY_RUN:
        return proposal.blocked(Reason.DRY_RUN, f"dry run: policy {policy.key}", claim=True)
    return proposal


def _is_idle_stop(p: Proposal) -> bool:
    return p.transition.trigger is Trigger.IDLE and p.transition.action is Action.STOP


def breaker(proposals: Sequence[Proposal], *, running: Mapping[str, int],
            recent: Mapping[ServiceRef, datetime], now: datetime, settings: DecideSettings
            ) -> tuple[list[Proposal], str | None]:
    """Block idle stops where too many services look idle at once (DESIGN §3.5).

    ``running``: running governed services per namespace. ``recent``: services that
    reclaimer idle-stopped lately (ledger), by instant; those within
    ``settings.mass_idle_span`` count with this tick's proposals, so a fault that makes
    services look idle a few at a time is caught as well. The fleet and every namespace
    are judged with the same fraction and minimum (issue 13 case 10): a fault in one
    namespace's metrics or one node's exporter is not diluted by the rest of the fleet.
    """
    lately = {ref for ref, at in recent.items() if at >= now - settings.mass_idle_span}
    verdicts = {p.transition.ref for p in proposals if _is_idle_stop(p)} | lately
    tripped = _tripped(verdicts, running, lately, settings)
    if not tripped:
        return list(proposals), None
    fleet = "" in tripped

    def blocked(p: Proposal) -> bool:
        return (_is_idle_stop(p) and p.transition.actionable
                and (fleet or p.transition.ref.namespace in tripped))

    why = f"mass-idle breaker: {tripped[0] or 'the fleet'}: {tripped_summary(tripped)}"
    alert = (f"mass-idle breaker open for {tripped_summary(tripped)}: more than "
             f"{settings.mass_idle_fraction:.0%} of running governed services look idle "
             f"(minimum {settings.mass_idle_minimum}, counted over "
             f"{format_duration(settings.mass_idle_span)}); no idle stop made there: check "
             "the metrics pipeline")
    return [p.blocked(Reason.MASS_IDLE_BREAKER, why, claim=True) if blocked(p) else p
            for p in proposals], alert


def tripped_scopes(verdicts: set[ServiceRef], *, running: Mapping[str, int],
                   recent: Mapping[ServiceRef, datetime], now: datetime,
                   settings: DecideSettings) -> list[str]:
    """The scopes where `breaker` blocks idle stops, given every service with an idle
    verdict: "" for the fleet, else namespace names. The backtest asks it for services
    it does not decide again while the breaker holds them (`backtest.carry`)."""
    lately = {ref for ref, at in recent.items() if at >= now - settings.mass_idle_span}
    return _tripped(verdicts | lately, running, lately, settings)


def _tripped(verdicts: set[ServiceRef], running: Mapping[str, int], lately: set[ServiceRef],
             settings: DecideSettings) -> list[str]:
    """The scopes over the limit: "" for the fleet, else namespace names, sorted."""
    def over(count: int, base: int) -> bool:
        return count >= settings.mass_idle_minimum and count > settings.mass_idle_fraction * base

    tripped = []
    if over(len(verdicts), sum(running.values()) + len(lately)):
        tripped.append("")
    # Counted once per namespace: a pass over the verdicts for each namespace was
    # quadratic in the fleet (namespaces grow with it).
    counts = Counter(ref.namespace for ref in verdicts)
    recently = Counter(ref.namespace for ref in lately)
    for namespace in sorted(counts):
        if over(counts[namespace], running.get(namespace, 0) + recently[namespace]):
            tripped.append(namespace)
    return tripped


def tripped_summary(scopes: Sequence[str]) -> str:
    return ", ".join(f"namespace {s}" if s else "the fleet" for s in scopes)


def _order(ref: ServiceRef) -> tuple[str, str, str]:
    """The order of `ServiceRef` as plain strings, compared in C: ties in a sort key
    compared the dataclasses by a Python call each."""
    return ref.namespace, ref.name, ref.kind


def _quiet_seconds(p: Proposal) -> float:
    """None is no request within the source's horizon: quieter than any known time."""
    return math.inf if p.quiet_for is None else p.quiet_for.total_seconds()


def _cap(proposals: Sequence[Proposal], picked: list[Proposal], limit: int,
         blocked: tuple[Reason, str, bool]) -> list[Proposal]:
    reason, why, claim = blocked
    over = {id(p) for p in picked[limit:]}
    return [p.blocked(reason, why, claim=claim) if id(p) in over else p for p in proposals]


def max_stops(proposals: Sequence[Proposal], settings: DecideSettings) -> list[Proposal]:
    stops = sorted((p for p in proposals if _is_idle_stop(p) and p.transition.actionable),
                   key=lambda p: (-_quiet_seconds(p), *_order(p.transition.ref)))
    limit = settings.max_stops_per_tick
    why = f"maxStopsPerTick: more than {limit} idle stops this tick"
    return _cap(proposals, stops, limit, (Reason.MAX_STOPS_PER_TICK, why, True))


def stagger_starts(proposals: Sequence[Proposal], settings: DecideSettings) -> list[Proposal]:
    starts = sorted((p for p in proposals
                     if p.transition.action is Action.START and p.transition.actionable),
                    key=lambda p: (p.due_at or p.transition.at, *_order(p.transition.ref)))
    limit = settings.max_concurrent_starts
    why = f"staggered: at most {limit} more starts now, retried shortly"
    return _cap(proposals, starts, limit, (Reason.STAGGERED, why, False))


# --- one policy's fault is its own ------------------------------------------------

T = TypeVar("T")


class Faults:
    """The faulty policies of one decision, by key, with the first message of each."""

    def __init__(self) -> None:
        self._by_key: dict[str, PolicyFault] = {}

    def run(self, policy: Policy, work: Callable[[], T], default: T) -> T:
        """``work()``, or ``default`` when it raises or the policy already failed."""
        if policy.key in self._by_key:
            return default
        try:
            return work()
        except Exception as exc:  # the point: contain any fault to its policy
            message = f"could not be decided: {type(exc).__name__}: {exc}".splitlines()[0]
            self._by_key[policy.key] = PolicyFault(policy=policy.key, source=policy.source,
                                                   message=message)
            return default

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def all(self) -> tuple[PolicyFault, ...]:
        return tuple(self._by_key[key] for key in sorted(self._by_key))
