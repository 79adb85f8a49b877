"""One service's replay as plain lists, for the ``--png`` picture."""

from __future__ import annotations

from dataclasses import dataclass

from reclaimer.backtest.state import Outcome
from reclaimer.model import ServiceRef
from reclaimer.signals.ranges.history import History


@dataclass(frozen=True)
class Timeline:
    ref: ServiceRef
    stamps: list[float]  # unix seconds, one per step from ``from``
    requests: list[float]  # requests counted at each step
    stopped: list[tuple[float, float]]  # stopped intervals, unix seconds


def timeline_of(history: History, outcome: Outcome, ref: ServiceRef) -> Timeline:
    grid = history.grid
    one = history.of(ref)
    stamps = [grid.start + i * grid.step for i in range(outcome.first, outcome.end)]
    stopped = [(grid.start + s.start * grid.step,
                grid.start + (s.end if s.end is not None else outcome.end) * grid.step)
               for s in outcome.tracks[ref].stops]
    return Timeline(ref, stamps, [float(v) for v in one.increments[outcome.first:outcome.end]],
                    stopped)
