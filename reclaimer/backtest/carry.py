"""Services the mass-idle breaker holds, carried from step to step without asking again.

When the breaker blocks a service's idle stop, the service stays an idle candidate and
`decide()` was asked about it again at every step while the breaker held: four asks
in five on the bench fleet (issue 18), each a window evaluation and an idle judgement
that gave the same blocked stop. Its answer can change only if its verdict does, or
the breaker lets go of it:

- the verdict cannot change at a step that adds nothing (`steady`): the service still
  an idle candidate there (`windows.idle_candidates`: no request in the lookback, no
  GPU at or above the threshold, a request series at every step), its request data
  fresh, its GPU data as fresh as a step before, the same GPUs, no per-pod shortfall.
  The window then only drops its oldest step and adds a quiet, complete one, which
  keeps every condition of an IDLE verdict (coverage, freshness, requests, GPU peak
  and mean, the time since the last request);
- whether the breaker still holds it is asked of `safety.tripped_scopes` with every
  verdict, those decided at the step and those carried (`still_held`); where it
  lets go, the loop decides the step again with the carried services asked.

While carried, a service counts in `decide()`'s breaker as its verdict would: as a
recent idle stop at this instant (`with_carried`; the breaker counts those as
verdicts and adds them to its denominator) instead of a running bystander, which
gives the same counts. A service the ledger has as a recent idle stop already is not
carried (it would be counted once where it counts twice).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

import numpy as np

from reclaimer.model import Action, DecideSettings, LedgerView, Plan, Reason, ServiceRef, Trigger
from reclaimer.policy.safety import tripped_scopes
from reclaimer.signals.ranges.history import ServiceHistory


def _same(a: float, b: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or a == b


def steady(one: ServiceHistory, index: int) -> bool:
    """Step ``index`` adds nothing to an idle candidate's window that could change an
    IDLE verdict (the caller checks that it is an idle candidate there)."""
    grid = one.grid
    stamp, before = grid.start + index * grid.step, grid.start + (index - 1) * grid.step
    return bool(
        index > 0 and one.requests_newest[index] == stamp
        and _same(one.gpu_newest[index] - stamp, one.gpu_newest[index - 1] - before)
        and np.isnan(one.gpu_max[index]) == np.isnan(one.gpu_max[index - 1])
        and _same(one.gpus[index], one.gpus[index - 1])
        and one.gpu_missing[index] == 0 and one.requests_missing[index] == 0)


def held_by_breaker(plan: Plan) -> set[ServiceRef]:
    """Services whose idle stop the breaker blocked in this plan."""
    return {t.ref for t in plan.transitions if t.reason is Reason.MASS_IDLE_BREAKER
            and t.trigger is Trigger.IDLE and t.action is Action.STOP}


def still_held(carried: set[ServiceRef], plan: Plan | None, *,
               running: Mapping[str, int], recent: Mapping[ServiceRef, datetime],
               now: datetime, settings: DecideSettings) -> bool:
    """Whether the breaker blocks every carried service's idle stop at ``now``."""
    decided = set() if plan is None else {
        t.ref for t in plan.transitions if t.trigger is Trigger.IDLE and t.action is Action.STOP}
    scopes = tripped_scopes(decided | carried, running=running, recent=recent, now=now,
                            settings=settings)
    return "" in scopes or all(ref.namespace in scopes for ref in carried)


def with_carried(ledger: LedgerView, carried: set[ServiceRef], now: datetime) -> LedgerView:
    if not carried:
        return ledger
    recent = {**ledger.recent_idle_stops, **dict.fromkeys(carried, now)}
    return replace(ledger, recent_idle_stops=recent)
