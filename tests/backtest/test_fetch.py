"""Reading history over HTTP: the environment's client settings are read once per reader.

requests looks up proxies, ``NO_PROXY``, a CA bundle and ``.netrc`` in the environment
at every request; the reader resolves them once, when it is made (`fetch._session`).
Counted through a real HTTP proxy in front of the real Prometheus of these tests.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from reclaimer.signals.ranges.fetch import RangeReader, read_history
from reclaimer.signals.ranges.history import Grid
from reclaimer.signals.settings import PrometheusSettings
from tests.backtest.conftest import MONDAY
from tests.signals.proxy import counting_proxy

pytestmark = [pytest.mark.timeout(60)]

GRID = Grid.covering(MONDAY, MONDAY + timedelta(hours=3), timedelta(minutes=1))
PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY",
                   "all_proxy")


def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_a_proxy_set_when_the_reader_is_made_carries_every_query(
        backtest_prometheus: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every range query goes through the proxy of the environment at the reader's
    making, though the environment says otherwise by the time the queries are sent."""
    _clean(monkeypatch)
    settings = PrometheusSettings(url=backtest_prometheus, concurrency=2)
    with counting_proxy(backtest_prometheus) as (proxy, traffic):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        reader = RangeReader(settings)
        monkeypatch.setenv("NO_PROXY", "*")
        history = read_history(settings, GRID, chunk_steps=60, reader=reader)
    assert history.services
    assert reader.queries == 33  # 3 chunks x 11 raw texts
    assert traffic.queries() == 33
    assert {p.split("?")[0] for p in traffic.paths} == {"/api/v1/query_range"}


def test_no_proxy_when_the_reader_is_made_sends_nothing_through_one_set_later(
        backtest_prometheus: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _clean(monkeypatch)
    settings = PrometheusSettings(url=backtest_prometheus, concurrency=2)
    with counting_proxy(backtest_prometheus) as (proxy, traffic):
        reader = RangeReader(settings)
        monkeypatch.setenv("HTTP_PROXY", proxy)
        read_history(settings, GRID, chunk_steps=60, reader=reader)
    assert reader.queries == 33
    assert traffic.queries() == 0


