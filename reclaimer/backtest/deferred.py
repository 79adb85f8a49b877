"""Deferred schedule stops, asked again only where the deferral could end.

A schedule stop deferred while the service is busy (``busyAtStop: defer``) stays
unclaimed, and the loop asked `decide()` about it at every step until it was quiet or
forced: on the bench fleet, most of what was left of a replay (issue 18). Its answer
changes only where `judge_busy_at_stop` could say quiet, or at its deadline
(``maxDefer`` from the first deferral, when it is forced). Quiet needs no request
counted or in flight within the busy-at-stop lookback and no GPU at or above the
policy's threshold there (`quiet_steps`, a necessary condition, over the lookback's
last steps only, so never stricter than the judge). Where the service's window is cut
by its simulated start, history before the start is not in its signals, so the
condition does not apply there and the stop is asked (`due`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from reclaimer.model import Transition
from reclaimer.signals.ranges.history import Grid, ServiceHistory, steps_in

Bools = npt.NDArray[np.bool_]


def _counts(values: npt.NDArray[np.bool_], width: int) -> npt.NDArray[np.int64]:
    """How many of the ``width`` values ending at each index are true."""
    total = np.concatenate(([0], np.cumsum(values, dtype=np.int64)))
    ends = np.arange(1, values.size + 1)
    found: npt.NDArray[np.int64] = total[ends] - total[np.maximum(ends - width, 0)]
    return found


def quiet_steps(one: ServiceHistory, *, lookback: timedelta, gpu_busy_at: float) -> Bools:
    """Steps at which a busy-at-stop verdict can be quiet: no activity and no GPU at or
    above ``gpu_busy_at`` within the lookback's last steps."""
    width = steps_in(lookback, one.grid)
    with np.errstate(invalid="ignore"):
        hot = one.gpu_max >= gpu_busy_at
    result: Bools = (_counts(one.activity(), width) == 0) & (_counts(hot, width) == 0)
    return result


def deadline(transition: Transition, grid: Grid) -> int:
    """The first step at or after the deferral's deadline (``deferUntil``)."""
    until = datetime.fromisoformat(str(transition.evidence["deferUntil"]))
    return grid.index(until.timestamp())


def due(index: int, *, deadline_at: int, quiet: Bools, since: int, lookback: int) -> bool:
    """Whether a stop deferred until step ``deadline_at`` could be decided otherwise
    at ``index`` (``since``: the service's simulated start; ``lookback`` in steps)."""
    return index >= deadline_at or bool(quiet[index]) or since > index - lookback
