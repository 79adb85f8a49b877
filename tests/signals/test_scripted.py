"""`ScriptedSignals` as a tool for tests and the demo: its script, its outages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reclaimer.model import ServiceRef, SignalState
from reclaimer.signals import PrometheusSettings, PrometheusSignals, SignalSource
from reclaimer.signals.scripted import Script, ScriptedSignals, Steady

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
REF = ServiceRef("team-a", "llama")


@pytest.mark.parametrize(("steady", "until", "count"), [
    pytest.param(Steady(T0, T0 + 10 * MIN, MIN), T0 - MIN, 0, id="before-start"),
    pytest.param(Steady(T0, T0 + 10 * MIN, MIN), T0, 1, id="at-start"),
    pytest.param(Steady(T0, T0 + 10 * MIN, MIN), T0 + 10 * MIN, 10, id="end-excluded"),
    pytest.param(Steady(T0, T0, MIN), T0 + MIN, 0, id="empty-span"),
])
def test_steady_counts_requests(steady: Steady, until: datetime, count: int) -> None:
    assert steady.count(until) == count


def test_traffic_moves_with_the_evaluation_instant() -> None:
    script = Script(data_from=T0 - timedelta(hours=1),
                    steady=(Steady(T0, T0 + timedelta(hours=1), timedelta(seconds=30)),))
    source = ScriptedSignals({REF: script})
    busy = source.fetch(at=T0 + 30 * MIN, window=30 * MIN)[REF]
    idle = source.fetch(at=T0 + 90 * MIN, window=30 * MIN)[REF]
    assert [(s.state, s.requests, s.seconds_since_last_request) for s in (busy, idle)] == [
        (SignalState.KNOWN, 60.0, 0.0), (SignalState.KNOWN, 0.0, 1830.0)]


def test_gpu_levels_change_over_time() -> None:
    script = Script(data_from=T0 - timedelta(hours=1), gpu_levels=((T0 - timedelta(hours=1), 0.0),
                                                                   (T0 - 10 * MIN, 80.0)))
    got = ScriptedSignals({REF: script}).fetch(at=T0, window=30 * MIN)[REF]
    assert (got.gpu_utilization_max, round(got.gpu_utilization_mean or 0)) == (80.0, 27)


def test_calls_are_counted() -> None:
    source = ScriptedSignals({REF: Script(data_from=T0 - timedelta(hours=1))})
    for minute in range(3):
        source.fetch(at=T0 + minute * MIN, window=30 * MIN)
    assert source.calls == 3


def test_both_sources_satisfy_the_port() -> None:
    sources: list[SignalSource] = [ScriptedSignals({}),
                                   PrometheusSignals(PrometheusSettings(concurrency=1))]
    assert [callable(s.fetch) for s in sources] == [True, True]
