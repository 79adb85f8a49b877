"""A schedule stop while requests may be flowing (docs/design.md §3.4, ``busyAtStop``).

``force`` stops at the edge regardless. ``defer`` asks `idle.judge_busy_at_stop` each tick:
quiet means stop now; busy or unknown traffic (unknown is never quiet) means a
deferred entry, not claimed, so the same edge is decided again next tick. Once
``maxDefer`` has passed since the deferral began the stop is forced, with reason
``ForcedAfterMaxDefer`` and the traffic evidence that would have deferred it.

The deferral clock starts at the first tick that could act on the edge for this
service (issue 13 case 3): the first ``DeferredBusy`` row of the edge
(``ledger.deferred_since``), or this tick when there is none yet; never the edge
instant itself. So after downtime, a new policy, a widened selector or an added label,
a busy service gets its full ``maxDefer``, not an instant force-stop.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from reclaimer.model import BusyAtStop, Edge, Reason, Transition
from reclaimer.policy.blocking import block
from reclaimer.policy.context import Tick
from reclaimer.policy.idle import Verdict, judge_busy_at_stop
from reclaimer.policy.matching import Match


def deferral_start(match: Match, edge: Edge, tick: Tick) -> datetime:
    """The first tick that could act on ``edge`` for this service (see above)."""
    first = tick.ledger.deferred_since.get(edge.key_for(match.service.uid), tick.now)
    return max(first, edge.at)


def stop_for_edge(plain: Transition, match: Match, edge: Edge, tick: Tick) -> Transition:
    policy = match.policy
    if policy.busy_at_stop is BusyAtStop.FORCE:
        return replace(plain, evidence={**plain.evidence, "busyAtStop": "force"})
    traffic = judge_busy_at_stop(policy, tick.signals.get(match.service.ref),
                                 service=match.service, lookback=tick.settings.busy_lookback,
                                 now=tick.now, max_age=tick.settings.signals_max_age)
    evidence = {**plain.evidence, "busyAtStop": "defer", "traffic": traffic.verdict.value,
                **{f"traffic.{k}": v for k, v in traffic.evidence.items()}}
    if traffic.verdict is Verdict.IDLE:
        return replace(plain, evidence=evidence)
    deadline = deferral_start(match, edge, tick) + policy.max_defer
    evidence["deferUntil"] = deadline.isoformat()
    if tick.now >= deadline:
        return replace(plain, reason=Reason.FORCED_AFTER_MAX_DEFER, evidence=evidence)
    why = f"deferred: {traffic.reason}; forced at {deadline.isoformat()}"
    return block(replace(plain, evidence=evidence), Reason.DEFERRED_BUSY, why, claim=False)
