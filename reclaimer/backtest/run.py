"""One backtest end to end: read history once, replay each alternative, shape the result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from reclaimer.backtest.options import Options, overrides
from reclaimer.backtest.result import ServiceResult, service_result, totals
from reclaimer.backtest.simulate import simulate
from reclaimer.backtest.state import Outcome
from reclaimer.backtest.timeline import Timeline, timeline_of
from reclaimer.backtest.windows import HORIZON
from reclaimer.model import AutoIdle, Policy, Service
from reclaimer.policy.durations import format_duration
from reclaimer.signals.ranges.fetch import RangeReader, read_history
from reclaimer.signals.ranges.history import Grid, History
from reclaimer.signals.settings import PrometheusSettings

# An entry of ``compare``: a fixed ``idle.after`` or `AUTO` (``idle.after: auto``).
AUTO = None
Alternative = timedelta | None


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime
    step: timedelta


def history_grid(policies: Sequence[Policy], span: Span, options: Options) -> Grid:
    """From early enough that the first step's longest window and horizon are in it."""
    longest = max([p.idle.after for p in policies if p.idle is not None]
                  + [options.settings.busy_lookback])
    before = max(longest, HORIZON) + span.step * 2
    return Grid.covering(span.start - before, span.end, span.step)


def replay(policies: Sequence[Policy], services: Sequence[Service], history: History, *,
           span: Span, options: Options) -> list[ServiceResult]:
    return replay_outcome(policies, services, history, span=span, options=options)[0]


def replay_outcome(policies: Sequence[Policy], services: Sequence[Service], history: History,
                   *, span: Span, options: Options) -> tuple[list[ServiceResult], Outcome]:
    first = history.grid.index(span.start.timestamp())
    outcome = simulate(policies, services, history, first=first, options=options)
    max_age = options.max_sample_age.total_seconds()
    return [service_result(track, history.of(ref), outcome, start_time=options.start_time,
                           max_age=max_age)
            for ref, track in sorted(outcome.tracks.items())], outcome


def read_for(policies: Sequence[Policy], *, prometheus: PrometheusSettings, span: Span,
             options: Options, compare: Sequence[Alternative] = (),
             compressed: bool = True) -> History:
    """The history every alternative needs: the longest window before ``from``
    (``compressed=False``: answers asked uncompressed, `RangeReader`)."""
    alternatives = [overrides(policies, after) for after in compare if after is not None]
    grid = history_grid([p for group in [policies, *alternatives] for p in group], span,
                        options)
    reader = RangeReader(prometheus, compressed=compressed)
    try:
        return read_history(prometheus, grid, reader=reader)
    finally:
        reader.close()


def backtest(policies: Sequence[Policy], services: Sequence[Service], *,
             prometheus: PrometheusSettings, span: Span, options: Options,
             compare: Sequence[Alternative] = ()) -> dict[str, Any]:
    history = read_for(policies, prometheus=prometheus, span=span, options=options,
                       compare=compare)
    return result_of(policies, services, history, span=span, options=options,
                     compare=compare)


def result_of(policies: Sequence[Policy], services: Sequence[Service], history: History, *,  # noqa: PLR0913 - the picture is optional
              span: Span, options: Options, compare: Sequence[Alternative] = (),
              timeline: list[Timeline] | None = None) -> dict[str, Any]:
    """The JSON result; ``timeline`` (when given) receives the busiest service's
    timeline of the policies as written, for `png.draw`."""
    results, outcome = replay_outcome(policies, services, history, span=span,
                                      options=options)
    if timeline is not None and results:
        busiest = max(results, key=lambda r: (r.cold_starts, r.stops, r.gpu_hours))
        timeline.append(timeline_of(history, outcome, busiest.ref))
    out: dict[str, Any] = {
        "from": span.start.isoformat(), "to": span.end.isoformat(),
        "step": format_duration(span.step),
        "services": [r.json() for r in results], "totals": totals(results),
        "alternatives": []}
    for after in compare:
        if after is AUTO:
            other = replay(policies, services, history, span=span,
                           options=replace(options, auto=options.auto or AutoIdle()))
        else:
            other = replay(overrides(policies, after), services, history, span=span,
                           options=options)
        out["alternatives"].append({"idleAfter": "auto" if after is None
                                    else format_duration(after), "totals": totals(other)})
    return out
