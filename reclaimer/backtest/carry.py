"""Services the mass-idle breaker holds, carried from step to step without asking again.

When the breaker blocks a service's idle stop, the service stays an idle candidate and
`decide()` was asked about it again at every step while the breaker held: four asks
in five on the bench fleet (issue 18), each a window evaluation and an idle judgement
that gave the same blocked stop. Its answer can change only if its verdict does, or
the breaker lets go of it:

- the verdict cannot change at a step that adds nothing (`steady_steps`): the service still
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
import numpy.typing as npt

from reclaimer.model import Action, DecideSettings, LedgerView, Plan, Reason, ServiceRef, Trigger
from reclaimer.policy.safety import tripped_scopes
from reclaimer.signals.ranges.history import ServiceHistory

Bools = npt.NDArray[np.bool_]


def steady_steps(one: ServiceHistory) -> Bools:
    """Steps that add nothing to an idle candidate's window that could change an IDLE
    verdict (the caller checks that it is an idle candidate there): request data fresh,
    GPU data as fresh as a step before (or absent at both), GPU data present at both
    or neither, the same GPUs, no per-pod shortfall."""
    grid = one.grid
    stamps = grid.start + grid.step * np.arange(grid.size, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        age = one.gpu_newest - stamps
        same_age = (age[1:] == age[:-1]) | (np.isnan(age[1:]) & np.isnan(age[:-1]))
        same_gpus = (one.gpus[1:] == one.gpus[:-1]) | (np.isnan(one.gpus[1:])
                                                       & np.isnan(one.gpus[:-1]))
        result: Bools = np.zeros(grid.size, dtype=np.bool_)
        result[1:] = ((one.requests_newest[1:] == stamps[1:]) & same_age & same_gpus
                      & (np.isnan(one.gpu_max[1:]) == np.isnan(one.gpu_max[:-1]))
                      & (one.gpu_missing[1:] == 0) & (one.requests_missing[1:] == 0))
    return result


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
