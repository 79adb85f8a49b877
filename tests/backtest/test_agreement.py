"""The backtest's local evaluation agrees with the service's instant queries.

The backtest reads each signal once with range queries, joins pods to ISVCs itself and
sums each step's windows locally (`backtest.fetch`, `backtest.windows`); the service
asks Prometheus its seven instant queries at each tick (`signals.prometheus`). On the
backtest fixtures (tests/backtest/conftest.py), at instants chosen to be busy, idle,
just after a request and inside a scrape gap, both must say the same: the same state
(idle, active, unknown), request count, time since the last request, GPU peak and
GPUs. The ``batch`` trace uses its 2 GPUs with no request, 02:00-02:45.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from reclaimer.backtest.windows import signals_at
from reclaimer.model import ServiceRef, Signals
from reclaimer.signals.prometheus import PrometheusSignals
from reclaimer.signals.ranges.fetch import read_history
from reclaimer.signals.ranges.history import Grid, History
from reclaimer.signals.settings import PrometheusSettings
from tests.backtest.conftest import MONDAY, NS

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

WINDOW = timedelta(minutes=30)
RECENT = timedelta(minutes=5)
NAMES = ("sparse", "office", "late", "gappy", "batch")


@pytest.fixture(scope="module")
def history(backtest_prometheus: str) -> History:
    grid = Grid.covering(MONDAY - timedelta(hours=1), MONDAY + timedelta(hours=19),
                         timedelta(minutes=1))
    return read_history(PrometheusSettings(url=backtest_prometheus), grid)


def _facts(signals: Signals) -> tuple[object, ...]:
    """The last request is exact within the recent span in both; beyond it the service
    rounds to its coarse step (evidence only) and the backtest says "not recent"."""
    last = signals.seconds_since_last_request
    recent = last if last is not None and last <= RECENT.total_seconds() else None
    return (signals.state, signals.requests, recent, signals.gpu_utilization_max,
            signals.gpus)


@pytest.mark.parametrize("minute", [
    pytest.param(0, id="00:00-midnight"),
    pytest.param(31, id="00:31-gappy-just-served"),
    pytest.param(45, id="00:45-gappy-in-the-gap"),
    pytest.param(61, id="01:01-sparse-just-served"),
    pytest.param(95, id="01:35-gappy-window-over-the-gap"),
    pytest.param(115, id="01:55-gappy-covered-again"),
    pytest.param(150, id="02:30-batch-gpu-busy"),
    pytest.param(185, id="03:05-sparse-request-in-recent-batch-just-quiet"),
    pytest.param(10 * 60 + 7, id="10:07-office-busy"),
    pytest.param(17 * 60 + 20, id="17:20-office-quiet-late-busy"),
    pytest.param(18 * 60 + 50, id="18:50-all-quiet"),
])
def test_local_evaluation_agrees_with_the_service(backtest_prometheus: str, history: History,
                                                  minute: int) -> None:
    at = MONDAY + timedelta(minutes=minute)
    service = PrometheusSignals(PrometheusSettings(url=backtest_prometheus))
    try:
        asked = service.fetch_windows(at=at, windows=(WINDOW,), recent=RECENT)[WINDOW]
    finally:
        service.close()
    index = history.grid.index(at.timestamp())
    for name in NAMES:
        ref = ServiceRef(NS, name)
        local = signals_at(ref, history.of(ref), index, window=WINDOW, recent=RECENT, since=0,
                           max_sample_age=timedelta(minutes=2))
        assert _facts(local) == _facts(asked[ref]), name
