"""Property: idle stops never land on traffic, whatever the trace (issue 18).

Histories are built straight from generated traces (no Prometheus: the range reading
is covered by test_replay.py), then replayed with a generated idle policy.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.traces import SHAPES, Trace, generate
from reclaimer.backtest.options import Options, Restart
from reclaimer.backtest.run import Span, result_of
from reclaimer.model import (
    DeploymentMode,
    IdleRule,
    NamespaceSelector,
    Policy,
    Service,
    ServiceRef,
    ServiceState,
)
from reclaimer.signals.ranges.history import Grid, History

START = datetime(2026, 11, 2, tzinfo=UTC)
DAYS = 2


def history_of(traces: list[Trace], start: datetime, *, days: int = DAYS) -> History:
    """Every minute scraped and fresh, as a healthy Prometheus would answer."""
    grid = Grid.covering(start, start + timedelta(days=days), timedelta(minutes=1))
    history = History(grid)
    stamps = grid.start + grid.step * np.arange(grid.size)
    for trace in traces:
        one = history.of(ServiceRef(trace.namespace, trace.name))
        one.requests_newest = stamps.copy()
        one.gpu_newest = stamps.copy()
        one.counted = np.ones(grid.size)
        one.increments = trace.requests[: grid.size].astype(np.float64)
        one.gpu_max = trace.gpu[: grid.size].copy()
        one.gpus = np.full(grid.size, float(trace.gpus))
    return history


def _service(trace: Trace) -> Service:
    return Service(ref=ServiceRef(trace.namespace, trace.name), uid=f"u-{trace.name}",
                   mode=DeploymentMode.KNATIVE, state=ServiceState.RUNNING,
                   created_at=START - timedelta(days=30), gpus=trace.gpus)


@pytest.mark.timeout(300)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes=st.lists(st.sampled_from(SHAPES), min_size=1, max_size=4),
       seed=st.integers(0, 10_000), after=st.integers(5, 180),
       max_requests=st.integers(0, 3), restart=st.sampled_from(list(Restart)),
       quiet_gpu=st.booleans())
def test_idle_stops_never_during_traffic(shapes: list[str], seed: int, after: int,
                                         max_requests: int, restart: Restart,
                                         quiet_gpu: bool) -> None:
    """``quiet_gpu``: GPUs that read 0 % while serving, so requests alone must hold it."""
    traces = [generate(shape, namespace="ns", name=f"m{i}", start=START, days=DAYS,
                       seed=seed + i) for i, shape in enumerate(shapes)]
    for trace in traces:
        trace.gpu *= 0 if quiet_gpu else 1
    policy = Policy(name="idle", namespace=None, source="test",
                    namespace_selector=NamespaceSelector(("ns",)),
                    idle=IdleRule(after=timedelta(minutes=after), max_requests=max_requests))
    span = Span(START + timedelta(hours=3), START + timedelta(days=DAYS), timedelta(minutes=1))
    result = result_of([policy], [_service(t) for t in traces], history_of(traces, START),
                       span=span, options=Options(restart=restart))
    assert result["totals"]["stopsDuringTraffic"] == 0
    assert result["totals"]["unknownServiceHours"] == 0


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("active", "gaps"), [
    pytest.param([0, 1, 5, 6, 20], [180.0, 780.0], id="inner-gaps-in-seconds"),
    pytest.param([3], [], id="one-burst-no-gap"),
    pytest.param([], [], id="never-used"),
])
def test_idle_gaps_between_activity(active: list[int], gaps: list[float]) -> None:
    from reclaimer.signals.ranges.gaps import idle_gaps  # noqa: PLC0415

    trace = generate("never", namespace="ns", name="m", start=START, days=DAYS, seed=1)
    trace.requests[active] = 1
    one = history_of([trace], START).of(ServiceRef("ns", "m"))
    assert idle_gaps(one, 60, learn_from=timedelta(days=14), gpu_busy_at=5.0) == gaps
